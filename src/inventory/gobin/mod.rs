//! Go buildinfo extraction with `go version -m` parity, from any [`ByteSource`].
//!
//! One streaming pass hashes the executable and finds the buildinfo blob ([`scan`]); headers
//! ([`exe`]) say which hit belongs to which image and where Go's own reader would look. Go ≥ 1.18
//! stores both strings inline; older binaries (1.13–1.17) store pointers, which cost one or two
//! more passes to follow. Every universal Mach-O slice is read, each as its own image.

pub mod exe;
pub mod modinfo;
pub mod scan;

use std::io;

use crate::artifact::stream::ByteSource;
use exe::{ExeError, Format, Image, Layout};
pub use modinfo::{BuildInfo, GoModule};
use scan::{FirstPass, MAGIC};

/// Buildinfo of one executable image.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    pub format: Format,
    pub offset: u64,
    /// GOOS/GOARCH from the build settings, else from the header.
    pub goos: Option<String>,
    pub goarch: Option<String>,
    pub buildinfo: BuildInfo,
}

/// Everything read from one executable.
#[derive(Debug, Clone)]
pub struct Executable {
    pub size: u64,
    /// SHA-256 of the whole executable (`None` when the caller did not ask for it).
    pub sha256: Option<String>,
    pub images: Vec<ImageInfo>,
}

#[derive(Debug, thiserror::Error)]
pub enum GoBinError {
    #[error(transparent)]
    Exe(#[from] ExeError),
    #[error(
        "UPX-packed executable: Go buildinfo is compressed inside it; unpack it with `upx -d` and scan the result"
    )]
    UpxPacked,
    #[error(
        "not a Go binary: this {0} executable carries no Go buildinfo and no Go toolchain markers"
    )]
    NotGo(Format),
    #[error(
        "Go binary without buildinfo: this {0} executable was built by Go but its buildinfo is missing (built before Go 1.13, outside module mode, or stripped)"
    )]
    NoBuildInfo(Format),
    #[error("corrupt Go buildinfo at offset {offset}: {detail}")]
    Corrupt { offset: u64, detail: String },
    #[error(transparent)]
    Modinfo(#[from] modinfo::ModinfoError),
    /// The message carries the I/O error's text, so it is not also chained as the source
    /// (`{:#}` would print it twice).
    #[error("reading the executable failed: {0}")]
    Io(io::Error),
}

impl From<io::Error> for GoBinError {
    fn from(e: io::Error) -> Self {
        GoBinError::Io(e)
    }
}

fn corrupt(offset: u64, detail: impl Into<String>) -> GoBinError {
    GoBinError::Corrupt {
        offset,
        detail: detail.into(),
    }
}

/// How much to read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Compute the executable's SHA-256. Streaming sources (ZIP entries) always get it, for free;
    /// a seekable file without it is read the way `go version -m` reads it: headers and the data
    /// segment only.
    pub hash: bool,
}

impl ReadOptions {
    /// Whether a streaming pass over `src` hashes: when asked to, and always for a stream-only
    /// source (its hashing runs beside the inflating thread).
    pub fn hashes(&self, src: &dyn ByteSource) -> bool {
        self.hash || src.known_len().is_none()
    }
}

/// Read the buildinfo of every Go image in `src`.
pub fn read(src: &dyn ByteSource, opts: ReadOptions) -> Result<Executable, GoBinError> {
    read_with_idle(src, opts, None)
}

/// [`read`], running `idle` on the scanning thread whenever it waits for bytes (streaming only;
/// any idle work left is finished before returning).
pub fn read_with_idle(
    src: &dyn ByteSource,
    opts: ReadOptions,
    mut idle: Option<scan::IdleWork<'_>>,
) -> Result<Executable, GoBinError> {
    if let Some(len) = src.known_len()
        && let Some(mut pass) = scan::seek_pass(src, len)?
    {
        if opts.hash {
            pass.sha256 = Some(scan::hash_source(src)?);
        }
        if let Some(work) = idle {
            while work()? {}
        }
        return decode(src, &pass);
    }
    let mut pass = stream_pass(src, false, opts.hashes(src), idle.take(), None)?;
    if pass.hits.is_empty() && !pass.scanned_all {
        // Not where Go's reader looks: scan every byte before giving up.
        let full = stream_pass(src, true, false, None, None)?;
        pass.hits = full.hits;
    }
    decode(src, &pass)
}

