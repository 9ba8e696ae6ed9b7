//! The inventory: what is inside an artifact, as one model for every format.

pub mod gobin;
