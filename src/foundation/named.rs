//! Enums users name on the command line or in files (`--format sarif`, `--sbom-source auto`):
//! each lists its values once, with their names and a line of help. The CLI turns them into
//! clap value enums (`cli/`), so domain modules stay free of clap.

/// A closed set of named values.
pub trait Named: Copy + Sized + 'static {
    /// Every value, in the order help lists them.
    const ALL: &'static [Self];

    /// The name users write.
    fn name(&self) -> &'static str;

    /// One line of help.
    fn help(&self) -> &'static str {
        ""
    }

    /// The value named `s`.
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == s)
    }
}
