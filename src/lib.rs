//! provguard: a supply-chain scanner for OpenTofu/Terraform providers.
//!
//! The pipeline reads left to right, one module per stage:
//! [`source`] (where artifacts come from) → [`artifact`] (ZIPs, executables, provider naming) →
//! [`inventory`] (Go buildinfo → one inventory model) → [`report`] (CycloneDX, SPDX, table).
//! [`pipeline`] joins the stages for one target; [`cli`] maps commands and exit codes.

pub mod analysis;
pub mod artifact;
pub mod cli;
pub mod inventory;
pub mod pipeline;
pub mod report;
pub mod source;
