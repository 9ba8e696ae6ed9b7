//! OSV `SEMVER` ranges as first-class types, over the foundation's semver [`Version`].

use std::cmp::Ordering;

pub use crate::foundation::version::Version;

/// One event of an OSV `SEMVER` range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `introduced: "0"` is [`Event::Introduced`] with `None`: every version.
    Introduced(Option<Version>),
    Fixed(Version),
    LastAffected(Version),
}

impl Event {
    fn key(&self) -> Option<&Version> {
        match self {
            Event::Introduced(v) => v.as_ref(),
            Event::Fixed(v) | Event::LastAffected(v) => Some(v),
        }
    }
}

/// An OSV `SEMVER` range: events evaluated in version order (OSV schema, "Evaluation").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Range {
    events: Vec<Event>,
}

impl Range {
    pub fn new(mut events: Vec<Event>) -> Range {
        // "0" sorts first; equal versions keep their given order.
        events.sort_by(|a, b| match (a.key(), b.key()) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        });
        Range { events }
    }

    pub fn contains(&self, v: &Version) -> bool {
        let mut affected = false;
        for e in &self.events {
            match e {
                Event::Introduced(None) => affected = true,
                Event::Introduced(Some(i)) if v >= i => affected = true,
                Event::Fixed(f) if v >= f => affected = false,
                Event::LastAffected(l) if v > l => affected = false,
                _ => {}
            }
        }
        affected
    }

    /// Fixed versions above `v`, lowest first.
    pub fn fixes_above<'a>(&'a self, v: &'a Version) -> impl Iterator<Item = &'a Version> + 'a {
        self.events.iter().filter_map(move |e| match e {
            Event::Fixed(f) if f > v => Some(f),
            _ => None,
        })
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn ordering() {
        assert!(v("v1.2.3") == v("1.2.3"));
        assert!(v("1.0.0-rc.1") < v("1.0.0"));
        assert!(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
        assert!(v("1.0.0-alpha.1") < v("1.0.0-beta"));
        assert!(v("1.0.0-rc.2") < v("1.0.0-rc.10"));
        assert!(v("v0.0.0-20220906165146-f3363e06e74c") < v("0.0.1"));
        assert!(v("v0.0.0-20220906165146-f3363e06e74c") > v("v0.0.0-20210101000000-aaaaaaaaaaaa"));
        assert!(v("v2.0.0+incompatible") == v("2.0.0"));
        assert!(v("1.21.0-0") < v("1.21.0-rc.2"));
        for bad in ["1.2", "go1.22.1", "v1.02.3", "x", "1.2.3-", "1.2.3.4"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ranges_with_several_introduced_and_fixed() {
        // GO-2023-1878: introduced 0, fixed 1.19.11, introduced 1.20.0-0, fixed 1.20.6
        let r = Range::new(vec![
            Event::Introduced(None),
            Event::Fixed(v("1.19.11")),
            Event::Introduced(Some(v("1.20.0-0"))),
            Event::Fixed(v("1.20.6")),
        ]);
        assert!(r.contains(&v("v1.19.8")));
        assert!(!r.contains(&v("v1.19.11")));
        assert!(r.contains(&v("v1.20.0-rc.2")));
        assert!(r.contains(&v("v1.20.5")));
        assert!(!r.contains(&v("v1.20.6")));
        assert!(!r.contains(&v("v1.21.0")));
        let fixes: Vec<_> = r
            .fixes_above(&v("v1.19.8"))
            .map(|f| f.to_string())
            .collect();
        assert_eq!(fixes, ["1.19.11", "1.20.6"]);
    }

    #[test]
    fn last_affected_is_inclusive() {
        let r = Range::new(vec![
            Event::Introduced(Some(v("1.0.0"))),
            Event::LastAffected(v("1.2.0")),
        ]);
        assert!(!r.contains(&v("0.9.0")));
        assert!(r.contains(&v("1.2.0")));
        assert!(!r.contains(&v("1.2.1")));
    }
}
