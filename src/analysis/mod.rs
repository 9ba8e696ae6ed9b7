//! Analysis: what an inventory means. Today: known vulnerabilities ([`vuln`]).
//! Every analysis reads the [`Inventory`](crate::inventory::Inventory) model and produces findings;
//! none of them knows a report format.

pub mod vuln;
