//! Unit tests on synthetic tables: header checks, hostile counts and offsets, pc-value decoding.

use super::table::{self, TableVersion};