/// One streaming pass over `src` ([`scan::first_pass_with`]); `sink` sees every byte too (the
/// symbol collector, so that buildinfo and symbols cost one inflate).
pub fn stream_pass(
    src: &dyn ByteSource,
    full_scan: bool,
    hash: bool,
    idle: Option<scan::IdleWork<'_>>,
    sink: Option<&mut dyn scan::ChunkSink>,
) -> io::Result<FirstPass> {
    let mut idle = idle;
    let mut sink = sink;
    let mut pass = None;
    src.with_reader(&mut |r| {
        pass = Some(scan::first_pass_with(
            r,
            full_scan,
            hash,
            idle.take(),
            sink.take(),
        )?);
        Ok(())
    })?;
    pass.ok_or_else(|| io::Error::other("reader produced nothing"))
}

/// Interpret a finished first pass.
pub fn decode(src: &dyn ByteSource, pass: &FirstPass) -> Result<Executable, GoBinError> {
    let (images, ends) = match exe::detect(&pass.head)? {
        Layout::Thin(img) => (vec![img], vec![pass.len]),
        Layout::Fat(arches) => {
            let imgs = pass
                .slice_heads
                .iter()
                .map(|c| exe::parse_thin(&c.data, c.start))
                .collect::<Result<Vec<_>, ExeError>>()?;
            (imgs, arches.iter().map(|a| a.offset + a.size).collect())
        }
    };
    let mut out = Vec::new();
    let mut first_err = None;
    for (img, end) in images.iter().zip(ends) {
        match decode_image(src, pass, img, end) {
            Ok(info) => out.push(info),
            Err(e) => {
                tracing::debug!("image at offset {}: {e}", img.offset);
                first_err.get_or_insert(e);
            }
        }
    }
    if out.is_empty() {
        let err = first_err.unwrap_or(GoBinError::NoBuildInfo(images[0].format));
        return Err(refine_missing(src, pass, &images[0], err)?);
    }
    Ok(Executable {
        size: pass.len,
        sha256: pass.sha256.clone(),
        images: out,
    })
}

/// Turn "no buildinfo" into the most useful of UPX / not-Go / Go-without-buildinfo.
fn refine_missing(
    src: &dyn ByteSource,
    pass: &FirstPass,
    img: &Image,
    err: GoBinError,
) -> Result<GoBinError, GoBinError> {
    if !matches!(err, GoBinError::NoBuildInfo(_)) {
        return Ok(err);
    }
    if memchr::memmem::find(&pass.head, b"UPX!").is_some() {
        return Ok(GoBinError::UpxPacked);
    }
    let mut is_go = false;
    src.with_reader(&mut |r| {
        is_go = scan::has_go_markers(r)?;
        Ok(())
    })?;
    Ok(if is_go {
        GoBinError::NoBuildInfo(img.format)
    } else {
        GoBinError::NotGo(img.format)
    })
}

fn decode_image(
    src: &dyn ByteSource,
    pass: &FirstPass,
    img: &Image,
    end: u64,
) -> Result<ImageInfo, GoBinError> {
    let in_image = |at: u64| at >= img.offset && at < end;
    let in_window = |at: u64| {
        img.data_window
            .is_some_and(|(s, e)| at >= img.offset + s && at < img.offset + e)
    };
    // Go's reader looks in the data window; the whole-image scan is our fallback.
    let mut hits: Vec<_> = pass.hits.iter().filter(|h| in_image(h.start)).collect();
    hits.sort_by_key(|h| !in_window(h.start));
    let hit = hits.first().ok_or(GoBinError::NoBuildInfo(img.format))?;
    let d = &hit.data;
    if d.len() < 32 {
        return Err(corrupt(
            hit.start,
            "header truncated by the end of the file",
        ));
    }
    debug_assert_eq!(&d[..14], MAGIC);
    let ptr_size = d[14];
    let flags = d[15];
    let (version, mod_raw) = if flags & 2 != 0 {
        let (v, n) = read_varstring(&d[32..])
            .ok_or_else(|| corrupt(hit.start, "Go version string runs past the end"))?;
        let (m, _) = read_varstring(&d[32 + n..])
            .ok_or_else(|| corrupt(hit.start, "modinfo string runs past the end"))?;
        (v.to_vec(), m.to_vec())
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return Err(corrupt(
                hit.start,
                format!("invalid pointer size {ptr_size}"),
            ));
        }
        read_pointer_format(src, img, hit.start, d, ptr_size, flags & 1 != 0)?
    };
    if version.is_empty() {
        return Err(GoBinError::NoBuildInfo(img.format));
    }
    let version =
        String::from_utf8(version).map_err(|_| corrupt(hit.start, "Go version is not UTF-8"))?;
    let modinfo = strip_sentinels(&mod_raw);
    let modinfo =
        std::str::from_utf8(modinfo).map_err(|_| corrupt(hit.start, "modinfo is not UTF-8"))?;
    let bi = modinfo::parse(&version, modinfo)?;
    Ok(ImageInfo {
        format: img.format,
        offset: img.offset,
        goos: bi
            .setting("GOOS")
            .map(str::to_string)
            .or(img.goos.map(str::to_string)),
        goarch: bi
            .setting("GOARCH")
            .map(str::to_string)
            .or(img.goarch.map(str::to_string)),
        buildinfo: bi,
    })
}

