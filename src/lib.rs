//! provguard: a supply-chain scanner for OpenTofu/Terraform providers.
//!
//! The pipeline reads left to right, one module per stage:
//! [`source`] (where artifacts come from) → [`artifact`] (ZIPs, executables, provider naming) →
//! [`inventory`] (Go buildinfo → one inventory model) → [`report`] (CycloneDX, SPDX, table).
//! [`cli`] wires the stages to commands; [`error`] maps failures to exit codes.

pub mod artifact;
pub mod inventory;
