//! CycloneDX JSON in the shape both Trivy generations read (0.44 through 0.76): flat top-level
//! components, `name` = the exact module path with no `group`, `pkg:golang` PURLs as bom-refs,
//! stdlib as `pkg:golang/stdlib@v1.x.y`, and a dependency graph
//! provider → executable (`aquasecurity:trivy:Type=gobinary`) → main module → modules.
//! 1.5 keeps `metadata.tools` as the legacy array (0.44 rejects the object form).

use serde_json::{Value, json};

use super::{RenderOptions, binary_properties, module_properties, root_properties};
use crate::foundation::time;
use crate::inventory::{Inventory, Module};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    V1_5,
    V1_6,
}

/// The legacy (1.5) tools array naming provguard.
pub fn tools_v15(opts: &RenderOptions) -> Value {
    json!([{"vendor": "provguard", "name": "provguard", "version": opts.tool_version}])
}

/// Stable bom-refs of the two non-module components.
pub const ROOT_REF: &str = "provider";
pub const BINARY_REF: &str = "executable";

fn props(p: Vec<(String, String)>) -> Value {
    Value::Array(
        p.into_iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect(),
    )
}

fn sha256(hex: &str) -> Value {
    json!([{"alg": "SHA-256", "content": hex}])
}

fn module_component(m: &Module, purl: &str) -> Value {
    let mut c = json!({
        "bom-ref": purl,
        "type": "library",
        "name": m.path,
    });
    if let Some(v) = &m.version {
        c["version"] = json!(v);
    }
    c["purl"] = json!(purl);
    let p = module_properties(m);
    if !p.is_empty() {
        c["properties"] = props(p);
    }
    c
}

/// Render `inv` as a CycloneDX JSON document.
pub fn render(inv: &Inventory, spec: Spec, opts: &RenderOptions) -> Vec<u8> {
    to_json_bytes(&bom(inv, spec, opts, opts.serial(inv, "cyclonedx")))
}

/// Pretty JSON with a trailing newline.
pub fn to_json_bytes(doc: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(doc).expect("JSON values always serialize");
    out.push(b'\n');
    out
}

/// The BOM of `inv` with the given serial number (VEX documents link to it).
pub fn bom(inv: &Inventory, spec: Spec, opts: &RenderOptions, serial: uuid::Uuid) -> Value {
    let s = &inv.subject;
    let tool_version = opts.tool_version;
    let tools = match spec {
        Spec::V1_5 => {
            json!([{"vendor": "provguard", "name": "provguard", "version": tool_version}])
        }
        Spec::V1_6 => {
            json!({"components": [{"type": "application", "author": "provguard", "name": "provguard", "version": tool_version}]})
        }
    };
    let mut root = json!({
        "bom-ref": ROOT_REF,
        "type": "application",
        "name": s.provider_name(),
    });
    let provider_version = s.naming.version.clone().or_else(|| {
        inv.main
            .version
            .as_ref()
            .map(|v| v.trim_start_matches('v').to_string())
    });
    if let Some(v) = provider_version {
        root["version"] = json!(v);
    }
    if let Some(h) = &s.zip_sha256 {
        root["hashes"] = sha256(h);
    }
    root["properties"] = props(root_properties(inv));

    let mut binary = json!({
        "bom-ref": BINARY_REF,
        "type": "application",
        "name": s.exe_name,
    });
    if let Some(h) = &s.exe_sha256 {
        binary["hashes"] = sha256(h);
    }
    let mut bp = vec![
        (
            "aquasecurity:trivy:Type".to_string(),
            "gobinary".to_string(),
        ),
        (
            "aquasecurity:trivy:Class".to_string(),
            "lang-pkgs".to_string(),
        ),
    ];
    bp.extend(binary_properties(inv));
    binary["properties"] = props(bp);

    let mut components = vec![binary];
    let mut seen = std::collections::BTreeSet::new();
    let main_ref = inv.main.purl();
    seen.insert(main_ref.clone());
    components.push(module_component(&inv.main, &main_ref));
    let mut dep_refs = Vec::new();
    for m in &inv.modules {
        let r = m.purl();
        if seen.insert(r.clone()) {
            components.push(module_component(m, &r));
            dep_refs.push(r);
        }
    }
    let mut dependencies = vec![
        json!({"ref": ROOT_REF, "dependsOn": [BINARY_REF]}),
        json!({"ref": BINARY_REF, "dependsOn": [main_ref]}),
        json!({"ref": main_ref, "dependsOn": dep_refs}),
    ];
    for r in &dep_refs {
        dependencies.push(json!({"ref": r, "dependsOn": []}));
    }
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": match spec { Spec::V1_5 => "1.5", Spec::V1_6 => "1.6" },
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": time::rfc3339(opts.timestamp),
            "tools": tools,
            "component": root,
        },
        "components": components,
        "dependencies": dependencies,
    });
    doc
}
