//! The whole Go-image reader (headers, buildinfo search, both buildinfo formats, modinfo) on an
//! in-memory source, both seekable and streamed.
#![no_main]
use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use provguard::artifact::stream::{ByteSource, MemSource};
use provguard::inventory::gobin::{self, ReadOptions};

/// Bytes that can only be streamed, as a ZIP entry is.
struct Streamed<'a>(&'a [u8]);

impl ByteSource for Streamed<'_> {
    fn with_reader(&self, f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>) -> io::Result<()> {
        let mut r = self.0;
        f(&mut r)
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = gobin::read(&MemSource(data.to_vec()), ReadOptions { hash: false });
    let _ = gobin::read(&Streamed(data), ReadOptions { hash: true });
});
