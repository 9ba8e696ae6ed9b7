//! The streaming side: fed every chunk of one forward pass over an executable (the same pass that
//! hashes it and finds its buildinfo), it keeps only what the symbol set needs.
//!
//! - the head of each image (program/section headers, load commands) and, for ELF, the section
//!   header table and `.shstrtab` wherever they are;
//! - every 4-byte-aligned pclntab magic (`magic 00 00`, either byte order) whose header passes the
//!   structure checks becomes a *candidate*; for it, on 1.16+ tables, only `funcnametab`, the
//!   function table and 8 bytes of each `_func` record (entry and name offset) are kept — not the
//!   pc-value tables, file tables or anything else. On the 1.2 format (names are scattered through
//!   the table) the table is kept up to the end of its segment, and the inline trees, which live
//!   elsewhere, take one more ranged pass at the end;
//! - for each candidate, pointer-aligned words equal to the table's virtual address, with the
//!   bytes after them: the runtime's `moduledata` starts with that pointer ([`md_ok`] checks it).
//!
//! Memory is bounded by those regions (a few percent of a 1.16+ binary) and never by a count read
//! from the file: captures grow only with bytes that really went by.

use memchr::memmem;

use super::sections::{self, ElfShdrs, Section};
use super::table::{self, Header, TableVersion};
use crate::artifact::stream::Capture;
use crate::inventory::gobin::exe::{self, HEAD_LEN, Image, Layout};

/// At most this many candidates are followed at once.
const MAX_LIVE: usize = 4;
/// moduledata hits kept per candidate, and the bytes kept after each (past `textsectmap`).
const MAX_MD_HITS: usize = 8;
const MD_LEN: usize = 0x180;
const MAX_SHSTRTAB: usize = 64 * 1024;
/// The previous chunk's last bytes, for needles straddling two chunks.
const TAIL: usize = 8;

/// One image as the collector tracks it.
pub(crate) struct ImgState {
    pub img: Image,
    pub end: u64,
    pub macho: Vec<Section>,
    elf: Option<ElfState>,
}

struct ElfState {
    sh: ElfShdrs,
    shdrs: Capture,
    before: Capture,
    strtab: Option<Capture>,
}

/// A moduledata search: aligned words equal to `needle` (the table's address).
pub(crate) struct MdSearch {
    needle: Vec<u8>,
    finder: memmem::Finder<'static>,
    align: u64,
    img_off: u64,
    pub va: u64,
    pub hits: Vec<Capture>,
}

impl MdSearch {
    fn new(va: u64, img: &Image) -> MdSearch {
        let needle = match (img.ptr_size, img.big_endian) {
            (8, false) => va.to_le_bytes().to_vec(),
            (8, true) => va.to_be_bytes().to_vec(),
            (_, false) => (va as u32).to_le_bytes().to_vec(),
            (_, true) => (va as u32).to_be_bytes().to_vec(),
        };
        MdSearch {
            finder: memmem::Finder::new(&needle).into_owned(),
            needle,
            align: u64::from(img.ptr_size),
            img_off: img.offset,
            va,
            hits: Vec::new(),
        }
    }

    fn feed(&mut self, tail_start: u64, tail: &[u8], pos: u64, chunk: &[u8]) {
        for at in find_all(
            &self.finder,
            self.needle.len(),
            tail_start,
            tail,
            pos,
            chunk,
        ) {
            if self.hits.len() < MAX_MD_HITS && (at - self.img_off).is_multiple_of(self.align) {
                let mut c = Capture::new(at, MD_LEN);
                c.feed(tail_start, tail);
                self.hits.push(c);
            }
        }
        for h in &mut self.hits {
            h.feed(pos, chunk);
        }
    }
}

/// Small fixed-width reads at sorted absolute offsets (`_func` heads), in stream order.
pub(crate) struct Picks {
    offs: Vec<u64>,
    width: usize,
    next: usize,
    cur: Vec<u8>,
    pub got: Vec<u8>,
    pub lost: bool,
}

impl Picks {
    fn feed(&mut self, pos: u64, chunk: &[u8]) {
        let end = pos + chunk.len() as u64;
        while self.next < self.offs.len() && !self.lost {
            let a = self.offs[self.next] + self.cur.len() as u64;
            if a >= end {
                break;
            }
            if a < pos {
                self.lost = true;
                break;
            }
            let i = (a - pos) as usize;
            let n = (self.width - self.cur.len()).min(chunk.len() - i);
            self.cur.extend_from_slice(&chunk[i..i + n]);
            if self.cur.len() == self.width {
                self.got.append(&mut self.cur);
                self.next += 1;
            }
        }
    }

