//! Provider addresses (`[HOST/]NAMESPACE/TYPE`), their OCI repositories (`--oci-mirror` templates
//! or the tofu CLI configuration's `oci_mirror` block), and version constraints resolved against
//! a repository's tags the way tofu does: `_` read as `+`, unparsable tags ignored, prereleases
//! only when named exactly, the highest match wins.

use anyhow::{Result, anyhow, bail};

use crate::analysis::vuln::version::Version;

pub const DEFAULT_HOST: &str = "registry.opentofu.org";

/// `registry.opentofu.org/hashicorp/aws`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAddress {
    pub hostname: String,
    pub namespace: String,
    pub provider_type: String,
}

impl ProviderAddress {
    pub fn parse(s: &str) -> Result<ProviderAddress> {
        let parts: Vec<&str> = s.split('/').collect();
        let (h, n, t) = match parts.as_slice() {
            [n, t] => (DEFAULT_HOST, *n, *t),
            [h, n, t] => (*h, *n, *t),
            _ => bail!("{s}: a provider address is [HOST/]NAMESPACE/TYPE"),
        };
        let ok = |x: &str| {
            !x.is_empty()
                && x.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b':'
                })
        };
        if !(ok(h) && ok(n) && ok(t)) {
            bail!("{s}: a provider address is [HOST/]NAMESPACE/TYPE");
        }
        Ok(ProviderAddress {
            hostname: h.to_ascii_lowercase(),
            namespace: n.to_ascii_lowercase(),
            provider_type: t.to_ascii_lowercase(),
        })
    }

    /// Expand `${hostname}`, `${namespace}` and `${type}` in a repository template.
    pub fn expand(&self, template: &str) -> Result<String> {
        let out = template
            .replace("${hostname}", &self.hostname)
            .replace("${namespace}", &self.namespace)
            .replace("${type}", &self.provider_type);
        if out.contains("${") {
            bail!(
                "{template}: only ${{hostname}}, ${{namespace}} and ${{type}} may appear in a repository template"
            );
        }
        if out.contains(['@'])
            || out
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'))
        {
            bail!("{out}: a repository template must not name a tag or digest");
        }
        if !out.contains('/') {
            bail!("{out}: a repository template must expand to REGISTRY-HOST/REPOSITORY");
        }
        Ok(out)
    }

    /// Does `pattern` (`host/*/*`, `*/hashicorp/*`) match this address?
    pub fn matches(&self, pattern: &str) -> bool {
        let p: Vec<&str> = pattern.split('/').collect();
        let me = [
            self.hostname.as_str(),
            self.namespace.as_str(),
            self.provider_type.as_str(),
        ];
        p.len() == 3
            && p.iter()
                .zip(me)
                .all(|(p, m)| *p == "*" || p.eq_ignore_ascii_case(m))
    }
}

/// An `oci_mirror` block of the tofu CLI configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciMirror {
    pub repository_template: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

fn expr_string(e: &hcl::Expression) -> Option<String> {
    match e {
        hcl::Expression::String(s) => Some(s.clone()),
        hcl::Expression::TemplateExpr(t) => match t.as_ref() {
            hcl::TemplateExpr::QuotedString(s) => Some(s.clone()),
            hcl::TemplateExpr::Heredoc(h) => Some(h.template.clone()),
        },
        _ => None,
    }
}

/// The `provider_installation { oci_mirror { … } }` blocks of a tofu CLI configuration.
pub fn parse_cli_config(text: &str) -> Result<Vec<OciMirror>> {
    let body: hcl::Body =
        hcl::from_str(text).map_err(|e| anyhow!("tofu CLI configuration: {e}"))?;
    let mut out = Vec::new();
    for pi in body
        .blocks()
        .filter(|b| b.identifier() == "provider_installation")
    {
        for m in pi
            .body()
            .blocks()
            .filter(|b| b.identifier() == "oci_mirror")
        {
            let mut mirror = OciMirror {
                repository_template: String::new(),
                include: Vec::new(),
                exclude: Vec::new(),
            };
            for a in m.body().attributes() {
                let list = |e: &hcl::Expression| -> Vec<String> {
                    match e {
                        hcl::Expression::Array(items) => {
                            items.iter().filter_map(expr_string).collect()
                        }
                        _ => Vec::new(),
                    }
                };
                match a.key() {
                    "repository_template" => {
                        mirror.repository_template = expr_string(a.expr()).ok_or_else(|| {
                            anyhow!("oci_mirror.repository_template must be a string")
                        })?
                    }
                    "include" => mirror.include = list(a.expr()),
                    "exclude" => mirror.exclude = list(a.expr()),
                    _ => {}
                }
            }
            if mirror.repository_template.is_empty() {
                bail!("an oci_mirror block needs repository_template");
            }
            out.push(mirror);
        }
    }
    Ok(out)
}

