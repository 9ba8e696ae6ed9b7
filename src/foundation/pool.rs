//! A bounded pool of worker threads mapping a function over a slice: at most `jobs` items in
//! flight, results in input order, the first error stops the rest (nothing new is started).
//! Blocking network calls and CPU-bound analysis overlap on it; memory holds the results
//! only, never more than `jobs` items' working state.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// `f` over every item on `jobs` threads (at least one), in input order.
pub fn map<T, R, E>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let first_error: Mutex<Option<(usize, E)>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= items.len() || failed.load(Ordering::SeqCst) {
                        return;
                    }
                    match f(&items[i]) {
                        Ok(r) => results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r),
                        Err(e) => {
                            failed.store(true, Ordering::SeqCst);
                            let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                            // The lowest index wins, so the error reported does not depend on timing.
                            if slot.as_ref().is_none_or(|(j, _)| i < *j) {
                                *slot = Some((i, e));
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some((_, e)) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_bounds_concurrency() {
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = map(&(0..40).collect::<Vec<u32>>(), 3, |x| {
            let n = live.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            live.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ()>(x * 2)
        })
        .unwrap();
        assert_eq!(out, (0..40).map(|x| x * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn an_error_is_returned() {
        let r = map(&[1, 2, 3], 2, |x| if *x == 2 { Err("two") } else { Ok(*x) });
        assert_eq!(r, Err("two"));
    }
}
