//! Provider addresses (`[HOST/]NAMESPACE/TYPE`) and the tofu CLI configuration that says where
//! each is installed from: the `provider_installation` block's methods (`filesystem_mirror`,
//! `network_mirror`, `oci_mirror`, `direct`) with their include/exclude patterns, and registry
//! credentials (`credentials "HOST" { token = … }` blocks and `TF_TOKEN_<host>` variables).
//! `--oci-mirror` templates and OCI repositories are resolved here too. (Tags are resolved
//! against a version constraint in `registry::tags`.)

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

    /// `HOST/NAMESPACE/TYPE`.
    pub fn full(&self) -> String {
        format!(
            "{}/{}/{}",
            self.hostname, self.namespace, self.provider_type
        )
    }

    /// Does `pattern` (`host/*/*`, `*/hashicorp/*`, or the two-part `hashicorp/*`, which means
    /// `registry.opentofu.org/hashicorp/*`) match this address?
    pub fn matches(&self, pattern: &str) -> bool {
        let mut p: Vec<&str> = pattern.split('/').collect();
        if p.len() == 2 {
            p.insert(0, DEFAULT_HOST);
        }
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

/// One installation method of the `provider_installation` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// The provider registry protocol at the provider's own host.
    Direct,
    FilesystemMirror {
        path: String,
    },
    /// A network mirror's base URL (https, ending in `/`).
    NetworkMirror {
        url: String,
        trust_all_hashes: bool,
    },
    OciMirror {
        repository_template: String,
    },
}

impl Method {
    pub fn name(&self) -> &'static str {
        match self {
            Method::Direct => "direct",
            Method::FilesystemMirror { .. } => "filesystem_mirror",
            Method::NetworkMirror { .. } => "network_mirror",
            Method::OciMirror { .. } => "oci_mirror",
        }
    }
}

/// A method with its include/exclude patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub method: Method,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Installation {
    /// tofu's rule: an exclude match wins; with include patterns one must match.
    pub fn handles(&self, addr: &ProviderAddress) -> bool {
        !self.exclude.iter().any(|p| addr.matches(p))
            && (self.include.is_empty() || self.include.iter().any(|p| addr.matches(p)))
    }
}

/// What provguard reads from a tofu CLI configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliConfig {
    /// The `provider_installation` methods in order; `None` when there is no block (then
    /// `direct` for everything).
    pub installation: Option<Vec<Installation>>,
    /// `credentials "HOST" { token = … }`, host in comparison form.
    pub credentials: std::collections::BTreeMap<String, String>,
}

impl CliConfig {
    /// The methods that can install `addr`, in configuration order.
    pub fn methods_for(&self, addr: &ProviderAddress) -> Vec<Installation> {
        match &self.installation {
            None => vec![Installation {
                method: Method::Direct,
                include: Vec::new(),
                exclude: Vec::new(),
            }],
            Some(ms) => ms.iter().filter(|m| m.handles(addr)).cloned().collect(),
        }
    }

    /// The `oci_mirror` methods, for the OCI-only paths.
    pub fn oci_mirrors(&self) -> Vec<OciMirror> {
        self.installation
            .iter()
            .flatten()
            .filter_map(|i| match &i.method {
                Method::OciMirror {
                    repository_template,
                } => Some(OciMirror {
                    repository_template: repository_template.clone(),
                    include: i.include.clone(),
                    exclude: i.exclude.clone(),
                }),
                _ => None,
            })
            .collect()
    }
}

/// A host as tofu compares it: lowercase, `:443` dropped.
pub fn host_for_comparison(host: &str) -> String {
    let h = host.to_ascii_lowercase();
    h.strip_suffix(":443").map(str::to_string).unwrap_or(h)
}

