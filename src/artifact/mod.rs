//! The artifact: what the bytes of a target are. A provider ZIP (with the executable picked the
//! way tofu picks it) or a bare executable, its provider naming, and a re-openable stream of the
//! executable's bytes.

pub mod stream;
