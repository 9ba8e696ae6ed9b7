//! Version strings: semver, OSV ranges, tofu constraints, Go toolchain versions, `-ldflags`,
//! purls, RFC 3339. Input: lines.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::analysis::vuln::version::{Event, Range, Version};
use provguard::inventory::sbom_in::parse_golang_purl;
use provguard::inventory::version::{stdlib_semver, version_from_ldflags};
use provguard::report::time::{parse_rfc3339, rfc3339};
use provguard::foundation::version::Constraint;
use provguard::registry::tags::resolve;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let versions: Vec<Version> = lines.iter().filter_map(|l| Version::parse(l)).collect();
    for w in versions.windows(2) {
        let _ = w[0].cmp(&w[1]);
    }
    let events = versions
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { Event::Introduced(Some(v.clone())) } else { Event::Fixed(v.clone()) })
        .collect();
    let range = Range::new(events);
    for l in &lines {
        let _ = stdlib_semver(l);
        let _ = version_from_ldflags(l, "example.com/m");
        let _ = parse_golang_purl(l);
        if let Some(t) = parse_rfc3339(l) {
            let _ = rfc3339(t);
        }
        if let Ok(c) = Constraint::parse(l) {
            for v in &versions {
                let _ = c.allows(v) && range.contains(v);
            }
            let tags: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let _ = resolve(&tags, &c);
        }
    }
});
