//! The single streaming pass over an executable: SHA-256 of every byte, the header area of each
//! image, and every 16-byte-aligned occurrence of the buildinfo magic with the bytes after it.
//!
//! Reading (inflating, for a ZIP entry) runs on the calling thread; hashing and scanning run on a
//! scoped worker, fed through a small ring of recycled buffers; whenever no buffer is waiting, the
//! worker does deferred work in small steps (the caller's idle work, then the sink's), so two
//! threads keep two cores busy. Memory stays bounded by `CHUNK * IN_FLIGHT` plus the captures,
//! whatever the size of the binary.

use std::io::{self, Read};
use std::sync::mpsc;

use memchr::memmem;
use sha2::{Digest, Sha256};

use super::exe::{self, HEAD_LEN, Layout};
use crate::artifact::stream::{ByteSource, CHUNK, Capture, fill};

/// `"\xff Go buildinf:"`, the start of the 32-byte buildinfo header.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// How many bytes after a magic hit are kept (header + version + modinfo).
pub const HIT_CAPTURE: usize = 1 << 20;
/// At most this many hits are kept (a hostile file could repeat the magic everywhere).
pub const MAX_HITS: usize = 8;

const IN_FLIGHT: usize = 4;

/// What one pass over an executable found.
#[derive(Debug)]
pub struct FirstPass {
    pub len: u64,
    /// SHA-256 of every byte, when it was computed.
    pub sha256: Option<String>,
    /// The first [`HEAD_LEN`] bytes.
    pub head: Vec<u8>,
    /// Heads of universal Mach-O slices, when the file is one.
    pub slice_heads: Vec<Capture>,
    /// Buildinfo magic hits at 16-byte-aligned offsets, each with up to [`HIT_CAPTURE`] bytes.
    pub hits: Vec<Capture>,
    /// False when only the data window was scanned (the header named one).
    pub scanned_all: bool,
}

struct Scanner {
    pos: u64,
    /// `None` when nobody wants the SHA-256 (it is most of a bare binary's scanning cost).
    hasher: Option<Sha256>,
    head: Vec<u8>,
    slice_heads: Option<Vec<Capture>>,
    hits: Vec<Capture>,
    tail: Vec<u8>,
    finder: memmem::Finder<'static>,
    /// Once the header is read: the only byte range worth scanning (a thin image's data
    /// window, where Go's own reader looks). `None` = scan everything.
    window: Option<(u64, u64)>,
    full_scan: bool,
}

impl Scanner {
    fn new(full_scan: bool, hash: bool) -> Self {
        Scanner {
            window: None,
            full_scan,
            pos: 0,
            hasher: hash.then(Sha256::new),
            head: Vec::with_capacity(HEAD_LEN),
            slice_heads: None,
            hits: Vec::new(),
            tail: Vec::with_capacity(MAGIC.len()),
            finder: memmem::Finder::new(MAGIC),
        }
    }

    fn register_slices(&mut self) {
        if self.slice_heads.is_some() {
            return;
        }
        let mut caps = Vec::new();
        match exe::detect(&self.head) {
            Ok(Layout::Fat(arches)) => {
                for a in arches {
                    let mut c = Capture::new(a.offset, HEAD_LEN.min(a.size as usize));
                    // Bytes already passed are all in the head.
                    c.feed(0, &self.head);
                    caps.push(c);
                }
            }
            Ok(Layout::Thin(img)) if !self.full_scan => self.window = img.data_window,
            _ => {}
        }
        self.slice_heads = Some(caps);
    }

    fn add_hit(&mut self, at: u64) {
        if !at.is_multiple_of(16) || self.hits.len() >= MAX_HITS {
            return;
        }
        self.hits.push(Capture::new(at, HIT_CAPTURE));
    }

    fn feed(&mut self, chunk: &[u8]) {
        if let Some(h) = self.hasher.as_mut() {
            h.update(chunk);
        }
        if self.head.len() < HEAD_LEN {
            let n = (HEAD_LEN - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..n]);
            if self.head.len() == HEAD_LEN {
                self.register_slices();
            }
        }
        let pos = self.pos;
        if let Some(caps) = self.slice_heads.as_mut() {
            for c in caps {
                c.feed(pos, chunk);
            }
        }
        for h in &mut self.hits {
            h.feed(pos, chunk);
        }
        // A magic that straddles the previous chunk and this one.
        if !self.tail.is_empty() {
            let mut joint = self.tail.clone();
            joint.extend_from_slice(&chunk[..chunk.len().min(MAGIC.len() - 1)]);
            let tail_start = pos - self.tail.len() as u64;
            if let Some(j) = self.finder.find(&joint).filter(|&j| j < self.tail.len()) {
                let at = tail_start + j as u64;
                let before = self.hits.len();
                self.add_hit(at);
                if self.hits.len() > before {
                    let h = self.hits.last_mut().expect("just pushed");
                    h.feed(tail_start, &self.tail);
                    h.feed(pos, chunk);
                }
            }
        }
        // Only the part of the chunk inside the data window, once that is known.
        let (lo, hi) = match self.window {
            Some((ws, we)) => {
                let end = pos + chunk.len() as u64;
                let lo = ws.clamp(pos, end);
                let hi = (we + MAGIC.len() as u64).clamp(lo, end);
                ((lo - pos) as usize, (hi - pos) as usize)
            }
            None => (0, chunk.len()),
        };
        let mut found = Vec::new();
        for i in self.finder.find_iter(&chunk[lo..hi]) {
            found.push(pos + (lo + i) as u64);
        }
        for at in found {
            let before = self.hits.len();
            self.add_hit(at);
            if self.hits.len() > before {
                self.hits.last_mut().expect("just pushed").feed(pos, chunk);
            }
        }
        let keep = chunk.len().min(MAGIC.len() - 1);
        self.tail.clear();
        self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        self.pos += chunk.len() as u64;
    }

    fn finish(mut self) -> FirstPass {
        self.register_slices();
        FirstPass {
            len: self.pos,
            sha256: self.hasher.map(|h| hex::encode(h.finalize())),
            head: self.head,
            slice_heads: self.slice_heads.unwrap_or_default(),
            hits: self.hits,
            scanned_all: self.window.is_none(),
        }
    }
}

