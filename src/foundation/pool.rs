//! A bounded pool of worker threads mapping a function over items: at most `jobs` items in
//! flight, results in input order, the first error stops the rest (nothing new is started).
//! [`map`] takes a slice; a [`Feed`] takes its items one at a time from a producer that is
//! still producing them (downloads feeding analysis). Blocking network calls and CPU-bound
//! analysis overlap on it; memory holds the results only, never more than `jobs` items'
//! working state (plus the items fed and not yet started).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{Scope, ScopedJoinHandle};

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

/// `f` over `items` on `jobs` threads (at least one), each result handed to `done` on the
/// calling thread as soon as it is there (completion order, with its index). A failure of `f`
/// or of `done` starts no new item; the items running finish, and the error of the
/// lowest-index failed item is returned (so it does not depend on timing).
pub fn each_done<T, R, E>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> Result<R, E> + Sync,
    mut done: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<R, E>)>();
    let mut first_error: Option<(usize, E)> = None;
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            let tx = tx.clone();
            let (next, stop, f) = (&next, &stop, &f);
            s.spawn(move || {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { return };
                    let r = f(item);
                    if r.is_err() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if tx.send((i, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            let r = match r {
                Ok(v) if first_error.is_none() => done(i, v),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                stop.store(true, Ordering::SeqCst);
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, e));
                }
            }
        }
    });
    match first_error {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

type Done<R, E> = Vec<(usize, Result<R, E>)>;

/// Workers started before their items exist: [`Feed::push`] hands one over as soon as the
/// producer has it, at most `jobs` run at once, [`Feed::finish`] returns the results in the
/// order fed. The first error stops the rest (items queued behind it are skipped), and so does
/// dropping the feed unfinished (the producer failed): only the items already running complete.
pub struct Feed<'scope, T, R, E> {
    tx: Option<mpsc::Sender<(usize, T)>>,
    fed: usize,
    stop: Arc<AtomicBool>,
    rx: Arc<Mutex<mpsc::Receiver<(usize, T)>>>,
    f: Work<'scope, T, R, E>,
    workers: Vec<ScopedJoinHandle<'scope, Done<R, E>>>,
}

type Work<'scope, T, R, E> = Arc<dyn Fn(T) -> Result<R, E> + Send + Sync + 'scope>;

impl<'scope, T, R, E> Feed<'scope, T, R, E>
where
    T: Send + 'scope,
    R: Send + 'scope,
    E: Send + 'scope,
{
    /// `jobs` workers (at least one) in `scope`, each running `f` on the items it takes.
    pub fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        jobs: usize,
        f: impl Fn(T) -> Result<R, E> + Send + Sync + 'scope,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<(usize, T)>();
        let mut feed = Feed {
            tx: Some(tx),
            fed: 0,
            stop: Arc::new(AtomicBool::new(false)),
            rx: Arc::new(Mutex::new(rx)),
            f: Arc::new(f),
            workers: Vec::new(),
        };
        feed.grow(scope, jobs.max(1));
        feed
    }

    /// `more` workers beside those running, taking from the same queue (the producer is done
    /// with what needed the cores, say).
    pub fn grow<'env>(&mut self, scope: &'scope Scope<'scope, 'env>, more: usize) {
        for _ in 0..more {
            let (rx, f, stop) = (self.rx.clone(), self.f.clone(), self.stop.clone());
            self.workers.push(scope.spawn(move || {
                let mut done = Vec::new();
                loop {
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((i, item)) = next else {
                        return done;
                    };
                    if stop.load(Ordering::SeqCst) {
                        continue;
                    }
                    let r = f(item);
                    if r.is_err() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    done.push((i, r));
                }
            }));
        }
    }

    /// Queue `item`; `false` (and nothing queued) once an item has failed.
    pub fn push(&mut self, item: T) -> bool {
        if self.stop.load(Ordering::SeqCst) {
            return false;
        }
        let Some(tx) = &self.tx else { return false };
        let sent = tx.send((self.fed, item)).is_ok();
        self.fed += 1;
        sent
    }

    /// Wait for every item fed: the results in the order fed, or the error of the earliest
    /// item that failed.
    pub fn finish(mut self) -> Result<Vec<R>, E> {
        self.tx = None;
        let mut all: Vec<(usize, Result<R, E>)> = Vec::with_capacity(self.fed);
        for w in std::mem::take(&mut self.workers) {
            match w.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    }
}

