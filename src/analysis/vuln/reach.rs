//! Reachability per finding, decided as govulncheck's binary mode decides it, from the functions
//! the binary contains (its pclntab, read by `inventory::symbols`, inlined functions included):
//!
//! - **present**: one of the advisory's affected imports (after GOOS/GOARCH filtering) names a
//!   function that is in the binary — or lists no functions and its package has any function in
//!   the binary (govulncheck: no symbols means "any symbol of the package"). The functions found
//!   are named.
//! - **absent**: every affected import was checked and none of its functions (or, for an import
//!   without a list, none of its package) is in the binary: the finding becomes `not_affected`
//!   with `vulnerable_code_not_present`, naming what was looked for.
//! - **unknown**: module level, said why — the advisory names no packages for this module, the
//!   binary's function table could not be read, symbols were switched off, or the inventory came
//!   from an SBOM without the binary.
//!
//! Names compare as the Go vulnerability database writes them (`pkg`, `F` or `T.M`, no pointer
//! receivers, no type arguments); `inventory::symbols` normalises the binary's names the same way.

use super::advisory::Affected;
use crate::inventory::symbols::ImageSymbols;
use crate::inventory::{FunctionTable, Inventory};

/// What the binary's function table says, for the decision.
pub trait SymbolLookup {
    /// Whether package `pkg` has function `symbol` (`F` or `T.M`).
    fn contains(&self, pkg: &str, symbol: &str) -> bool;
    /// Whether package `pkg` has any function in the binary.
    fn has_package(&self, pkg: &str) -> bool;
}

/// The symbol facts of one inventory: read, unreadable (and why), or not read (and why).
pub enum Symbols<'a> {
    Read(&'a dyn SymbolLookup),
    Unavailable(String),
    NotRead(String),
}

/// The symbol facts of `inv`'s binary.
pub fn symbols_of(inv: &Inventory) -> Symbols<'_> {
    match &inv.functions {
        FunctionTable::NotRead(why) => Symbols::NotRead(why.clone()),
        FunctionTable::Unreadable(why) => Symbols::Unavailable(why.clone()),
        FunctionTable::Read(t) => Symbols::Read(t.as_ref()),
    }
}

impl SymbolLookup for ImageSymbols {
    fn contains(&self, pkg: &str, symbol: &str) -> bool {
        ImageSymbols::contains(self, pkg, symbol)
    }

    fn has_package(&self, pkg: &str) -> bool {
        ImageSymbols::has_package(self, pkg)
    }
}

/// Whether an advisory's vulnerable code is in the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reachability {
    /// These vulnerable functions (`pkg.F`, or `pkg.*` for a whole package) are in the binary.
    Present { found: Vec<String> },
    /// None of these (looked for) is.
    Absent { looked_for: Vec<String> },
    /// Not decided at symbol level, and why.
    Unknown { reason: String },
    /// Not looked at (symbols off, no binary, or not applicable), and why.
    NotChecked { reason: String },
}

impl Reachability {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reachability::Present { .. } => "present",
            Reachability::Absent { .. } => "absent",
            Reachability::Unknown { .. } | Reachability::NotChecked { .. } => "unknown",
        }
    }

    /// The functions found (present) or looked for (absent).
    pub fn symbols(&self) -> &[String] {
        match self {
            Reachability::Present { found } => found,
            Reachability::Absent { looked_for } => looked_for,
            Reachability::Unknown { .. } | Reachability::NotChecked { .. } => &[],
        }
    }

    pub fn unknown(reason: impl Into<String>) -> Reachability {
        Reachability::Unknown {
            reason: reason.into(),
        }
    }

    pub fn not_checked(reason: impl Into<String>) -> Reachability {
        Reachability::NotChecked {
            reason: reason.into(),
        }
    }

    /// Why it is unknown, when it is.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Reachability::Unknown { reason } | Reachability::NotChecked { reason } => Some(reason),
            _ => None,
        }
    }
}

