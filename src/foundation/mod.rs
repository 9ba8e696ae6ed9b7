//! The foundation every layer may use, and which uses no other layer: RFC 3339 time
//! ([`time`]), semantic versions and tofu's version constraints ([`version`]), and where
//! provguard keeps its caches ([`dirs`]), a bounded worker pool ([`pool`]) and the progress bar ([`progress`]).

pub mod dirs;
pub mod named;
pub mod pool;
pub mod progress;
pub mod time;
pub mod version;