/// The host a `TF_TOKEN_…` variable name stands for: `__` → `-`, then `_` → `.`.
pub fn token_env_host(var: &str) -> Option<String> {
    let rest = var.strip_prefix("TF_TOKEN_")?;
    if rest.is_empty() {
        return None;
    }
    let h = rest.replace("__", "-").replace('_', ".");
    let ok = h
        .split('.')
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    ok.then(|| host_for_comparison(&h))
}

/// Registry credentials: `TF_TOKEN_<host>` variables first (the last one in the environment
/// wins for a host), then `credentials` blocks. Keyed by host in comparison form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials(pub std::collections::BTreeMap<String, String>);

impl Credentials {
    pub fn new(config: &CliConfig, env: impl Iterator<Item = (String, String)>) -> Credentials {
        let mut m = config.credentials.clone();
        for (k, v) in env {
            if let Some(h) = token_env_host(&k) {
                m.insert(h, v);
            }
        }
        Credentials(m)
    }

    pub fn from_env(config: &CliConfig) -> Credentials {
        Credentials::new(config, std::env::vars())
    }

    /// The token for exactly this `host[:port]`.
    pub fn token_for(&self, host: &str) -> Option<&str> {
        self.0.get(&host_for_comparison(host)).map(String::as_str)
    }
}

fn string_list(e: &hcl::Expression) -> Vec<String> {
    match e {
        hcl::Expression::Array(items) => items.iter().filter_map(expr_string).collect(),
        _ => Vec::new(),
    }
}

/// A tofu CLI configuration (HCL): its `provider_installation` block and `credentials` blocks.
pub fn parse_cli_config_full(text: &str) -> Result<CliConfig> {
    let body: hcl::Body =
        hcl::from_str(text).map_err(|e| anyhow!("tofu CLI configuration: {e}"))?;
    let mut out = CliConfig::default();
    for c in body.blocks().filter(|b| b.identifier() == "credentials") {
        let [label] = c.labels() else {
            continue;
        };
        if let Some(t) = c
            .body()
            .attributes()
            .find(|a| a.key() == "token")
            .and_then(|a| expr_string(a.expr()))
        {
            out.credentials
                .insert(host_for_comparison(label.as_str()), t);
        }
    }
    let blocks: Vec<_> = body
        .blocks()
        .filter(|b| b.identifier() == "provider_installation")
        .collect();
    if blocks.len() > 1 {
        bail!("No more than one provider_installation block may be specified");
    }
    let Some(pi) = blocks.first() else {
        return Ok(out);
    };
    let mut methods = Vec::new();
    for m in pi.body().blocks() {
        let attr = |k: &str| {
            m.body()
                .attributes()
                .find(|a| a.key() == k)
                .map(|a| a.expr().clone())
        };
        let string = |k: &str| -> Result<String> {
            attr(k)
                .as_ref()
                .and_then(expr_string)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| anyhow!("a {} block needs {k}", m.identifier()))
        };
        let method = match m.identifier() {
            "direct" => Method::Direct,
            "filesystem_mirror" => Method::FilesystemMirror {
                path: string("path")?,
            },
            "network_mirror" => {
                let mut url = string("url")?;
                if !url.starts_with("https://") {
                    bail!("network_mirror url {url:?} must use https");
                }
                if !url.ends_with('/') {
                    url.push('/');
                }
                Method::NetworkMirror {
                    url,
                    trust_all_hashes: matches!(
                        attr("trust_all_hashes"),
                        Some(hcl::Expression::Bool(true))
                    ),
                }
            }
            "oci_mirror" => Method::OciMirror {
                repository_template: string("repository_template")?,
            },
            "dev_overrides" => continue,
            other => bail!("unknown provider_installation method {other:?}"),
        };
        methods.push(Installation {
            method,
            include: attr("include")
                .as_ref()
                .map(string_list)
                .unwrap_or_default(),
            exclude: attr("exclude")
                .as_ref()
                .map(string_list)
                .unwrap_or_default(),
        });
    }
    out.installation = Some(methods);
    Ok(out)
}

