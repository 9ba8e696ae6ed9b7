//! The Go function-table reader (`inventory::symbols`: pclntab headers of every format, the
//! function table, names, inline trees, moduledata search) on an in-memory source: read by
//! offset (the ranged path of bare files: section plan, gaps), streamed, and together with
//! buildinfo as a scan reads it (both ways); and fed in uneven pieces with the deferred name
//! indexing run between them, as the scanning thread runs it when it waits for bytes.
#![no_main]
use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use provguard::artifact::stream::{ByteSource, MemSource};
use provguard::inventory::gobin::ReadOptions;
use provguard::inventory::symbols;

/// Bytes that can only be streamed, as a ZIP entry is.
struct Streamed<'a>(&'a [u8]);

impl ByteSource for Streamed<'_> {
    fn with_reader(&self, f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>) -> io::Result<()> {
        let mut r = self.0;
        f(&mut r)
    }
}

fuzz_target!(|data: &[u8]| {
    let mem = MemSource(data.to_vec());
    let _ = symbols::read_ranged(&mem);
    let _ = symbols::read_streamed(&mem);
    let _ = symbols::read_with_buildinfo(&mem, ReadOptions { hash: true }, None);
    let _ = symbols::read_with_buildinfo(&Streamed(data), ReadOptions { hash: false }, None);
    let mut col = symbols::Collector::new();
    let piece = 1 + data.first().map_or(0, |b| usize::from(*b)) * 37;
    for chunk in data.chunks(piece) {
        col.feed(chunk);
        while col.idle_step() {}
    }
    let _ = symbols::finish(col, &mem);
});
