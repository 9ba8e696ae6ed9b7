//! Provider addresses (`[HOST/]NAMESPACE/TYPE`) and their OCI repositories: `--oci-mirror`
//! templates or the tofu CLI configuration's `oci_mirror` blocks with their include/exclude
//! patterns. (Tags are resolved against a version constraint in `registry::tags`.)

use anyhow::{Result, anyhow, bail};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
