//! Where artifacts and data come from: local files and directories (a GoReleaser `dist/`, or a
//! filesystem mirror `HOST/NAMESPACE/TYPE/…` in packed or unpacked layout), and the offline
//! vulnerability database fetched over HTTP ([`vulndb`]), and lock files pinning providers
//! ([`lockfile`]). Network access lives here only.

pub mod local;
pub mod lockfile;
pub mod oci;
pub mod vulndb;

pub use local::{Target, resolve};
