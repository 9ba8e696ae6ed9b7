//! SPDX 2.3 JSON in the shape both Trivy generations read: one package per module with a
//! `PACKAGE-MANAGER` purl reference, and the only relationships Trivy 0.44 still walks —
//! `DOCUMENT DESCRIBES` the executable, a `SPDXRef-Application-*` package named `gobinary`
//! (Trivy's application convention), which `CONTAINS` every module. A package-to-package
//! relationship between plain packages would make Trivy 0.44 silently read nothing, so the
//! main → dependency edges of the CycloneDX graph are not repeated here.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::RenderOptions;
use crate::foundation::time;
use crate::inventory::{Inventory, Module};

fn spdx_id_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn package(m: &Module, id: &str) -> Value {
    let mut p = json!({
        "SPDXID": id,
        "name": m.path,
    });
    if let Some(v) = &m.version {
        p["versionInfo"] = json!(v);
    }
    p["downloadLocation"] = json!("NOASSERTION");
    p["filesAnalyzed"] = json!(false);
    p["externalRefs"] = json!([{
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": m.purl(),
    }]);
    let mut notes = Vec::new();
    if let Some(h) = &m.sum {
        notes.push(format!("go.sum {h}"));
    }
    if let Some(r) = &m.replacement {
        notes.push(format!("replaces {} => {}", r.original_path, r.path));
    }
    if !notes.is_empty() {
        p["comment"] = json!(notes.join("; "));
    }
    p
}

/// Render `inv` as an SPDX 2.3 JSON document.
pub fn render(inv: &Inventory, opts: &RenderOptions) -> Vec<u8> {
    let s = &inv.subject;
    let doc_name = s.zip_name.clone().unwrap_or_else(|| s.exe_name.clone());
    let serial = opts.serial(inv, "spdx");
    let app_id = format!("SPDXRef-Application-{}", spdx_id_part(&s.exe_name));
    let mut comment = vec![match &s.exe_sha256 {
        Some(h) => format!("executable {} sha256:{h}", s.exe_name),
        None => format!("executable {}", s.exe_name),
    }];
    if let Some(h) = &s.zip_sha256 {
        comment.push(format!("lock hash zh:{h}"));
    }
    if let Some(p) = inv.platform() {
        comment.push(format!("platform {p}"));
    }
    comment.push(format!("go {}", inv.go_version));
    comment.push(format!("inventory source {}", inv.origin.as_str()));
    comment.push(format!(
        "main module version source {}",
        inv.main_version_source.as_str()
    ));
    let app = json!({
        "SPDXID": app_id,
        "name": "gobinary",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "packageFileName": s.exe_name,
        "sourceInfo": s.exe_name,
        "primaryPackagePurpose": "APPLICATION",
        "comment": comment.join("; "),
    });
    let mut app = app;
    if let Some(h) = &s.exe_sha256 {
        app["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": h}]);
    }
    let mut packages = vec![app];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": app_id,
    })];
    let mut used = BTreeSet::new();
    for m in std::iter::once(&inv.main).chain(&inv.modules) {
        let base = format!(
            "SPDXRef-Package-{}-{}",
            spdx_id_part(&m.path),
            spdx_id_part(m.version.as_deref().unwrap_or("unknown"))
        );
        let mut id = base.clone();
        let mut n = 1;
        while !used.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        packages.push(package(m, &id));
        relationships.push(json!({
            "spdxElementId": app_id,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": doc_name,
        "documentNamespace": format!("https://provguard.dev/spdx/{}-{serial}", spdx_id_part(&doc_name)),
        "creationInfo": {
            "created": time::rfc3339(opts.timestamp),
            "creators": [format!("Tool: provguard-{}", opts.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    });
    super::cyclonedx::to_json_bytes(&doc)
}
