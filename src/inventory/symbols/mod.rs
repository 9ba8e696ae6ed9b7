//! The functions a Go executable really contains, from the runtime's own function table
//! (pclntab), which survives `-ldflags "-s -w"`: every top-level function and every function that
//! only exists inlined into others, as `(package path, symbol)` pairs spelt the way the Go
//! vulnerability database lists them ([`names`]).
//!
//! - **Finding the table** ([`collect`]): every 4-byte-aligned pclntab magic in the stream is a
//!   candidate; the winner is the one a section names (`.gopclntab`, `.data.rel.ro.gopclntab`,
//!   `__gopclntab`), else the one the runtime's `moduledata` points at, else the one that passed
//!   the header scan's structure checks. [`FoundBy`] records which.
//! - **Top-level or inlined** ([`table`]): on 1.16+ tables `funcnametab` holds every top-level and
//!   every inline-tree callee name once; names no `_func` record points at exist only inlined. On
//!   the 1.2 format (go1.13–go1.15) the inline trees are decoded (one more ranged pass).
//! - **Streaming**: [`read`] is one pass (two on 1.2-format tables); [`read_with_buildinfo`] shares
//!   the buildinfo pass of [`gobin`], so a scan inflates a ZIP entry once for both.
//!
//! Failures are [`SymbolsError`]s with a reason, never panics; callers turn them into
//! "reachability unknown".

pub mod collect;
pub mod names;
pub mod ranged;
pub mod sections;
pub mod set;
pub mod table;

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use crate::artifact::stream::{ByteSource, CHUNK, fill};
use crate::inventory::gobin::{
    self, Executable, GoBinError, ReadOptions,
    exe::{ExeError, Format},
    scan,
};
pub use collect::Collector;
use collect::{Cand, ImgState, Stage};
use table::{Header, TableVersion};

/// How a function is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A function of its own (a function-table entry); it may be inlined elsewhere too.
    Function,
    /// Only inlined into other functions (named by inline-tree records).
    Inlined,
}

impl fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SymbolKind::Function => "function",
            SymbolKind::Inlined => "inline tree",
        })
    }
}

/// How the function table was located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundBy {
    /// A section of this name starts with it.
    Section(String),
    /// No section names it; the runtime's `moduledata` (at this file offset) points at it.
    ModuleData(u64),
    /// Only the header and structure checks vouch for it.
    HeaderScan,
}

impl fmt::Display for FoundBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FoundBy::Section(n) => write!(f, "section {n}"),
            FoundBy::ModuleData(at) => write!(f, "moduledata at {at:#x}"),
            FoundBy::HeaderScan => f.write_str("header scan"),
        }
    }
}

impl FoundBy {
    /// `section`, `moduledata` or `header-scan`.
    pub fn kind(&self) -> &'static str {
        match self {
            FoundBy::Section(_) => "section",
            FoundBy::ModuleData(_) => "moduledata",
            FoundBy::HeaderScan => "header-scan",
        }
    }
}

/// The functions of one Go image.
#[derive(Debug, Clone)]
pub struct ImageSymbols {
    pub format: Format,
    /// Offset of the image in the file (non-zero only for fat Mach-O slices); the same as the
    /// matching [`gobin::ImageInfo::offset`].
    pub offset: u64,
    /// From the build settings when read with buildinfo, else from the header.
    pub goos: Option<String>,
    pub goarch: Option<String>,
    pub table_version: TableVersion,
    /// Absolute file offset of the table header.
    pub table_offset: u64,
    pub found_by: FoundBy,
    /// File offset of the `moduledata` that points at the table, when one was found (also when
    /// the section already named the table).
    pub moduledata: Option<u64>,
    /// Function-table entries (`nfunc`).
    pub functions: u64,
    /// The main package's import path (buildinfo `path`), which govulncheck substitutes for
    /// `main`; set by [`read_with_buildinfo`].
    pub main_path: Option<String>,
    /// Every `(package, symbol)` pair and how it is present ([`ImageSymbols::sorted`] lists them).
    pub set: set::SymbolSet,
}

