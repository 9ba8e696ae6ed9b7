//! Semantic versions as Go modules, OSV and tofu write them, and tofu's version constraints.
//!
//! Versions compare by semver 2.0 precedence: Go pseudo-versions are prereleases, `+incompatible`
//! is build metadata (ignored in ordering). The `v` prefix is optional on both sides, as in OSV
//! (no `v`) versus Go (`v`). [`Constraint`] is tofu's constraint language (`~> 5.0`, `>= 1, < 2`),
//! here so that every layer (tag resolution, lock files, OSV ranges) shares one ordering.

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

/// One `op version` term of a constraint.
#[derive(Debug, Clone)]
enum Term {
    Eq(Version),
    Ne(Version),
    Gt(Version),
    Ge(Version),
    Lt(Version),
    Le(Version),
}

/// A tofu version constraint: `1.2.3`, `= 1.2.3`, `>= 1.0, < 2.0`, `~> 5.0`, `!= 1.4.0`.
#[derive(Debug, Clone)]
pub struct Constraint {
    terms: Vec<Term>,
    text: String,
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A version as tofu writes one in a constraint or a tag: no `v`; one or two parts are
/// zero-filled. Returns the version and how many core parts were written.
pub fn parse_tofu_version(s: &str) -> Option<(Version, usize)> {
    // go-versions: no `v` prefix; one or two parts are zero-filled in constraints.
    if s.starts_with('v') {
        return None;
    }
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let parts = s[..core_end].split('.').count();
    let filled = match parts {
        1 => format!("{}.0.0{}", &s[..core_end], &s[core_end..]),
        2 => format!("{}.0{}", &s[..core_end], &s[core_end..]),
        _ => s.to_string(),
    };
    Version::parse(&filled).map(|v| (v, parts))
}

fn bump(v: &Version, parts: usize) -> Version {
    let t = v.as_str();
    let nums: Vec<u64> = t
        .split(['-', '+'])
        .next()
        .unwrap_or("")
        .split('.')
        .filter_map(|x| x.parse().ok())
        .collect();
    let next = match (parts, nums.as_slice()) {
        (1 | 2, [maj, ..]) => format!("{}.0.0", maj.saturating_add(1)),
        (_, [maj, min, ..]) => format!("{maj}.{}.0", min.saturating_add(1)),
        _ => "0.0.0".into(),
    };
    Version::parse(&next).expect("well-formed")
}

impl Constraint {
    pub fn parse(s: &str) -> Result<Constraint, String> {
        let mut terms = Vec::new();
        for raw in s.split(',') {
            let t = raw.trim();
            let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
                .iter()
                .find_map(|op| t.strip_prefix(op).map(|r| (*op, r.trim())))
                .unwrap_or(("=", t));
            let (v, parts) = parse_tofu_version(rest)
                .ok_or_else(|| format!("{s}: {rest:?} is not a version"))?;
            match op {
                "=" => terms.push(Term::Eq(v)),
                "!=" => terms.push(Term::Ne(v)),
                ">" => terms.push(Term::Gt(v)),
                ">=" => terms.push(Term::Ge(v)),
                "<" => terms.push(Term::Lt(v)),
                "<=" => terms.push(Term::Le(v)),
                _ => {
                    terms.push(Term::Lt(bump(&v, parts)));
                    terms.push(Term::Ge(v));
                }
            }
        }
        Ok(Constraint {
            terms,
            text: s.to_string(),
        })
    }

    fn exact_names(&self, v: &Version) -> bool {
        self.terms
            .iter()
            .any(|t| matches!(t, Term::Eq(x) if x == v))
    }

    pub fn allows(&self, v: &Version) -> bool {
        // go-versions (tofu's library) treats 0.0.0 as "unspecified", a member of no set.
        if v.as_str().trim_start_matches('v') == "0.0.0" {
            return false;
        }
        // A prerelease is selected only when a constraint names it exactly.
        if v.as_str().contains('-') && !self.exact_names(v) {
            return false;
        }
        self.terms.iter().all(|t| match t {
            Term::Eq(x) => v == x && v.as_str().split('+').next() == x.as_str().split('+').next(),
            Term::Ne(x) => v != x,
            Term::Gt(x) => v > x,
            Term::Ge(x) => v >= x,
            Term::Lt(x) => v < x,
            Term::Le(x) => v <= x,
        })
    }
}
