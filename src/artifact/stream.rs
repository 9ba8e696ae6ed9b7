//! Re-openable byte streams: the bytes of an executable, whether a file on disk or an entry inside
//! a ZIP that must be inflated again from its start for every pass.
//!
//! Consumers take a [`ByteSource`] and never learn which one they hold; they read forward only,
//! and ask for byte ranges in one batch ([`ByteSource::read_ranges`]) so that a ZIP entry is
//! inflated once per batch, not once per range.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Largest chunk moved at once by streaming readers.
pub const CHUNK: usize = 256 * 1024;

/// Bytes wanted from `start` on, filled as a stream passes by.
#[derive(Debug, Clone)]
pub struct Capture {
    pub start: u64,
    pub want: usize,
    pub data: Vec<u8>,
}

/// The most a buffer sized by a length read from the input reserves up front ([`Capture::feed`],
/// the symbol name index): such lengths come from headers that may lie, and room reserved but
/// never written costs no memory.
pub const RESERVE_CAP: usize = 32 << 20;

impl Capture {
    pub fn new(start: u64, want: usize) -> Self {
        Capture {
            start,
            want,
            data: Vec::new(),
        }
    }

    /// Take what this capture needs from `chunk`, which starts at absolute offset `pos`.
    pub fn feed(&mut self, pos: u64, chunk: &[u8]) {
        if self.data.len() >= self.want {
            return;
        }
        let next = self.start + self.data.len() as u64;
        let end = pos + chunk.len() as u64;
        if next < pos || next >= end {
            return;
        }
        let i = (next - pos) as usize;
        let n = (self.want - self.data.len()).min(chunk.len() - i);
        if self.data.capacity() == 0 {
            // Room for all of it at once (no copies as it grows), within reason: `want` may come
            // from a header that lies, and room never written costs nothing.
            self.data.reserve(self.want.min(RESERVE_CAP));
        }
        self.data.extend_from_slice(&chunk[i..i + n]);
    }

    pub fn complete(&self) -> bool {
        self.data.len() >= self.want
    }
}

/// Fill `buf` as far as the reader allows; returns the number of bytes read (0 at EOF).
pub fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// SHA-256 of everything `r` yields, streamed in [`CHUNK`]s.
pub fn sha256_reader(r: &mut dyn Read) -> io::Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = fill(r, &mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}

/// Read several byte ranges in one forward pass over a stream. Ranges past the end come back short.
pub fn capture_ranges(r: &mut dyn Read, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
    let mut caps: Vec<Capture> = ranges.iter().map(|&(s, n)| Capture::new(s, n)).collect();
    let last = ranges.iter().map(|&(s, n)| s + n as u64).max().unwrap_or(0);
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    while pos < last && !caps.iter().all(Capture::complete) {
        let n = fill(r, &mut buf)?;
        if n == 0 {
            break;
        }
        for c in &mut caps {
            c.feed(pos, &buf[..n]);
        }
        pos += n as u64;
    }
    Ok(caps.into_iter().map(|c| c.data).collect())
}

/// The bytes of one executable, readable from the start as often as needed.
pub trait ByteSource: Send + Sync {
    /// Run `f` on a fresh reader positioned at byte 0.
    fn with_reader(&self, f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>) -> io::Result<()>;

    /// The total length when it is known without reading (files, memory), so that readers can
    /// seek to what they need instead of streaming everything.
    fn known_len(&self) -> Option<u64> {
        None
    }

    /// Read byte ranges (clamped at the end of the data).
    fn read_ranges(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        self.with_reader(&mut |r| {
            out = capture_ranges(r, ranges)?;
            Ok(())
        })?;
        Ok(out)
    }

    /// Fill `buf` from absolute offset `at` (short at the end of the data); the number of bytes
    /// read. For reading many ranges without allocating one buffer per range.
    fn read_into(&self, at: u64, buf: &mut [u8]) -> io::Result<usize> {
        let got = self
            .read_ranges(&[(at, buf.len())])?
            .pop()
            .unwrap_or_default();
        buf[..got.len()].copy_from_slice(&got);
        Ok(got.len())
    }
}

/// A plain file on disk: ranges are read with seeks, not by streaming.
pub struct FileSource {
    pub path: PathBuf,
}

impl ByteSource for FileSource {
    fn known_len(&self) -> Option<u64> {
        std::fs::metadata(&self.path).ok().map(|m| m.len())
    }

    fn with_reader(&self, f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>) -> io::Result<()> {
        let mut file = File::open(&self.path)?;
        f(&mut file)
    }

    fn read_ranges(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        let mut file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        ranges
            .iter()
            .map(|&(start, n)| {
                if start >= len {
                    return Ok(Vec::new());
                }
                let n = n.min((len - start) as usize);
                let mut buf = vec![0u8; n];
                file.seek(SeekFrom::Start(start))?;
                file.read_exact(&mut buf)?;
                Ok(buf)
            })
            .collect()
    }

    fn read_into(&self, at: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(at))?;
        fill(&mut file, buf)
    }
}

/// An in-memory source, for tests and synthetic fixtures.
pub struct MemSource(pub Vec<u8>);

impl ByteSource for MemSource {
    fn known_len(&self) -> Option<u64> {
        Some(self.0.len() as u64)
    }

    fn with_reader(&self, f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>) -> io::Result<()> {
        f(&mut &self.0[..])
    }

    fn read_ranges(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        let len = self.0.len();
        Ok(ranges
            .iter()
            .map(|&(at, n)| {
                let s = usize::try_from(at).unwrap_or(len).min(len);
                self.0[s..s.saturating_add(n).min(len)].to_vec()
            })
            .collect())
    }

    fn read_into(&self, at: u64, buf: &mut [u8]) -> io::Result<usize> {
        let s = usize::try_from(at)
            .unwrap_or(self.0.len())
            .min(self.0.len());
        let n = buf.len().min(self.0.len() - s);
        buf[..n].copy_from_slice(&self.0[s..s + n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_one_pass() {
        let data: Vec<u8> = (0..=255u8).cycle().take(CHUNK * 3).collect();
        let got = capture_ranges(
            &mut &data[..],
            &[(10, 4), (CHUNK as u64 - 2, 4), (u64::MAX - 8, 4)],
        )
        .unwrap();
        assert_eq!(got[0], data[10..14]);
        assert_eq!(got[1], data[CHUNK - 2..CHUNK + 2]);
        assert!(got[2].is_empty());
    }
}
