//! Where artifacts come from. Today: local files and directories (a GoReleaser `dist/`, or a
//! filesystem mirror `HOST/NAMESPACE/TYPE/…` in packed or unpacked layout).

pub mod local;

pub use local::{Target, resolve};