/// The `provider_installation { oci_mirror { … } }` blocks of a tofu CLI configuration.
pub fn parse_cli_config(text: &str) -> Result<Vec<OciMirror>> {
    Ok(parse_cli_config_full(text)?.oci_mirrors())
}

/// The tofu CLI configuration: `TF_CLI_CONFIG_FILE`, else `~/.tofurc`, else `~/.terraformrc`.
pub fn cli_config() -> Result<CliConfig> {
    let path = std::env::var_os("TF_CLI_CONFIG_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let home = std::path::PathBuf::from(std::env::var_os("HOME")?);
            [".tofurc", ".terraformrc"]
                .into_iter()
                .map(|n| home.join(n))
                .find(|p| p.is_file())
        });
    match path {
        Some(p) if p.is_file() => {
            let text = std::fs::read_to_string(&p)?;
            parse_cli_config_full(&text).map_err(|e| anyhow!("{}: {e}", p.display()))
        }
        _ => Ok(CliConfig::default()),
    }
}

/// The tofu CLI configuration's OCI mirrors.
pub fn cli_config_mirrors() -> Result<Vec<OciMirror>> {
    Ok(cli_config()?.oci_mirrors())
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

    #[test]
    fn installation_methods_and_credentials() {
        let c = parse_cli_config_full(
            r#"
credentials "Registry.Example.com:443" { token = "t1" }
credentials "localhost:8443" { token = "t2" }
provider_installation {
  filesystem_mirror {
    path    = "/srv/mirror"
    include = ["example.com/*/*"]
  }
  network_mirror {
    url     = "https://mirror.example.net/providers"
    include = ["hashicorp/*"]
  }
  direct {
    exclude = ["hashicorp/*", "example.com/*/*"]
  }
}
"#,
        )
        .unwrap();
        let names = |a: &str| -> Vec<&'static str> {
            c.methods_for(&ProviderAddress::parse(a).unwrap())
                .iter()
                .map(|m| m.method.name())
                .collect()
        };
        assert_eq!(names("hashicorp/null"), ["network_mirror"]);
        assert_eq!(names("example.com/acme/x"), ["filesystem_mirror"]);
        assert_eq!(names("other.io/acme/x"), ["direct"]);
        assert!(matches!(
            &c.installation.as_ref().unwrap()[1].method,
            Method::NetworkMirror { url, .. } if url == "https://mirror.example.net/providers/"
        ));
        let creds = Credentials::new(
            &c,
            [
                (
                    "TF_TOKEN_my__registry_example_com".to_string(),
                    "t3".to_string(),
                ),
                (
                    "TF_TOKEN_registry_example_com".to_string(),
                    "t4".to_string(),
                ),
                ("PATH".to_string(), "x".to_string()),
            ]
            .into_iter(),
        );
        assert_eq!(creds.token_for("my-registry.example.com"), Some("t3"));
        // The variable wins over the block; the port 443 is the same host.
        assert_eq!(creds.token_for("registry.example.com:443"), Some("t4"));
        assert_eq!(creds.token_for("localhost:8443"), Some("t2"));
        assert_eq!(creds.token_for("localhost"), None);
        assert_eq!(
            token_env_host("TF_TOKEN_app_opentofu_org").unwrap(),
            "app.opentofu.org"
        );
        assert_eq!(token_env_host("TF_TOKEN_"), None);
        // No block: direct for everything.
        assert_eq!(
            CliConfig::default().methods_for(&ProviderAddress::parse("a/b").unwrap())[0].method,
            Method::Direct
        );
        assert!(
            parse_cli_config_full("provider_installation {}\nprovider_installation {}").is_err()
        );
        assert!(
            parse_cli_config_full(
                "provider_installation { network_mirror { url = \"http://x/\" } }"
            )
            .is_err()
        );
        assert!(parse_cli_config_full("provider_installation { bogus {} }").is_err());
    }
}
