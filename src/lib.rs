//! provguard: a supply-chain scanner for OpenTofu/Terraform providers.
//!
//! The layers, lowest first (each may import only the ones before it; `ARCHITECTURE.md` says
//! what each owns): [`foundation`] (time, versions, cache directories) → [`registry`] (the OCI
//! client: transport, typed errors, referrers, provider index) → [`artifact`] (ZIPs,
//! executables, provider naming) → [`source`] (where artifacts come from) → [`inventory`] (Go
//! buildinfo and ingested SBOMs → one inventory model) → [`analysis`] (vulnerabilities, policy)
//! → [`report`] (CycloneDX, SPDX, findings, gate reports) → [`release`] (the outbound edge:
//! publishing and mirroring into registries) → [`engine`] (the scan and the gate as library
//! components) → [`cli`] (flags, rendering choices, exit codes).

pub mod analysis;
pub mod artifact;
pub mod cli;
pub mod engine;
pub mod foundation;
pub mod inventory;
pub mod registry;
pub mod release;
pub mod report;
pub mod source;
