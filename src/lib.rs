//! provguard: a supply-chain scanner for OpenTofu/Terraform providers.
//!
//! The pipeline reads left to right, one module per stage:
//! [`source`] (where artifacts come from) → [`artifact`] (ZIPs, executables, provider naming) →
//! [`inventory`] (Go buildinfo → one inventory model) → [`analysis`] (vulnerabilities, policy) →
//! [`report`] (CycloneDX, SPDX, findings, gate reports); [`release`] is the outbound edge
//! (publishing providers and their SBOMs into registries).
//! [`pipeline`] joins the stages for one target; [`cli`] maps commands and exit codes.

pub mod analysis;
pub mod artifact;
pub mod cli;
pub mod inventory;
pub mod pipeline;
pub mod release;
pub mod report;
pub mod source;