    pub fn complete(&self) -> bool {
        self.next == self.offs.len() && !self.lost
    }

    /// The bytes picked at absolute offset `at`.
    pub fn at(&self, at: u64) -> Option<&[u8]> {
        let i = self.offs.binary_search(&at).ok()?;
        self.got.get(i * self.width..(i + 1) * self.width)
    }
}

/// The name set being built from a complete `funcnametab`, in the scanning thread's idle moments
/// ([`Collector::idle_step`]).
pub(crate) type Building = super::set::NameBuilder;

pub(crate) enum Stage {
    Header,
    Modern {
        names: Capture,
        functab: Capture,
        picks: Option<Picks>,
        /// Started by the first idle step after the header (the ranged reader builds it at
        /// the end).
        building: Option<Box<Building>>,
    },
    Old {
        table: Capture,
    },
}

pub(crate) struct Cand {
    pub start: u64,
    pub img: Option<usize>,
    pub hdr: Capture,
    pub header: Option<Header>,
    pub stage: Stage,
    pub md: Option<MdSearch>,
}

impl Cand {
    /// Bytes after `start` in which no other candidate is looked for.
    fn span(&self) -> u64 {
        match (&self.header, &self.stage) {
            (Some(h), Stage::Modern { .. }) => h.functab_off,
            (_, Stage::Old { table }) => table.want as u64,
            _ => table::MAX_HEADER_LEN as u64,
        }
    }
}

