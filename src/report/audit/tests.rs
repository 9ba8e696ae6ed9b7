//! Renderer tests on a report whose every outside value is hostile markup.

use super::AuditReport;
use super::html::render;
use crate::report::audit::model::*;
use crate::report::audit::summary::Summary;
use crate::source::survey::Located;

const EVIL: &str = "\"><img src=x onerror=alert(1)><svg onload=alert(2)>&amp;";

fn hostile_report() -> AuditReport {
    let finding = AuditFinding {
        id: EVIL.into(),
        aliases: vec![],
        module: EVIL.into(),
        installed: "v1".into(),
        fixed: vec!["2".into()],
        upgrade_to: Some(EVIL.into()),
        severity: "HIGH".into(),
        score: None,
        title: EVIL.into(),
        url: None,
        status: "affected".into(),
        reachability: "unknown".into(),
        symbols: vec![],
    };
    let artifacts = vec![AuditArtifact {
        at: Located {
            id: EVIL.into(),
            location: EVIL.into(),
            source: EVIL.into(),
            provider: EVIL.into(),
            version: Some(EVIL.into()),
            platform: Some(EVIL.into()),
            digest: EVIL.into(),
            used_by: vec![EVIL.into()],
        },
        result: ArtifactResult {
            executable_sha256: None,
            go_version: EVIL.into(),
            main_module: EVIL.into(),
            main_version: None,
            inventory: InventoryInfo {
                source: EVIL.into(),
                detail: EVIL.into(),
                drift: vec![DriftInfo {
                    kind: EVIL.into(),
                    detail: EVIL.into(),
                }],
                modules: 1,
            },
            provenance: Some(serde_json::json!({"origin": EVIL, "checks": [EVIL]})),
            counts: Default::default(),
            findings: vec![finding],
            policy: Some(PolicyResult {
                passed: false,
                violations: vec![AuditViolation {
                    rule: EVIL.into(),
                    id: EVIL.into(),
                    severity: "HIGH".into(),
                    level: EVIL.into(),
                    message: EVIL.into(),
                    fix: None,
                    waived: Some(EVIL.into()),
                    fails: false,
                }],
            }),
        },
    }];
    AuditReport {
        schema_version: SCHEMA_VERSION,
        kind: KIND.into(),
        tool: Tool {
            name: "provguard".into(),
            version: EVIL.into(),
        },
        generated_at: EVIL.into(),
        database: AuditDb {
            source: EVIL.into(),
            modified: Some(EVIL.into()),
            latest_go: Some(EVIL.into()),
        },
        policy: Some(PolicyInfo {
            name: EVIL.into(),
            source: EVIL.into(),
            hash: EVIL.into(),
        }),
        sources: vec![EVIL.into()],
        shard: None,
        cache: Default::default(),
        summary: Summary::of(&artifacts, true),
        artifacts,
    }
}

#[test]
fn every_outside_value_is_escaped() {
    let page = render(&hostile_report());
    assert!(!page.contains("<img"), "unescaped markup");
    assert!(!page.contains("<svg onload"), "unescaped markup");
    assert!(!page.contains("src=\"") && !page.contains("onerror=alert(1)>"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&amp;amp;"), "entities are escaped too");
    assert_eq!(page.matches("<svg ").count(), 3);
}

#[test]
fn markdown_cells_cannot_break_out() {
    let md =
        String::from_utf8(hostile_report().render(crate::report::audit::AuditFormat::Markdown))
            .unwrap();
    assert!(!md.contains("<img"));
}