/// The tofu CLI configuration's OCI mirrors: `TF_CLI_CONFIG_FILE`, else `~/.tofurc`.
pub fn cli_config_mirrors() -> Result<Vec<OciMirror>> {
    let path = std::env::var_os("TF_CLI_CONFIG_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".tofurc")));
    match path {
        Some(p) if p.is_file() => {
            let text = std::fs::read_to_string(&p)?;
            parse_cli_config(&text).map_err(|e| anyhow!("{}: {e}", p.display()))
        }
        _ => Ok(Vec::new()),
    }
}

/// The repository (`HOST/PATH`) holding `addr`: `--oci-mirror` when given, else the first
/// configured mirror whose include (default: everything) and exclude patterns admit it.
pub fn repository_for(
    addr: &ProviderAddress,
    explicit: Option<&str>,
    mirrors: &[OciMirror],
) -> Result<String> {
    if let Some(t) = explicit {
        return addr.expand(t);
    }
    for m in mirrors {
        let included = m.include.is_empty() || m.include.iter().any(|p| addr.matches(p));
        let excluded = m.exclude.iter().any(|p| addr.matches(p));
        if included && !excluded {
            return addr.expand(&m.repository_template);
        }
    }
    bail!(
        "{}/{}/{}: no OCI mirror for this provider; pass --oci-mirror 'HOST/PATH/${{namespace}}/${{type}}' or add an oci_mirror block to ~/.tofurc",
        addr.hostname,
        addr.namespace,
        addr.provider_type
    )
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

fn parse_version(s: &str) -> Option<(Version, usize)> {
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
        (1 | 2, [maj, ..]) => format!("{}.0.0", maj + 1),
        (_, [maj, min, ..]) => format!("{maj}.{}.0", min + 1),
        _ => "0.0.0".into(),
    };
    Version::parse(&next).expect("well-formed")
}

impl Constraint {
    pub fn parse(s: &str) -> Result<Constraint> {
        let mut terms = Vec::new();
        for raw in s.split(',') {
            let t = raw.trim();
            let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
                .iter()
                .find_map(|op| t.strip_prefix(op).map(|r| (*op, r.trim())))
                .unwrap_or(("=", t));
            let (v, parts) =
                parse_version(rest).ok_or_else(|| anyhow!("{s}: {rest:?} is not a version"))?;
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

/// The highest tag satisfying `constraint`: `(tag, version)`.
pub fn resolve(tags: &[String], constraint: &Constraint) -> Result<(String, String)> {
    let mut best: Option<(Version, &String)> = None;
    for tag in tags {
        let text = tag.replace('_', "+");
        let Some((v, 3)) = parse_version(&text) else {
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
                constraint.text,
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
    fn addresses_and_templates() {
        let a = ProviderAddress::parse("hashicorp/AWS").unwrap();
        assert_eq!(a.hostname, "registry.opentofu.org");
        assert_eq!(a.provider_type, "aws");
        assert_eq!(
            a.expand("example.com/mirror/${namespace}/${type}").unwrap(),
            "example.com/mirror/hashicorp/aws"
        );
        assert!(a.expand("example.com/${nope}").is_err());
        assert!(a.expand("example.com/x:1.0").is_err());
        assert!(a.matches("registry.opentofu.org/*/*"));
        assert!(!a.matches("example.com/*/*"));
        assert!(ProviderAddress::parse("a/b/c/d").is_err());
    }

    #[test]
    fn cli_config() {
        let m = parse_cli_config(
            r#"
provider_installation {
  oci_mirror {
    repository_template = "example.com/opentofu-providers/${namespace}/${type}"
    include             = ["registry.opentofu.org/*/*"]
    exclude             = ["registry.opentofu.org/secret/*"]
  }
  direct {}
}
"#,
        )
        .unwrap();
        assert_eq!(
            m[0].repository_template,
            "example.com/opentofu-providers/${namespace}/${type}"
        );
        let a = ProviderAddress::parse("hashicorp/aws").unwrap();
        assert_eq!(
            repository_for(&a, None, &m).unwrap(),
            "example.com/opentofu-providers/hashicorp/aws"
        );
        let s = ProviderAddress::parse("secret/thing").unwrap();
        assert!(
            repository_for(&s, None, &m)
                .unwrap_err()
                .to_string()
                .contains("--oci-mirror")
        );
        assert_eq!(
            repository_for(&s, Some("r.example/${type}"), &m).unwrap(),
            "r.example/thing"
        );
        assert!(parse_cli_config("provider_installation { oci_mirror { include = [] } }").is_err());
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