/// Decide for the `hits` (the advisory's affected entries that contain the installed version)
/// on a binary built for `goos`/`goarch`.
pub fn decide(
    hits: &[&Affected],
    goos: Option<&str>,
    goarch: Option<&str>,
    symbols: &Symbols,
) -> Reachability {
    let table = match symbols {
        Symbols::Read(t) => *t,
        Symbols::Unavailable(why) => return Reachability::unknown(why.clone()),
        Symbols::NotRead(why) => return Reachability::not_checked(why.clone()),
    };
    if hits.iter().any(|a| a.imports.is_empty()) {
        return Reachability::unknown(
            "the advisory names no packages for this module: module-level match",
        );
    }
    let mut found = Vec::new();
    let mut looked_for = Vec::new();
    for import in hits
        .iter()
        .flat_map(|a| a.imports.iter())
        .filter(|i| i.applies_to(goos, goarch))
    {
        if import.symbols.is_empty() {
            let all = format!("{}.*", import.path);
            if table.has_package(&import.path) {
                found.push(all);
            } else {
                looked_for.push(all);
            }
            continue;
        }
        for s in &import.symbols {
            let name = format!("{}.{s}", import.path);
            if table.contains(&import.path, s) {
                found.push(name);
            } else {
                looked_for.push(name);
            }
        }
    }
    found.sort();
    found.dedup();
    looked_for.sort();
    looked_for.dedup();
    if !found.is_empty() {
        Reachability::Present { found }
    } else if looked_for.is_empty() {
        // Every import was for another platform: the platform rule already says not affected.
        Reachability::unknown("no import of the advisory applies to this platform")
    } else {
        Reachability::Absent { looked_for }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::vuln::advisory::Import;
    use std::collections::BTreeSet;

    struct Table(BTreeSet<(String, String)>);

    impl SymbolLookup for Table {
        fn contains(&self, pkg: &str, symbol: &str) -> bool {
            self.0.contains(&(pkg.to_string(), symbol.to_string()))
        }
        fn has_package(&self, pkg: &str) -> bool {
            self.0.iter().any(|(p, _)| p == pkg)
        }
    }

    fn table(entries: &[(&str, &str)]) -> Table {
        Table(
            entries
                .iter()
                .map(|(p, s)| (p.to_string(), s.to_string()))
                .collect(),
        )
    }

    fn affected(imports: Vec<Import>) -> Affected {
        Affected {
            package: "golang.org/x/net".into(),
            ranges: Vec::new(),
            versions: Vec::new(),
            imports,
        }
    }

    fn import(path: &str, symbols: &[&str], goos: &[&str]) -> Import {
        Import {
            path: path.into(),
            goos: goos.iter().map(|s| s.to_string()).collect(),
            goarch: Vec::new(),
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn present_absent_unknown() {
        let t = table(&[
            ("golang.org/x/net/html", "Parse"),
            ("golang.org/x/net/http2", "Framer.ReadFrame"),
        ]);
        let s = Symbols::Read(&t);
        let a = affected(vec![import(
            "golang.org/x/net/html",
            &["Parse", "ParseFragment"],
            &[],
        )]);
        assert_eq!(
            decide(&[&a], Some("linux"), Some("amd64"), &s),
            Reachability::Present {
                found: vec!["golang.org/x/net/html.Parse".into()]
            }
        );
        let a = affected(vec![
            import("golang.org/x/net/html", &["Render"], &[]),
            import("golang.org/x/net/http2/h2c", &[], &[]),
        ]);
        assert_eq!(
            decide(&[&a], Some("linux"), Some("amd64"), &s),
            Reachability::Absent {
                looked_for: vec![
                    "golang.org/x/net/html.Render".into(),
                    "golang.org/x/net/http2/h2c.*".into()
                ]
            }
        );
        // No symbol list: any function of a present package counts.
        let a = affected(vec![import("golang.org/x/net/http2", &[], &[])]);
        assert_eq!(decide(&[&a], None, None, &s).as_str(), "present");
        // An entry without imports is module level.
        let a = affected(vec![]);
        assert_eq!(decide(&[&a], None, None, &s).as_str(), "unknown");
        // Imports for another platform only are not looked at.
        let a = affected(vec![import(
            "golang.org/x/net/html",
            &["Parse"],
            &["windows"],
        )]);
        assert_eq!(
            decide(&[&a], Some("linux"), Some("amd64"), &s).as_str(),
            "unknown"
        );
        assert_eq!(
            decide(&[&a], Some("windows"), Some("amd64"), &s).as_str(),
            "present"
        );
        let u = Symbols::Unavailable("no function table: truncated".into());
        assert_eq!(
            decide(&[&a], None, None, &u),
            Reachability::unknown("no function table: truncated")
        );
    }
}
