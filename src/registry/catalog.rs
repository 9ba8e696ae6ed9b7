//! The registry's catalog (`GET /v2/_catalog`), every page: `n` entries a page, the next page
//! from the `Link` header (`?n=…&last=…`), as the distribution spec describes it. Used by
//! `audit` to find every repository under a namespace.

use oci_client::Reference;

use super::client::{Registry, Result, absolute};
use super::error::{Kind, RegistryError};
use super::wire::repo_ref;

/// At most this many pages are followed (a registry that links in circles is refused).
const MAX_PAGES: usize = 100_000;

#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    repositories: Vec<String>,
}

impl Registry {
    /// Every repository of the registry at `host` whose name is `prefix` or starts with
    /// `prefix/` (all of them for an empty prefix), `page_size` names a request, sorted.
    pub fn catalog(&self, host: &str, prefix: &str, page_size: usize) -> Result<Vec<String>> {
        let r: Reference = repo_ref(host, "_catalog", "latest");
        let origin = self.origin(&r);
        let mut url = format!("{origin}/v2/_catalog?n={}", page_size.max(1));
        let what = format!("{host}: catalog");
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let (next, body) = self.get_page(&r, &url, "application/json", &what)?;
            let page: Page = serde_json::from_slice(&body).map_err(|e| {
                RegistryError::new(Kind::Protocol, &what, format!("not a catalog page: {e}"))
            })?;
            out.extend(page.repositories.into_iter().filter(|name| {
                prefix.is_empty()
                    || name == prefix
                    || name
                        .strip_prefix(prefix)
                        .is_some_and(|r| r.starts_with('/'))
            }));
            match next {
                Some(n) => url = absolute(&origin, n),
                None => {
                    out.sort();
                    out.dedup();
                    return Ok(out);
                }
            }
        }
        Err(RegistryError::new(
            Kind::Protocol,
            what,
            format!("more than {MAX_PAGES} pages"),
        ))
    }
}
