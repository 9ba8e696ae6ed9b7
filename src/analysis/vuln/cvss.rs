//! CVSS base scores from vector strings (v3.0, v3.1, v4.0), and the qualitative severity scale
//! shared by every report.

use std::fmt;

/// Qualitative severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// The SARIF `security-severity` score standing for this level when there is no CVSS
    /// score: the middle of GitHub's band (critical over 9.0, high 7.0–8.9, medium 4.0–6.9,
    /// low 0.1–3.9), so it never lands on a boundary. Every SARIF writer uses this one table.
    pub fn sarif_score(&self) -> f64 {
        match self {
            Severity::Critical => 9.5,
            Severity::High => 8.0,
            Severity::Medium => 5.5,
            Severity::Low => 2.0,
            Severity::Unknown => 0.0,
        }
    }

    /// GHSA/OSV words (`MODERATE` is GitHub's MEDIUM).
    pub fn from_word(w: &str) -> Option<Severity> {
        Some(match w.to_ascii_uppercase().as_str() {
            "CRITICAL" => Severity::Critical,
            "HIGH" => Severity::High,
            "MEDIUM" | "MODERATE" => Severity::Medium,
            "LOW" => Severity::Low,
            "UNKNOWN" => Severity::Unknown,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The base score of a `CVSS:3.0/…`, `CVSS:3.1/…` or `CVSS:4.0/…` vector (rustsec's `cvss`
/// crate does the arithmetic: v3.1 section 7, v4.0 MacroVector scoring); `None` when the vector
/// does not parse.
pub fn base_score(vector: &str) -> Option<f64> {
    use std::str::FromStr;
    if vector.starts_with("CVSS:4.0/") {
        cvss::v4::Vector::from_str(vector)
            .ok()
            .map(|v| v.score().value())
    } else if vector.starts_with("CVSS:3.") {
        cvss::v3::Vector::from_str(vector)
            .ok()
            .map(|v| v.score().value())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvd_scores() {
        // Scores as NVD publishes them for these CVEs.
        for (v, s) in [
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N", 5.9), // CVE-2023-48795
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", 9.1), // CVE-2024-45337
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5), // CVE-2023-39325
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N", 6.5), // CVE-2023-29406
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8), // CVE-2024-24790
            ("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            ("CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ] {
            assert_eq!(base_score(v), Some(s), "{v}");
        }
        // CVSS v4.0: the specification's all-high network example.
        assert_eq!(
            base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(9.3)
        );
        assert_eq!(base_score("CVSS:4.0/AV:N"), None);
        assert_eq!(base_score("CVSS:3.1/AV:X/AC:L"), None);
        assert_eq!(base_score("CVSS:2.0/AV:N"), None);
        assert_eq!(Severity::from_score(5.9), Severity::Medium);
        assert_eq!(Severity::from_score(9.1), Severity::Critical);
    }
}