/// Go's `uvarint`-prefixed string; returns the string and the bytes consumed.
fn read_varstring(b: &[u8]) -> Option<(&[u8], usize)> {
    let mut len: u64 = 0;
    let mut shift = 0;
    for (i, &c) in b.iter().enumerate().take(10) {
        len |= u64::from(c & 0x7f) << shift;
        if c & 0x80 == 0 {
            let start = i + 1;
            let end = start.checked_add(usize::try_from(len).ok()?)?;
            return Some((b.get(start..end)?, end));
        }
        shift += 7;
    }
    None
}

/// Strip the 16-byte sentinels around modinfo, or return empty as Go does when they are absent.
fn strip_sentinels(m: &[u8]) -> &[u8] {
    if m.len() >= 33 && m[m.len() - 17] == b'\n' {
        &m[16..m.len() - 16]
    } else {
        &[]
    }
}

/// Pre-1.18 format: the header holds addresses of two Go string headers `{data, len}`.
fn read_pointer_format(
    src: &dyn ByteSource,
    img: &Image,
    at: u64,
    d: &[u8],
    ptr_size: u8,
    big_endian: bool,
) -> Result<(Vec<u8>, Vec<u8>), GoBinError> {
    let ps = usize::from(ptr_size);
    let reader = Image {
        ptr_size,
        big_endian,
        ..img.clone()
    };
    let vers_addr = reader
        .read_ptr(&d[16..16 + ps])
        .ok_or_else(|| corrupt(at, "short header"))?;
    let mod_addr = reader
        .read_ptr(&d[16 + ps..16 + 2 * ps])
        .ok_or_else(|| corrupt(at, "short header"))?;
    let locate = |addr: u64, what: &str| {
        img.vaddr_to_offset(addr)
            .map(|o| img.offset + o)
            .ok_or_else(|| {
                corrupt(
                    at,
                    format!("{what} address {addr:#x} is not mapped by any segment"),
                )
            })
    };
    let headers = src.read_ranges(&[
        (locate(vers_addr, "version string header")?, 2 * ps),
        (locate(mod_addr, "modinfo string header")?, 2 * ps),
    ])?;
    let mut targets = Vec::new();
    for (h, what) in headers.iter().zip(["version", "modinfo"]) {
        if h.len() < 2 * ps {
            return Err(corrupt(at, format!("{what} string header is truncated")));
        }
        let data = reader.read_ptr(&h[..ps]).unwrap_or(0);
        let len = reader.read_ptr(&h[ps..]).unwrap_or(0);
        if len > 16 << 20 {
            return Err(corrupt(
                at,
                format!("{what} string length {len} is implausible"),
            ));
        }
        if len == 0 {
            targets.push((0, 0));
        } else {
            targets.push((locate(data, what)?, len as usize));
        }
    }
    let mut strings = src.read_ranges(&targets)?;
    for (s, &(_, want)) in strings.iter().zip(&targets) {
        if s.len() != want {
            return Err(corrupt(at, "string data runs past the end of the file"));
        }
    }
    let m = strings.pop().unwrap_or_default();
    let v = strings.pop().unwrap_or_default();
    Ok((v, m))
}

#[cfg(test)]
mod tests;