/// The streaming collector (see the module doc).
pub struct Collector {
    pos: u64,
    pub(crate) head: Capture,
    slice_heads: Vec<Capture>,
    layout: Option<Result<bool, exe::ExeError>>,
    pub(crate) images: Vec<ImgState>,
    pub(crate) cands: Vec<Cand>,
    tail: Vec<u8>,
    le: memmem::Finder<'static>,
    be: Vec<memmem::Finder<'static>>,
    /// Why candidates were dropped (the first few, for the "not found" message).
    pub(crate) rejected: Vec<(u64, String)>,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl Collector {
    pub fn new() -> Collector {
        let be = [0xfb, 0xfa, 0xf0, 0xf1]
            .iter()
            .map(|&m| memmem::Finder::new(&[0xff, 0xff, 0xff, m, 0, 0]).into_owned())
            .collect();
        Collector {
            pos: 0,
            head: Capture::new(0, HEAD_LEN),
            slice_heads: Vec::new(),
            layout: None,
            images: Vec::new(),
            cands: Vec::new(),
            tail: Vec::with_capacity(TAIL),
            le: memmem::Finder::new(&[0xff, 0xff, 0xff, 0, 0]).into_owned(),
            be,
            rejected: Vec::new(),
        }
    }

    /// One small step of deferred work (building a `funcnametab`'s name set, 16 KiB of names at
    /// a time, from the names that have streamed in so far): `true` if there was some, so the
    /// caller may come back for more. At most [`MAX_LIVE`] candidates have a builder.
    pub fn idle_step(&mut self) -> bool {
        const BUDGET: usize = 16 * 1024;
        for c in &mut self.cands {
            if let Stage::Modern {
                names, building, ..
            } = &mut c.stage
            {
                let complete = names.complete();
                let b = building
                    .get_or_insert_with(|| Box::new(super::set::NameBuilder::new(names.want)));
                if b.step(&names.data, BUDGET, complete) {
                    return true;
                }
            }
        }
        false
    }

    /// Bytes seen so far.
    pub fn len(&self) -> u64 {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// The layout error, when the head is not an executable.
    pub(crate) fn layout_error(&self) -> Option<exe::ExeError> {
        match &self.layout {
            Some(Err(e)) => Some(e.clone()),
            None if self.head.data.is_empty() => Some(exe::ExeError::Empty),
            _ => None,
        }
    }

    /// Jump forward to absolute offset `pos`: a ranged reader ([`super::ranged`]) feeds only the
    /// regions it needs. Captures that wanted skipped bytes stay incomplete (their candidates
    /// fail to decode); needles never straddle a gap.
    pub fn skip_to(&mut self, pos: u64) {
        if pos > self.pos {
            self.pos = pos;
            self.tail.clear();
        }
    }

    /// Take the next chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        let pos = self.pos;
        self.head.feed(pos, chunk);
        for s in &mut self.slice_heads {
            s.feed(pos, chunk);
        }
        if self.layout.is_none() && (self.head.complete() || chunk.is_empty()) {
            self.detect();
        }
        self.add_slices();
        for im in &mut self.images {
            if let Some(e) = im.elf.as_mut() {
                e.feed(&self.head, pos, chunk);
            }
        }
        let tail_start = pos - self.tail.len() as u64;
        let tail = std::mem::take(&mut self.tail);
        self.find_candidates(tail_start, &tail, pos, chunk);
        let mut i = 0;
        while i < self.cands.len() {
            match advance(
                &mut self.cands[i],
                &self.images,
                tail_start,
                &tail,
                pos,
                chunk,
            ) {
                Ok(()) => i += 1,
                Err(why) => {
                    let c = self.cands.remove(i);
                    tracing::debug!("pclntab candidate at {:#x} dropped: {why}", c.start);
                    self.reject(c.start, why);
                }
            }
        }
        let keep = chunk.len().min(TAIL);
        let mut joint = tail;
        joint.extend_from_slice(&chunk[chunk.len() - keep..]);
        let cut = joint.len().saturating_sub(TAIL);
        joint.drain(..cut);
        self.tail = joint;
        self.pos += chunk.len() as u64;
    }

    /// Called once the stream has ended (short files never fill the head).
    pub fn end(&mut self) {
        if self.layout.is_none() {
            self.detect();
        }
        self.add_slices();
    }

    fn reject(&mut self, at: u64, why: String) {
        if self.rejected.len() < 16 {
            self.rejected.push((at, why));
        }
    }

    fn detect(&mut self) {
        let head = &self.head.data;
        self.layout = Some(match exe::detect(head) {
            Ok(Layout::Thin(img)) => {
                self.images.push(ImgState::new(img, head, u64::MAX));
                Ok(false)
            }
            Ok(Layout::Fat(arches)) => {
                for a in arches {
                    let mut c = Capture::new(a.offset, HEAD_LEN.min(a.size as usize));
                    c.feed(0, head);
                    self.slice_heads.push(c);
                }
                Ok(true)
            }
            Err(e) => Err(e),
        });
    }

    fn add_slices(&mut self) {
        // Fat slices become images once their heads are in.
        let mut k = 0;
        while k < self.slice_heads.len() {
            if self.slice_heads[k].complete() {
                let c = self.slice_heads.remove(k);
                if let Ok(img) = exe::parse_thin(&c.data, c.start) {
                    let end = match &self.layout {
                        Some(Ok(true)) => exe::detect(&self.head.data)
                            .ok()
                            .and_then(|l| match l {
                                Layout::Fat(a) => a
                                    .iter()
                                    .find(|a| a.offset == c.start)
                                    .map(|a| a.offset + a.size),
                                Layout::Thin(_) => None,
                            })
                            .unwrap_or(u64::MAX),
                        _ => u64::MAX,
                    };
                    self.images.push(ImgState::new(img, &c.data, end));
                }
            } else {
                k += 1;
            }
        }
    }

    fn find_candidates(&mut self, tail_start: u64, tail: &[u8], pos: u64, chunk: &[u8]) {
        let mut starts: Vec<u64> = find_all(&self.le, 5, tail_start, tail, pos, chunk)
            .into_iter()
            .filter_map(|h| h.checked_sub(1))
            .collect();
        let maybe_be = self.images.is_empty() || self.images.iter().any(|i| i.img.big_endian);
        if maybe_be {
            for f in &self.be {
                starts.extend(find_all(f, 6, tail_start, tail, pos, chunk));
            }
            starts.sort_unstable();
        }
        for s in starts {
            if !s.is_multiple_of(4) || s < tail_start {
                continue;
            }
            if self
                .cands
                .iter()
                .any(|c| s >= c.start && s - c.start < c.span())
            {
                continue;
            }
            // Most magic-looking bytes fail the prefix checks at once; only the rest are followed.
            let mut prefix = Capture::new(s, table::PREFIX_LEN);
            prefix.feed(tail_start, tail);
            prefix.feed(pos, chunk);
            if prefix.complete() && table::check_prefix(&prefix.data).is_none() {
                continue;
            }
            if self.cands.len() >= MAX_LIVE {
                self.reject(s, "too many pclntab candidates at once".into());
                continue;
            }
            let mut hdr = Capture::new(s, table::PREFIX_LEN);
            hdr.feed(tail_start, tail);
            self.cands.push(Cand {
                start: s,
                img: None,
                hdr,
                header: None,
                stage: Stage::Header,
                md: None,
            });
        }
    }
}

impl ImgState {
    fn new(img: Image, head: &[u8], end: u64) -> ImgState {
        let macho = sections::macho_sections(head);
        let elf = sections::elf_shdrs(head).map(|sh| {
            let abs = img.offset + sh.shoff;
            let mut shdrs = Capture::new(abs, sh.table_len());
            shdrs.feed(img.offset, head);
            let from = sections::shstrtab_window_start(abs, img.offset + head.len() as u64);
            let before = Capture::new(from, abs.saturating_sub(from) as usize);
            ElfState {
                sh,
                shdrs,
                before,
                strtab: None,
            }
        });
        ImgState {
            img,
            end,
            macho,
            elf,
        }
    }