impl<T, R, E> Drop for Feed<'_, T, R, E> {
    fn drop(&mut self) {
        // Unfinished: the producer gave up. Queued items are skipped; the scope joins the rest.
        if !self.workers.is_empty() {
            self.stop.store(true, Ordering::SeqCst);
        }
        self.tx = None;
    }
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
    fn a_feed_keeps_order_bounds_concurrency_and_stops_on_error() {
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = std::thread::scope(|s| {
            let mut feed = Feed::start(s, 2, |x: u32| {
                let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(2));
                live.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ()>(x * 3)
            });
            for x in 0..30 {
                assert!(feed.push(x));
            }
            feed.finish()
        });
        assert_eq!(out.unwrap(), (0..30).map(|x| x * 3).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 2);

        let ran = AtomicUsize::new(0);
        let r = std::thread::scope(|s| {
            let mut feed = Feed::start(s, 1, |x: u32| {
                ran.fetch_add(1, Ordering::SeqCst);
                if x == 1 { Err(x) } else { Ok(x) }
            });
            // Fed until refused: the failure of item 1 stops the feed.
            let mut x = 0;
            while feed.push(x) && x < 1000 {
                x += 1;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            feed.finish()
        });
        assert_eq!(r, Err(1));
        assert!(ran.load(Ordering::SeqCst) < 1000);
    }

    #[test]
    fn a_grown_feed_runs_more_at_once_and_keeps_order() {
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let work = |x: u32| {
            let n = live.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(40));
            live.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ()>(x + 100)
        };
        let (before, out) = std::thread::scope(|s| {
            let mut feed = Feed::start(s, 1, work);
            for x in 0..3 {
                assert!(feed.push(x));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            let before = peak.load(Ordering::SeqCst);
            feed.grow(s, 2);
            for x in 3..12 {
                assert!(feed.push(x));
            }
            (before, feed.finish())
        });
        assert_eq!(before, 1, "one worker: one at a time");
        assert_eq!(out.unwrap(), (100..112).collect::<Vec<_>>());
        let after = peak.load(Ordering::SeqCst);
        assert!(
            (2..=3).contains(&after),
            "three workers after growing: {after}"
        );
    }

    #[test]
    fn each_done_hands_results_over_as_they_complete_and_stops_on_error() {
        // Item 0 is slow: the quick ones behind it are handed over first.
        let mut seen = Vec::new();
        each_done(
            &[60u64, 1, 1, 1],
            2,
            |ms| {
                std::thread::sleep(std::time::Duration::from_millis(*ms));
                Ok::<_, usize>(*ms)
            },
            |i, v| {
                seen.push((i, v));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 4);
        assert_eq!(seen.last(), Some(&(0, 60)), "{seen:?}");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, vec![(0, 60), (1, 1), (2, 1), (3, 1)]);

        // Items 2 and 5 fail: nothing after the first failure starts, the lowest index's error
        // is the answer whichever failure came first.
        let started = AtomicUsize::new(0);
        let r = each_done(
            &(0..40).collect::<Vec<usize>>(),
            2,
            |&i| {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(if i == 2 {
                    30
                } else {
                    2
                }));
                if i == 2 || i == 5 { Err(i) } else { Ok(i) }
            },
            |_, _| Ok(()),
        );
        assert_eq!(r, Err(2));
        assert!(started.load(Ordering::SeqCst) < 40);

        // An error of the consumer stops the producers too, and is returned.
        let started = AtomicUsize::new(0);
        let r = each_done(
            &(0..40).collect::<Vec<usize>>(),
            2,
            |&i| {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(2));
                Ok::<_, String>(i)
            },
            |i, _| {
                if i == 3 {
                    Err(format!("consumer refused {i}"))
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r, Err("consumer refused 3".to_string()));
        assert!(started.load(Ordering::SeqCst) < 40);
    }

    #[test]
    fn a_dropped_feed_skips_what_is_queued() {
        let ran = AtomicUsize::new(0);
        let gate = Mutex::new(());
        std::thread::scope(|s| {
            let held = gate.lock().unwrap();
            {
                let mut feed = Feed::start(s, 1, |_: u32| {
                    drop(gate.lock());
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ()>(())
                });
                for x in 0..10 {
                    feed.push(x);
                }
            }
            drop(held);
        });
        // At most the item already taken ran.
        assert!(ran.load(Ordering::SeqCst) <= 1);
    }

    #[test]
    fn an_error_is_returned() {
        let r = map(&[1, 2, 3], 2, |x| if *x == 2 { Err("two") } else { Ok(*x) });
        assert_eq!(r, Err("two"));
    }
}