impl ImageSymbols {
    /// How `symbol` of package `pkg` is present, if it is (`pkg` may be the main package's path).
    pub fn get(&self, pkg: &str, symbol: &str) -> Option<SymbolKind> {
        let pkg = match &self.main_path {
            Some(m) if m == pkg => "main",
            _ => pkg,
        };
        self.set.get(pkg, symbol)
    }

    /// Is `symbol` of `pkg` in the binary (as a function or inlined)? Symbols are spelt as in the
    /// Go vulnerability database: `F`, `T.M` (no `*`, no type arguments).
    pub fn contains(&self, pkg: &str, symbol: &str) -> bool {
        self.get(pkg, symbol).is_some()
    }

    /// Is any function of `pkg` in the binary?
    pub fn has_package(&self, pkg: &str) -> bool {
        let pkg = match &self.main_path {
            Some(m) if m == pkg => "main",
            _ => pkg,
        };
        self.set.has_package(pkg)
    }

    /// Number of distinct (package, symbol) pairs.
    pub fn symbol_count(&self) -> usize {
        self.set.len()
    }

    /// Every package and its symbols, in order (for display and comparison).
    pub fn sorted(&self) -> BTreeMap<String, BTreeMap<String, SymbolKind>> {
        self.set.sorted()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SymbolsError {
    #[error(transparent)]
    Exe(#[from] ExeError),
    #[error("no Go function table (pclntab) found in this {format} image: {detail}")]
    NotFound { format: Format, detail: String },
    #[error("corrupt Go function table at offset {offset:#x}: {detail}")]
    Corrupt { offset: u64, detail: String },
    /// The message carries the I/O error's text, so it is not also chained as the source
    /// (`{:#}` would print it twice).
    #[error("reading the executable failed: {0}")]
    Io(io::Error),
}

impl From<io::Error> for SymbolsError {
    fn from(e: io::Error) -> Self {
        SymbolsError::Io(e)
    }
}

/// Read the function set of every Go image in `src`: by offset when `src` can seek and a section
/// names the table ([`ranged`]), else in one streaming pass (two for 1.2-format tables, whose
/// inline trees live elsewhere).
pub fn read(src: &dyn ByteSource) -> Result<Vec<ImageSymbols>, SymbolsError> {
    match read_ranged(src) {
        Some(syms) => Ok(syms),
        None => read_streamed(src),
    }
}

/// The ranged read ([`ranged`]) when it applies and ends with a table that a section names for
/// every image; `None` means "stream instead" (which then also gives the precise error).
pub fn read_ranged(src: &dyn ByteSource) -> Option<Vec<ImageSymbols>> {
    let plan = ranged::plan(src, src.known_len()?).ok()??;
    read_planned(src, &plan)
}

fn read_planned(src: &dyn ByteSource, plan: &ranged::Plan) -> Option<Vec<ImageSymbols>> {
    let col = ranged::collect(src, plan).ok()?;
    let syms = finish(col, src).ok()?;
    syms.iter()
        .all(|s| matches!(s.found_by, FoundBy::Section(_)))
        .then_some(syms)
}

/// [`read`] by streaming every byte, whatever the source.
pub fn read_streamed(src: &dyn ByteSource) -> Result<Vec<ImageSymbols>, SymbolsError> {
    let mut col = Collector::new();
    let mut buf = vec![0u8; CHUNK];
    src.with_reader(&mut |r| {
        loop {
            let n = fill(r, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            col.feed(&buf[..n]);
        }
    })?;
    finish(col, src)
}

impl scan::ChunkSink for Collector {
    fn feed(&mut self, chunk: &[u8]) {
        Collector::feed(self, chunk);
    }

    fn idle_step(&mut self) -> bool {
        Collector::idle_step(self)
    }
}

/// What [`read_with_buildinfo`] gives: the buildinfo and the symbols, each with its own error.
pub type WithBuildinfo = (
    Result<Executable, GoBinError>,
    Result<Vec<ImageSymbols>, SymbolsError>,
);

/// Buildinfo ([`gobin::read_with_idle`]) and symbols ([`read`]) from the same streaming pass: a
/// ZIP entry is inflated once for both (plus the passes either needs anyway: a full rescan when
/// buildinfo is not in the data window, a ranged pass for pre-1.18 buildinfo pointers or 1.2
/// inline trees). Symbols get the build settings' GOOS/GOARCH and the main package path.
pub fn read_with_buildinfo(
    src: &dyn ByteSource,
    opts: ReadOptions,
    idle: Option<scan::IdleWork<'_>>,
) -> WithBuildinfo {
    if idle.is_none()
        && let Some(len) = src.known_len()
        && let Ok(Some(plan)) = ranged::plan(src, len)
    {
        return read_with_buildinfo_ranged(src, opts, &plan);
    }
    read_with_buildinfo_streamed(src, opts, idle)
}

/// The seekable case: the executable's SHA-256 (when asked for) on one thread while this one
/// reads buildinfo from the data window and the function table by offset; either falls back to
/// streaming on its own when its shortcut does not apply.
fn read_with_buildinfo_ranged(
    src: &dyn ByteSource,
    opts: ReadOptions,
    plan: &ranged::Plan,
) -> WithBuildinfo {
    let (exe, mut syms) = std::thread::scope(|s| {
        let hasher = opts.hash.then(|| {
            std::thread::Builder::new()
                .name("executable-sha256".into())
                .spawn_scoped(s, || scan::hash_source(src))
        });
        let syms = read_planned(src, plan).map_or_else(|| read_streamed(src), Ok);
        let exe = gobin::read(src, ReadOptions { hash: false });
        let sha = match hasher {
            None => None,
            Some(Ok(h)) => Some(
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("hashing thread panicked"))),
            ),
            Some(Err(e)) => Some(scan::hash_source(src).map_err(|_| e)),
        };
        let exe = match (exe, sha) {
            (Ok(mut exe), Some(sha)) => sha
                .map(|h| {
                    exe.sha256 = Some(h);
                    exe
                })
                .map_err(GoBinError::Io),
            (exe, _) => exe,
        };
        (exe, syms)
    });
    attach_buildinfo(&exe, &mut syms);
    (exe, syms)
}

/// [`read_with_buildinfo`] in one streaming pass shared by both readers.
fn read_with_buildinfo_streamed(
    src: &dyn ByteSource,
    opts: ReadOptions,
    idle: Option<scan::IdleWork<'_>>,
) -> WithBuildinfo {
    let mut col = Collector::new();
    let pass = gobin::stream_pass(src, false, opts.hashes(src), idle, Some(&mut col));
    let mut pass = match pass {
        Ok(p) => p,
        Err(e) => {
            let again = io::Error::new(e.kind(), e.to_string());
            return (Err(GoBinError::Io(e)), Err(SymbolsError::Io(again)));
        }
    };
    let exe = (|| {
        if pass.hits.is_empty() && !pass.scanned_all {
            pass.hits = gobin::stream_pass(src, true, false, None, None)?.hits;
        }
        gobin::decode(src, &pass)
    })();
    let mut syms = finish(col, src);
    attach_buildinfo(&exe, &mut syms);
    (exe, syms)
}

/// Give each image's symbols the build settings' GOOS/GOARCH and the main package path.
fn attach_buildinfo(
    exe: &Result<Executable, GoBinError>,
    syms: &mut Result<Vec<ImageSymbols>, SymbolsError>,
) {
    if let (Ok(exe), Ok(syms)) = (exe, syms) {
        for s in syms {
            if let Some(info) = exe.images.iter().find(|i| i.offset == s.offset) {
                s.goos = info.goos.clone().or(s.goos.take());
                s.goarch = info.goarch.clone().or(s.goarch.take());
                s.main_path = Some(info.buildinfo.path.clone()).filter(|p| !p.is_empty());
            }
        }
    }
}

/// A candidate decoded into its symbol set.
struct Decoded {
    header: Header,
    start: u64,
    found_by: FoundBy,
    moduledata: Option<u64>,
    set: set::SymbolSet,
}

/// Turn what the collector kept into symbol sets (one more ranged pass for 1.2 inline trees).
pub fn finish(mut col: Collector, src: &dyn ByteSource) -> Result<Vec<ImageSymbols>, SymbolsError> {
    col.end();
    if let Some(e) = col.layout_error() {
        return Err(e.into());
    }
    // Candidates seen before their image's head was complete (files shorter than the head).
    for c in &mut col.cands {
        if c.img.is_none()
            && let Some(h) = &c.header
        {
            c.img = col.images.iter().position(|i| {
                c.start >= i.img.offset
                    && c.start < i.end
                    && i.img.ptr_size == h.ptr_size
                    && i.img.big_endian == h.big_endian
            });
        }
    }
    let mut out = Vec::new();
    for (idx, im) in col.images.iter().enumerate() {
        let sects = im.sections(&col.head);
        let mut best: Option<(u8, Decoded)> = None;
        let mut why = None;
        for c in col.cands.iter_mut().filter(|c| c.img == Some(idx)) {
            match decode(c, im, &sects, src) {
                Ok(d) => {
                    let rank = match d.found_by {
                        FoundBy::Section(_) => 0,
                        FoundBy::ModuleData(_) => 1,
                        FoundBy::HeaderScan => 2,
                    };
                    let better = best.as_ref().is_none_or(|(r, b)| {
                        rank < *r || (rank == *r && d.header.nfunc > b.header.nfunc)
                    });
                    if better {
                        best = Some((rank, d));
                    }
                }
                Err(e) => {
                    why.get_or_insert((c.start, e));
                }
            }
        }
        let Some((_, d)) = best else {
            if let Some((offset, detail)) = why {
                return Err(SymbolsError::Corrupt { offset, detail });
            }
            let in_image = |at: u64| at >= im.img.offset && at < im.end;
            let at_section = |at: u64| {
                sects.iter().any(|s| {
                    s.offset == at - im.img.offset
                        && sections::PCLNTAB_SECTIONS.contains(&s.name.as_str())
                })
            };
            let rejected = col.rejected.iter().filter(|(at, _)| in_image(*at));
            let detail = match rejected
                .clone()
                .find(|(at, _)| at_section(*at))
                .or(rejected.clone().next())
            {
                Some((at, r)) => format!("the candidate at {at:#x} was rejected: {r}"),
                None => "no pclntab header (magic 0xfffffff1/0xfffffff0/0xfffffffa/0xfffffffb) \
                    in the file; not a Go binary, or one whose table was packed or overwritten"
                    .to_string(),
            };
            return Err(SymbolsError::NotFound {
                format: im.img.format,
                detail,
            });
        };
        out.push(ImageSymbols {
            format: im.img.format,
            offset: im.img.offset,
            goos: im.img.goos.map(str::to_string),
            goarch: im.img.goarch.map(str::to_string),
            table_version: d.header.version,
            table_offset: d.start,
            found_by: d.found_by,
            moduledata: d.moduledata,
            functions: d.header.nfunc,
            main_path: None,
            set: d.set,
        });
    }
    Ok(out)
}

fn decode(
    c: &mut Cand,
    im: &ImgState,
    sects: &[sections::Section],
    src: &dyn ByteSource,
) -> Result<Decoded, String> {
    let h = c
        .header
        .clone()
        .ok_or("the header is cut off by the end of the file")?;
    let rel = c.start - im.img.offset;
    let moduledata = c.md.as_ref().and_then(|md| {
        md.hits
            .iter()
            .find(|hit| collect::md_ok(&h, md.va, &hit.data))
            .map(|hit| hit.start)
    });
    let found_by = match sects
        .iter()
        .find(|s| s.offset == rel && sections::PCLNTAB_SECTIONS.contains(&s.name.as_str()))
    {
        Some(s) => FoundBy::Section(s.name.clone()),
        None => match moduledata {
            Some(at) => FoundBy::ModuleData(at),
            None => FoundBy::HeaderScan,
        },
    };
    let set = match &mut c.stage {
        Stage::Header => return Err("the header is cut off by the end of the file".into()),
        Stage::Modern {
            names,
            functab,
            picks,
            building,
        } => {
            if !names.complete() {
                return Err(format!(
                    "funcnametab ({} bytes at {:#x}) runs past the end of the file",
                    names.want, names.start
                ));
            }
            let Some(picks) = picks.as_ref().filter(|p| p.complete()) else {
                return Err(format!(
                    "the function table ({} functions at {:#x}) or its records run past the end of the file",
                    h.nfunc, functab.start
                ));
            };
            let (name_at, entry_len) = h.func_name_field();
            let w = |b: &[u8]| h.reader(b).field(0, entry_len);
            let mut offs = Vec::with_capacity(picks.got.len() / (name_at + 4));
            for (i, (entry, off)) in table::functab(&h, &functab.data)?.into_iter().enumerate() {
                let rec = picks
                    .at(functab.start + off)
                    .ok_or("function record missing")?;
                if w(rec) != Some(entry) {
                    return Err(format!(
                        "function {i}: record entry {:#x} differs from the table's {entry:#x}",
                        w(rec).unwrap_or(0)
                    ));
                }
                let name = h.reader(rec).u32(name_at).ok_or("short record")?;
                offs.push(name);
            }
            building
                .take()
                .map(|b| b.finish(&names.data))
                .unwrap_or_else(|| set::NameTable::build(&names.data))
                .into_set(&offs)?
        }
        Stage::Old { table: t } => {
            let (tops, inlined) = decode_go12(&h, &t.data, im, src)?;
            let mut set = set::SymbolSet::default();
            set.add(tops.into_iter(), SymbolKind::Function);
            set.add(inlined.into_iter(), SymbolKind::Inlined);
            set
        }
    };
    Ok(Decoded {
        header: h,
        start: c.start,
        found_by,
        moduledata,
        set,
    })
}

/// (top-level names, inline-only names) of a 1.2-format table.
type Go12Names<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// 1.2 format: names through `_func.nameoff`, inlined names through each function's inline tree
/// (absolute pointers, read in one ranged pass).
fn decode_go12<'a>(
    h: &Header,
    t: &'a [u8],
    im: &ImgState,
    src: &dyn ByteSource,
) -> Result<Go12Names<'a>, String> {
    let ft = h.functab_off as usize;
    let ftab = table::functab(h, t.get(ft..).ok_or("function table outside the table")?)?;
    let mut tops = Vec::new();
    let mut ranges = Vec::new();
    let mut budget = t.len();
    for (entry, off) in ftab {
        let f = table::go12_func(h, t, entry, off)?;
        let name = table::cstr_at(t, f.name_off).ok_or_else(|| {
            format!(
                "function name offset {} is past the end of the table ({} bytes)",
                f.name_off,
                t.len()
            )
        })?;
        tops.push(name);
        if let Some((addr, n)) = f.inline {
            let len = n * table::go12::INL_RECORD;
            budget = budget
                .checked_sub(len)
                .ok_or("inline trees claim more bytes than the table has")?;
            let at = im
                .img
                .vaddr_to_offset(addr)
                .ok_or_else(|| format!("inline tree address {addr:#x} is not in the file"))?;
            ranges.push((im.img.offset + at, len));
        }
    }
    let mut inlined = Vec::new();
    if !ranges.is_empty() {
        let got = src
            .read_ranges(&ranges)
            .map_err(|e| format!("reading inline trees: {e}"))?;
        for (data, &(at, len)) in got.iter().zip(&ranges) {
            if data.len() != len {
                return Err(format!(
                    "inline tree at {at:#x} runs past the end of the file"
                ));
            }
            for rec in data.chunks_exact(table::go12::INL_RECORD) {
                let off = h
                    .reader(rec)
                    .u32(table::go12::INL_NAME_AT)
                    .ok_or("short inline record")?;
                let name = table::cstr_at(t, u64::from(off)).ok_or_else(|| {
                    format!("inline record name offset {off} is past the end of the table")
                })?;
                inlined.push(name);
            }
        }
    }
    Ok((tops, inlined))
}

#[cfg(test)]
mod tests;