    /// Named sections (offsets relative to the image).
    pub fn sections(&self, head: &Capture) -> Vec<Section> {
        let Some(e) = &self.elf else {
            return self.macho.clone();
        };
        if !e.shdrs.complete() {
            return Vec::new();
        }
        let entries = sections::elf_entries(&e.sh, &e.shdrs.data);
        let Some((off, size)) = sections::elf_section_span(&e.sh, &e.shdrs.data, e.sh.strndx)
        else {
            return Vec::new();
        };
        let size = (size as usize).min(MAX_SHSTRTAB);
        let mut caps = vec![head, &e.before];
        if let Some(s) = &e.strtab {
            caps.push(s);
        }
        match sections::bytes_at(&caps, self.img.offset + off, size) {
            Some(strtab) => sections::elf_named(&entries, strtab),
            None => Vec::new(),
        }
    }

    /// Virtual address of an absolute file offset inside this image.
    pub fn offset_to_va(&self, abs: u64) -> Option<u64> {
        let rel = abs.checked_sub(self.img.offset)?;
        self.img
            .segments
            .iter()
            .find(|s| rel >= s.file_off && rel - s.file_off < s.filesz)
            .map(|s| s.vaddr + (rel - s.file_off))
    }

    /// End (absolute) of the segment holding `abs`.
    fn segment_end(&self, abs: u64) -> Option<u64> {
        let rel = abs.checked_sub(self.img.offset)?;
        self.img
            .segments
            .iter()
            .find(|s| rel >= s.file_off && rel - s.file_off < s.filesz)
            .map(|s| self.img.offset + s.file_off + s.filesz)
    }
}

impl ElfState {
    fn feed(&mut self, head: &Capture, pos: u64, chunk: &[u8]) {
        self.shdrs.feed(pos, chunk);
        self.before.feed(pos, chunk);
        if self.strtab.is_none() && self.shdrs.complete() {
            let img_off = self.shdrs.start - self.sh.shoff;
            if let Some((off, size)) =
                sections::elf_section_span(&self.sh, &self.shdrs.data, self.sh.strndx)
            {
                let mut c = Capture::new(img_off + off, (size as usize).min(MAX_SHSTRTAB));
                c.feed(0, &head.data);
                c.feed(pos, chunk);
                self.strtab = Some(c);
            }
        } else if let Some(s) = self.strtab.as_mut() {
            s.feed(pos, chunk);
        }
    }
}

/// Absolute offsets of `finder`'s needle in `chunk`, and of those straddling `tail` and `chunk`.
fn find_all(
    finder: &memmem::Finder<'_>,
    needle_len: usize,
    tail_start: u64,
    tail: &[u8],
    pos: u64,
    chunk: &[u8],
) -> Vec<u64> {
    let mut out = Vec::new();
    if !tail.is_empty() {
        let mut joint = tail.to_vec();
        joint.extend_from_slice(&chunk[..chunk.len().min(needle_len.saturating_sub(1))]);
        for j in finder.find_iter(&joint) {
            if j < tail.len() && j + needle_len > tail.len() {
                out.push(tail_start + j as u64);
            }
        }
    }
    out.extend(finder.find_iter(chunk).map(|i| pos + i as u64));
    out
}

/// Move one candidate forward with this chunk; `Err` drops it, with the reason.
fn advance(
    c: &mut Cand,
    images: &[ImgState],
    tail_start: u64,
    tail: &[u8],
    pos: u64,
    chunk: &[u8],
) -> Result<(), String> {
    loop {
        match &mut c.stage {
            Stage::Header => {
                c.hdr.feed(pos, chunk);
                if c.hdr.want == table::PREFIX_LEN && c.hdr.complete() {
                    let (_, _, len) = table::check_prefix(&c.hdr.data)
                        .ok_or("not a pclntab header (pads, quantum or pointer size)")?;
                    c.hdr.want = len;
                    c.hdr.feed(pos, chunk);
                }
                if !c.hdr.complete() || c.hdr.want == table::PREFIX_LEN {
                    return Ok(());
                }
                c.img = images
                    .iter()
                    .position(|i| c.start >= i.img.offset && c.start < i.end);
                let im = c.img.map(|i| &images[i]);
                if let (Some(im), Some((_, be, _))) = (im, table::check_prefix(&c.hdr.data)) {
                    let ptr = c.hdr.data[7];
                    if im.img.ptr_size != ptr || im.img.big_endian != be {
                        return Err(format!(
                            "header says {ptr}-byte pointers ({}), the executable {}-byte ({})",
                            endian(be),
                            im.img.ptr_size,
                            endian(im.img.big_endian)
                        ));
                    }
                }
                let h = table::parse_header(&c.hdr.data)?;
                if let Some(im) = im {
                    c.md = im
                        .offset_to_va(c.start)
                        .map(|va| MdSearch::new(va, &im.img));
                }
                c.stage = match h.version {
                    TableVersion::Go12 => {
                        let end = im
                            .and_then(|i| i.segment_end(c.start))
                            .unwrap_or(c.start + u64::from(u32::MAX));
                        let mut table = Capture::new(c.start, (end - c.start) as usize);
                        table.feed(c.start, &c.hdr.data);
                        Stage::Old { table }
                    }
                    _ => Stage::Modern {
                        names: Capture::new(
                            c.start + h.funcname_off,
                            (h.cu_off - h.funcname_off) as usize,
                        ),
                        functab: Capture::new(c.start + h.functab_off, h.functab_len() as usize),
                        picks: None,
                        building: None,
                    },
                };
                c.header = Some(h);
            }
            Stage::Modern {
                names,
                functab,
                picks,
                ..
            } => {
                let h = c.header.as_ref().expect("set with the stage");
                names.feed(pos, chunk);
                functab.feed(pos, chunk);
                if picks.is_none() && functab.complete() {
                    let base = functab.start;
                    let mut offs: Vec<u64> = table::functab(h, &functab.data)?
                        .into_iter()
                        .map(|(_, off)| base + off)
                        .collect();
                    offs.sort_unstable();
                    offs.dedup();
                    if offs
                        .first()
                        .is_some_and(|&o| o < base + functab.want as u64)
                    {
                        return Err("a function record overlaps the function table".into());
                    }
                    let (name_at, _) = h.func_name_field();
                    *picks = Some(Picks {
                        offs,
                        width: name_at + 4,
                        next: 0,
                        cur: Vec::new(),
                        got: Vec::new(),
                        lost: false,
                    });
                }
                if let Some(p) = picks.as_mut() {
                    p.feed(pos, chunk);
                    if p.lost {
                        return Err("function records overlap or go backwards".into());
                    }
                }
                break;
            }
            Stage::Old { table } => {
                table.feed(pos, chunk);
                break;
            }
        }
    }
    if let Some(md) = c.md.as_mut() {
        md.feed(tail_start, tail, pos, chunk);
    }
    Ok(())
}

fn endian(be: bool) -> &'static str {
    if be { "big-endian" } else { "little-endian" }
}

/// Is the moduledata candidate `d` (captured at a word equal to the table address) consistent with
/// the table header? `funcnametab.ptr` and `ftab.len` must agree (1.16+); `ftab` must point right
/// after the header with `nfunc+1` entries (1.2 format).
pub(crate) fn md_ok(h: &Header, va: u64, d: &[u8]) -> bool {
    let w = h.reader(d);
    let p = usize::from(h.ptr_size);
    let nf = |len: Option<u64>| len.is_some_and(|l| l == h.nfunc + 1 || l == h.nfunc);
    match h.version {
        TableVersion::Go12 => w.word(3 * p) == Some(va + h.header_len as u64) && nf(w.word(4 * p)),
        _ => w.word(p) == Some(va + h.funcname_off) && nf(w.word(16 * p + p)),
    }
}