/// Work the scanning thread does whenever no chunk is waiting (e.g. hashing the ZIP file for its
/// `zh:`), so that two threads keep two cores busy instead of three threads fighting for them.
/// Each call does one small step and says whether more remains.
pub type IdleWork<'a> = &'a mut (dyn FnMut() -> io::Result<bool> + Send);

/// Stream `r` to its end once, hashing and scanning on a worker thread.
///
/// With `full_scan` false, the magic is looked for only inside the data window that the header
/// names (after the first [`HEAD_LEN`] bytes); the caller rescans in full if that finds nothing.
pub fn first_pass(
    r: &mut dyn Read,
    full_scan: bool,
    idle: Option<IdleWork<'_>>,
) -> io::Result<FirstPass> {
    first_pass_with(r, full_scan, true, idle, None)
}

/// Something else that wants every byte of the same pass (the symbol collector), fed on the
/// scanning thread in stream order, so that a ZIP entry is inflated once for both.
pub trait ChunkSink: Send {
    fn feed(&mut self, chunk: &[u8]);

    /// One small step of work the sink deferred, done while no chunk is waiting; `true` if there
    /// was some (the scanning thread then checks for a chunk and comes back).
    fn idle_step(&mut self) -> bool {
        false
    }
}

/// [`first_pass`], also feeding every chunk to `sink`; `hash` false leaves the SHA-256 out.
pub fn first_pass_with(
    r: &mut dyn Read,
    full_scan: bool,
    hash: bool,
    mut idle: Option<IdleWork<'_>>,
    mut sink: Option<&mut dyn ChunkSink>,
) -> io::Result<FirstPass> {
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(IN_FLIGHT);
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
    for _ in 0..IN_FLIGHT {
        free_tx.send(vec![0u8; CHUNK]).expect("channel has room");
    }
    std::thread::scope(|s| {
        let worker = s.spawn(move || -> io::Result<FirstPass> {
            let mut sc = Scanner::new(full_scan, hash);
            loop {
                let msg = match full_rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(mpsc::TryRecvError::Disconnected) => None,
                    // Nothing waiting: the caller's idle work, then the sink's, then sleep.
                    Err(mpsc::TryRecvError::Empty) => {
                        if let Some(work) = idle.as_mut() {
                            if !work()? {
                                idle = None;
                            }
                            continue;
                        }
                        if sink.as_mut().is_some_and(|s| s.idle_step()) {
                            continue;
                        }
                        full_rx.recv().ok()
                    }
                };
                let Some((buf, n)) = msg else { break };
                sc.feed(&buf[..n]);
                if let Some(sink) = sink.as_mut() {
                    sink.feed(&buf[..n]);
                }
                // The reader may already be gone after an error; nothing to recycle then.
                let _ = free_tx.send(buf);
            }
            if let Some(work) = idle {
                while work()? {}
            }
            Ok(sc.finish())
        });
        let mut result = Ok(());
        while let Ok(mut buf) = free_rx.recv() {
            match fill(r, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if full_tx.send((buf, n)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(full_tx);
        let pass = worker
            .join()
            .map_err(|_| io::Error::other("scanner thread panicked"))?;
        result.and(pass)
    })
}

/// Go's own strategy for sources that can seek: read the headers, then only the data window of
/// each image in 1 MiB steps until the aligned magic turns up. `None` when the headers do not
/// parse or no window holds the magic — the caller then streams the whole file instead.
pub fn seek_pass(src: &dyn ByteSource, len: u64) -> io::Result<Option<FirstPass>> {
    const STEP: u64 = 1 << 20;
    let head = src.read_ranges(&[(0, HEAD_LEN)])?.pop().unwrap_or_default();
    let (images, slice_heads) = match exe::detect(&head) {
        Ok(Layout::Thin(img)) => (vec![img], Vec::new()),
        Ok(Layout::Fat(arches)) => {
            let ranges: Vec<(u64, usize)> = arches
                .iter()
                .map(|a| (a.offset, HEAD_LEN.min(a.size as usize)))
                .collect();
            let heads = src.read_ranges(&ranges)?;
            let mut imgs = Vec::new();
            let mut caps = Vec::new();
            for ((start, want), data) in ranges.into_iter().zip(heads) {
                match exe::parse_thin(&data, start) {
                    Ok(img) => imgs.push(img),
                    Err(_) => return Ok(None),
                }
                caps.push(Capture { start, want, data });
            }
            (imgs, caps)
        }
        Err(_) => return Ok(None),
    };
    let finder = memmem::Finder::new(MAGIC);
    let mut hits = Vec::new();
    for img in &images {
        let Some((s, e)) = img.data_window else {
            continue;
        };
        let (start, end) = (img.offset + s, (img.offset + e).min(len));
        let mut pos = start;
        'window: while pos < end {
            let n = STEP.min(end - pos) as usize + MAGIC.len() - 1;
            let chunk = src.read_ranges(&[(pos, n)])?.pop().unwrap_or_default();
            for i in finder.find_iter(&chunk) {
                let at = pos + i as u64;
                if at.is_multiple_of(16) && at < end {
                    let data = src
                        .read_ranges(&[(at, HIT_CAPTURE)])?
                        .pop()
                        .unwrap_or_default();
                    hits.push(Capture {
                        start: at,
                        want: HIT_CAPTURE,
                        data,
                    });
                    break 'window;
                }
            }
            pos += STEP;
        }
    }
    if hits.is_empty() {
        return Ok(None);
    }
    Ok(Some(FirstPass {
        len,
        sha256: None,
        head,
        slice_heads,
        hits,
        scanned_all: false,
    }))
}

/// SHA-256 of a whole source, streamed.
pub fn hash_source(src: &dyn ByteSource) -> io::Result<String> {
    let mut sum = [0u8; 32];
    src.with_reader(&mut |r| {
        sum = crate::artifact::stream::sha256_reader(r)?;
        Ok(())
    })?;
    Ok(hex::encode(sum))
}

/// Does the stream contain any of the markers every Go toolchain leaves in an executable?
/// Used only to tell "not Go" from "Go without buildinfo" on the error path.
pub fn has_go_markers(r: &mut dyn Read) -> io::Result<bool> {
    let needles: [&[u8]; 4] = [
        b"\xff Go build ID: \"",
        b"go:buildid",
        b"go.buildid",
        b"runtime.gopanic",
    ];
    let finders: Vec<memmem::Finder> = needles.iter().map(memmem::Finder::new).collect();
    let overlap = needles.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut buf = vec![0u8; CHUNK + overlap];
    let mut kept = 0;
    loop {
        let n = fill(r, &mut buf[kept..])?;
        if n == 0 {
            return Ok(false);
        }
        let have = kept + n;
        if finders.iter().any(|f| f.find(&buf[..have]).is_some()) {
            return Ok(true);
        }
        kept = have.min(overlap);
        buf.copy_within(have - kept..have, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader handing out at most `step` bytes per call, to exercise chunk boundaries.
    struct Dribble<'a> {
        data: &'a [u8],
        step: usize,
    }
    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn finds_aligned_magic_across_chunk_boundary_and_hashes() {
        let mut data = vec![0u8; CHUNK * 2];
        let at = CHUNK - 16; // straddles the first chunk boundary
        data[at..at + MAGIC.len()].copy_from_slice(MAGIC);
        data[at + 14] = 8;
        let unaligned = CHUNK + 1000 + 3;
        data[unaligned..unaligned + MAGIC.len()].copy_from_slice(MAGIC);
        let mut calls = 0;
        let mut idle = || {
            calls += 1;
            Ok(calls < 3)
        };
        let pass = first_pass(
            &mut Dribble {
                data: &data,
                step: 7777,
            },
            true,
            Some(&mut idle),
        )
        .unwrap();
        assert_eq!(calls, 3, "idle work runs to completion");
        assert_eq!(pass.len, data.len() as u64);
        assert_eq!(pass.hits.len(), 1);
        assert_eq!(pass.hits[0].start, at as u64);
        assert_eq!(&pass.hits[0].data[..14], MAGIC);
        assert_eq!(pass.hits[0].data[14], 8);
        assert_eq!(pass.sha256, Some(hex::encode(Sha256::digest(&data))));
        assert_eq!(pass.head.len(), HEAD_LEN);
    }

    #[test]
    fn go_markers() {
        let mut data = vec![1u8; CHUNK * 2 + 50];
        data[CHUNK * 2..].fill(2);
        assert!(!has_go_markers(&mut &data[..]).unwrap());
        data[CHUNK * 2 + 13..CHUNK * 2 + 23].copy_from_slice(b"go:buildid");
        assert!(has_go_markers(&mut &data[..]).unwrap());
    }
}
