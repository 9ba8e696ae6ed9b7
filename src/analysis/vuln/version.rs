//! Go module versions as semver, and OSV `SEMVER` ranges as first-class types.
//!
//! Versions compare by semver 2.0 precedence: Go pseudo-versions are prereleases, `+incompatible`
//! is build metadata (ignored in ordering). The `v` prefix is optional on both sides, as in OSV
//! (no `v`) versus Go (`v`).

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ident {
    Num(u64),
    Alpha(String),
}

/// A parsed semantic version.
#[derive(Debug, Clone, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Ident>,
    text: String,
}

impl Version {
    /// Parse `v1.2.3`, `1.2.3-rc.1`, `v0.0.0-20220906165146-f3363e06e74c`, `v2.0.0+incompatible`.
    pub fn parse(s: &str) -> Option<Version> {
        let t = s.strip_prefix('v').unwrap_or(s);
        let (core, _build) = match t.split_once('+') {
            Some((c, b)) => (c, Some(b)),
            None => (t, None),
        };
        let (nums, pre) = match core.split_once('-') {
            Some((n, p)) => (n, Some(p)),
            None => (core, None),
        };
        let mut it = nums.split('.');
        let num = |p: Option<&str>| -> Option<u64> {
            let p = p?;
            (!p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0')))
            .then(|| p.parse().ok())
            .flatten()
        };
        let (major, minor, patch) = (num(it.next())?, num(it.next())?, num(it.next())?);
        if it.next().is_some() {
            return None;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(p) => p
                .split('.')
                .map(|id| {
                    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    {
                        None
                    } else if id.bytes().all(|b| b.is_ascii_digit()) {
                        id.parse().ok().map(Ident::Num)
                    } else {
                        Some(Ident::Alpha(id.to_string()))
                    }
                })
                .collect::<Option<Vec<_>>>()?,
        };
        Some(Version {
            major,
            minor,
            patch,
            pre,
            text: s.to_string(),
        })
    }

    /// The version as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Version {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&o.pre) {
                        let c = match (a, b) {
                            (Ident::Num(x), Ident::Num(y)) => x.cmp(y),
                            (Ident::Num(_), Ident::Alpha(_)) => Ordering::Less,
                            (Ident::Alpha(_), Ident::Num(_)) => Ordering::Greater,
                            (Ident::Alpha(x), Ident::Alpha(y)) => x.cmp(y),
                        };
                        if c != Ordering::Equal {
                            return c;
                        }
                    }
                    self.pre.len().cmp(&o.pre.len())
                }
            })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

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
