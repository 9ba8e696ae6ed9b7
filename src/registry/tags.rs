//! Version tags resolved against a tofu version constraint, the way tofu resolves them in an OCI
//! mirror: `_` read as `+` (OCI tags cannot hold `+`), unparsable tags ignored, prereleases only
//! when named exactly, the highest match wins.

use anyhow::{Result, anyhow};

use crate::foundation::version::{Constraint, Version, parse_tofu_version};

/// The highest tag satisfying `constraint`: `(tag, version)`.
pub fn resolve(tags: &[String], constraint: &Constraint) -> Result<(String, String)> {
    let mut best: Option<(Version, &String)> = None;
    for tag in tags {
        let text = tag.replace('_', "+");
        let Some((v, 3)) = parse_tofu_version(&text) else {
            continue;
        };
        if constraint.allows(&v) && best.as_ref().is_none_or(|(b, _)| v > *b) {
            best = Some((v, tag));
        }
    }
    best.map(|(v, t)| (t.clone(), v.as_str().to_string()))
        .ok_or_else(|| {
            anyhow!(
                "no version matches {:?}; the repository has tags {}",
                constraint.to_string(),
                if tags.is_empty() {
                    "none".into()
                } else {
                    tags.join(", ")
                }
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn constraints_like_tofu() {
        let t = tags(&[
            "latest",
            "v9.0.0",
            "1.2",
            "4.9.0",
            "5.0.0",
            "5.1.0",
            "5.2.0-beta1",
            "5.10.1",
            "6.0.0",
            "5.10.2_build.7",
            "linux_amd64",
        ]);
        let r = |c: &str| resolve(&t, &Constraint::parse(c).unwrap()).map(|x| x.0);
        assert_eq!(r("~> 5.0").unwrap(), "5.10.2_build.7");
        assert_eq!(r("~> 5.0.0").unwrap(), "5.0.0");
        assert_eq!(r(">= 4.0, < 5.1").unwrap(), "5.0.0");
        assert_eq!(r("5.1.0").unwrap(), "5.1.0");
        assert_eq!(r("!= 6.0.0").unwrap(), "5.10.2_build.7");
        assert_eq!(
            r("5.2.0-beta1").unwrap(),
            "5.2.0-beta1",
            "an exact prerelease is selectable"
        );
        let none = r("> 5.1.0, < 5.3.0").unwrap_err().to_string();
        assert!(none.contains("no version matches"), "{none}");
        assert!(Constraint::parse("~> banana").is_err());
    }
}
