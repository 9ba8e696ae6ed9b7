//! Registry credentials, looked up per host the way Docker and Podman clients do:
//! `--username` with `--password-stdin` (for the target's host only), then `REGISTRY_AUTH_FILE`,
//! `$XDG_RUNTIME_DIR/containers/auth.json` (Podman), and `$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json` — `credHelpers[host]`, then `auths[host]`, then `credsStore`, the
//! helpers being `docker-credential-<name> get` programs. Credentials are only ever attached to
//! the host they were found for (oci-client keeps them per registry host).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// Credentials given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ExplicitCredentials {
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

/// `https://index.docker.io/v1/` → `index.docker.io`; `host:5000` stays.
fn normalize(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k).to_string()
}

fn config_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        v.push(PathBuf::from(p));
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        v.push(PathBuf::from(d).join("containers/auth.json"));
    }
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => v.push(PathBuf::from(d).join("config.json")),
        None => {
            if let Some(h) = std::env::var_os("HOME") {
                v.push(PathBuf::from(h).join(".docker/config.json"));
            }
        }
    }
    v
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

fn from_helper(helper: &str, host: &str) -> Result<Option<RegistryAuth>> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run credential helper {program}"))?;
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("{program}: no stdin"))?
        .write_all(host.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        // "credentials not found in native keychain" is not an error: anonymous access follows.
        tracing::debug!(
            "{program} get {host}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        return Ok(None);
    }
    let a: HelperAnswer = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{program} get {host}: unreadable answer"))?;
    Ok(Some(if a.username == "<token>" {
        RegistryAuth::Bearer(a.secret)
    } else {
        RegistryAuth::Basic(a.username, a.secret)
    }))
}

fn from_entry(e: &AuthEntry, host: &str, file: &std::path::Path) -> Result<Option<RegistryAuth>> {
    if let Some(t) = &e.identity_token {
        return Ok(Some(RegistryAuth::Bearer(t.clone())));
    }
    if let (Some(u), Some(p)) = (&e.username, &e.password) {
        return Ok(Some(RegistryAuth::Basic(u.clone(), p.clone())));
    }
    let Some(b64) = e.auth.as_deref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .with_context(|| format!("{}: auths[{host}].auth is not base64", file.display()))?;
    let s = String::from_utf8(raw)
        .with_context(|| format!("{}: auths[{host}].auth is not UTF-8", file.display()))?;
    let (u, p) = s.split_once(':').ok_or_else(|| {
        anyhow!(
            "{}: auths[{host}].auth is not user:password",
            file.display()
        )
    })?;
    Ok(Some(RegistryAuth::Basic(u.to_string(), p.to_string())))
}

/// The credentials to use for `host` (`registry.example.com` or `127.0.0.1:5000`).
pub fn credentials_for(host: &str, explicit: &ExplicitCredentials) -> Result<RegistryAuth> {
    match (&explicit.username, &explicit.password) {
        (Some(u), Some(p)) => return Ok(RegistryAuth::Basic(u.clone(), p.clone())),
        (Some(_), None) => bail!("--username needs --password-stdin"),
        _ => {}
    }
    for file in config_files() {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let cfg: ConfigFile = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid registry auth file", file.display()))?;
        if let Some(h) = cfg
            .cred_helpers
            .iter()
            .find(|(k, _)| normalize(k) == host)
            .map(|(_, h)| h)
            && let Some(a) = from_helper(h, host)?
        {
            return Ok(a);
        }
        if let Some(e) = cfg
            .auths
            .iter()
            .find(|(k, _)| normalize(k) == host)
            .map(|(_, e)| e)
            && let Some(a) = from_entry(e, host, &file)?
        {
            return Ok(a);
        }
        if let Some(store) = &cfg.creds_store
            && let Some(a) = from_helper(store, host)?
        {
            return Ok(a);
        }
    }
    Ok(RegistryAuth::Anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalize_to_hosts() {
        assert_eq!(normalize("https://index.docker.io/v1/"), "index.docker.io");
        assert_eq!(normalize("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(normalize("http://reg.example/"), "reg.example");
    }

    #[test]
    fn entries() {
        let f = std::path::Path::new("x");
        let e = AuthEntry {
            auth: Some(base64::engine::general_purpose::STANDARD.encode("u:p:q")),
            ..Default::default()
        };
        assert!(
            matches!(from_entry(&e, "h", f).unwrap(), Some(RegistryAuth::Basic(u, p)) if u == "u" && p == "p:q")
        );
        let bad = AuthEntry {
            auth: Some("!!".into()),
            ..Default::default()
        };
        assert!(from_entry(&bad, "h", f).is_err());
        assert!(from_entry(&AuthEntry::default(), "h", f).unwrap().is_none());
    }
}
