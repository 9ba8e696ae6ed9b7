//! Analysis: what an inventory means: known vulnerabilities ([`vuln`]) and the policy of the
//! pre-merge gate ([`policy`]).
//! Every analysis reads the [`Inventory`](crate::inventory::Inventory) model and produces findings;
//! none of them knows a report format.

pub mod policy;
pub mod vuln;
