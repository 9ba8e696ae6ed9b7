//! The one progress bar style (indicatif): `PREFIX [=====>   ] pos/len msg` on stderr when
//! `show` (a terminal, not `--quiet`), hidden otherwise.

/// A bar of `len` steps named `prefix`; hidden unless `show`.
pub fn bar(len: u64, show: bool, prefix: &'static str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(prefix);
    pb
}
