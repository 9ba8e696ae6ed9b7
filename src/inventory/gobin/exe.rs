//! Executable container formats: just enough of ELF, PE and (fat) Mach-O headers to find where Go
//! keeps its buildinfo and to map virtual addresses to file offsets.
//!
//! Everything here works on the *first bytes* of an image (the head captured while streaming), never
//! on the whole file: program headers, the PE section table and Mach-O load commands all live near
//! the start. A header that points outside the captured head, or that contradicts itself, is a
//! [`ExeError::CorruptHeader`] — never a panic.

use std::fmt;

/// How many bytes of each image are captured for header parsing.
pub const HEAD_LEN: usize = 64 * 1024;

/// The container format of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Elf,
    Pe,
    MachO,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Elf => "ELF",
            Format::Pe => "PE",
            Format::MachO => "Mach-O",
        })
    }
}

/// A mapped region of an image: `vaddr..vaddr+filesz` lives at `file_off..file_off+filesz`
/// (relative to the image start).
#[derive(Debug, Clone)]
pub struct Segment {
    pub vaddr: u64,
    pub file_off: u64,
    pub filesz: u64,
}

/// One executable image: a thin file, or one slice of a universal Mach-O.
#[derive(Debug, Clone)]
pub struct Image {
    pub format: Format,
    /// Absolute offset of the image in the file (non-zero only for fat Mach-O slices).
    pub offset: u64,
    pub ptr_size: u8,
    pub big_endian: bool,
    /// GOOS/GOARCH as the header tells them; buildinfo settings take precedence.
    pub goos: Option<&'static str>,
    pub goarch: Option<&'static str>,
    pub segments: Vec<Segment>,
    /// Where Go's own reader looks for buildinfo, relative to the image start.
    pub data_window: Option<(u64, u64)>,
}

impl Image {
    /// Map a virtual address to a file offset relative to the image start.
    pub fn vaddr_to_offset(&self, addr: u64) -> Option<u64> {
        self.segments.iter().find_map(|s| {
            (addr >= s.vaddr && addr - s.vaddr < s.filesz).then(|| s.file_off + (addr - s.vaddr))
        })
    }

    /// Read a pointer-sized integer in the image's byte order.
    pub fn read_ptr(&self, b: &[u8]) -> Option<u64> {
        let r = Reader {
            b,
            be: self.big_endian,
        };
        if self.ptr_size == 8 {
            r.u64(0)
        } else {
            r.u32(0).map(u64::from)
        }
    }
}

/// A slice entry of a universal (fat) Mach-O.
#[derive(Debug, Clone)]
pub struct FatArch {
    pub offset: u64,
    pub size: u64,
}

/// What the head of a file says it is.
#[derive(Debug, Clone)]
pub enum Layout {
    Thin(Image),
    Fat(Vec<FatArch>),
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ExeError {
    #[error("the file is empty")]
    Empty,
    #[error(
        "not an executable: the file starts with {0}, which is neither ELF, PE nor Mach-O (is this really a provider binary?)"
    )]
    NotExecutable(String),
    #[error("corrupt {format} header: {detail}")]
    CorruptHeader {
        format: &'static str,
        detail: String,
    },
}

fn corrupt(format: &'static str, detail: impl Into<String>) -> ExeError {
    ExeError::CorruptHeader {
        format,
        detail: detail.into(),
    }
}

/// Bounds-checked integer reads in a chosen byte order.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) be: bool,
}

impl<'a> Reader<'a> {
    fn bytes<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        self.b.get(off..off.checked_add(N)?)?.try_into().ok()
    }
    pub(crate) fn u16(&self, off: usize) -> Option<u16> {
        let a = self.bytes::<2>(off)?;
        Some(if self.be {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }
    pub(crate) fn u32(&self, off: usize) -> Option<u32> {
        let a = self.bytes::<4>(off)?;
        Some(if self.be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }
    pub(crate) fn u64(&self, off: usize) -> Option<u64> {
        let a = self.bytes::<8>(off)?;
        Some(if self.be {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        })
    }
}

/// Identify the layout of a file from its head. `head` holds the first bytes (up to [`HEAD_LEN`]).
pub fn detect(head: &[u8]) -> Result<Layout, ExeError> {
    if head.is_empty() {
        return Err(ExeError::Empty);
    }
    match head.get(..4) {
        Some([0xca, 0xfe, 0xba, 0xbe]) | Some([0xca, 0xfe, 0xba, 0xbf]) => parse_fat(head),
        _ => parse_thin(head, 0).map(Layout::Thin),
    }
}

/// Parse a thin image whose head starts at absolute file offset `offset`.
pub fn parse_thin(head: &[u8], offset: u64) -> Result<Image, ExeError> {
    match head.get(..4) {
        Some([0x7f, b'E', b'L', b'F']) => parse_elf(head),
        Some([b'M', b'Z', ..]) => parse_pe(head),
        Some([0xfe, 0xed, 0xfa, 0xce | 0xcf]) | Some([0xce | 0xcf, 0xfa, 0xed, 0xfe]) => {
            parse_macho(head)
        }
        _ => {
            let shown: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
            Err(ExeError::NotExecutable(format!(
                "bytes {}",
                shown.join(" ")
            )))
        }
    }
    .map(|mut img| {
        img.offset = offset;
        img
    })
}

fn elf_machine(m: u16, be: bool) -> Option<&'static str> {
    Some(match (m, be) {
        (3, _) => "386",
        (62, _) => "amd64",
        (40, _) => "arm",
        (183, _) => "arm64",
        (8, true) => "mips",
        (8, false) => "mipsle",
        (21, true) => "ppc64",
        (21, false) => "ppc64le",
        (22, _) => "s390x",
        (243, _) => "riscv64",
        (258, _) => "loong64",
        _ => return None,
    })
}

fn parse_elf(h: &[u8]) -> Result<Image, ExeError> {
    const F: &str = "ELF";
    let class = *h
        .get(4)
        .ok_or_else(|| corrupt(F, "truncated identification"))?;
    let data = *h
        .get(5)
        .ok_or_else(|| corrupt(F, "truncated identification"))?;
    let be = match data {
        1 => false,
        2 => true,
        d => return Err(corrupt(F, format!("invalid data encoding byte {d:#04x}"))),
    };
    let r = Reader { b: h, be };
    let short = || corrupt(F, "file header truncated");
    let (ptr_size, phoff, phentsize, phnum) = match class {
        1 => (
            4u8,
            u64::from(r.u32(28).ok_or_else(short)?),
            r.u16(42).ok_or_else(short)?,
            r.u16(44).ok_or_else(short)?,
        ),
        2 => (
            8u8,
            r.u64(32).ok_or_else(short)?,
            r.u16(54).ok_or_else(short)?,
            r.u16(56).ok_or_else(short)?,
        ),
        c => return Err(corrupt(F, format!("invalid class byte {c:#04x}"))),
    };
    let want_ent = if ptr_size == 8 { 56 } else { 32 };
    if phnum == 0 {
        return Err(corrupt(F, "no program headers"));
    }
    if usize::from(phentsize) < want_ent {
        return Err(corrupt(F, format!("program header entry size {phentsize}")));
    }
    let machine = r.u16(18).ok_or_else(short)?;
    let osabi = h.get(7).copied().unwrap_or(0);
    let mut segments = Vec::new();
    let mut data_window = None;
    for i in 0..usize::from(phnum) {
        let base = usize::try_from(phoff)
            .ok()
            .and_then(|p| p.checked_add(i * usize::from(phentsize)))
            .filter(|b| b + want_ent <= h.len())
            .ok_or_else(|| {
                corrupt(
                    F,
                    format!(
                        "program header table at offset {phoff} lies outside the file header area"
                    ),
                )
            })?;
        let (ptype, flags, off, vaddr, filesz) = if ptr_size == 8 {
            (
                r.u32(base),
                r.u32(base + 4),
                r.u64(base + 8),
                r.u64(base + 16),
                r.u64(base + 32),
            )
        } else {
            (
                r.u32(base),
                r.u32(base + 24),
                r.u32(base + 4).map(u64::from),
                r.u32(base + 8).map(u64::from),
                r.u32(base + 16).map(u64::from),
            )
        };
        let (ptype, flags, off, vaddr, filesz) = (
            ptype.ok_or_else(short)?,
            flags.ok_or_else(short)?,
            off.ok_or_else(short)?,
            vaddr.ok_or_else(short)?,
            filesz.ok_or_else(short)?,
        );
        if ptype != 1 {
            continue; // PT_LOAD only
        }
        let end = off
            .checked_add(filesz)
            .ok_or_else(|| corrupt(F, "segment size overflows"))?;
        if data_window.is_none() && flags & 2 != 0 && flags & 1 == 0 {
            data_window = Some((off, end));
        }
        segments.push(Segment {
            vaddr,
            file_off: off,
            filesz,
        });
    }
    let goos = match osabi {
        9 => "freebsd",
        _ => "linux",
    };
    Ok(Image {
        format: Format::Elf,
        offset: 0,
        ptr_size,
        big_endian: be,
        goos: Some(goos),
        goarch: elf_machine(machine, be),
        segments,
        data_window,
    })
}

fn parse_pe(h: &[u8]) -> Result<Image, ExeError> {
    const F: &str = "PE";
    let r = Reader { b: h, be: false };
    let short = || corrupt(F, "header truncated");
    let lfanew = r.u32(0x3c).ok_or_else(short)? as usize;
    if h.get(lfanew..lfanew.saturating_add(4)) != Some(b"PE\0\0".as_slice()) {
        return Err(corrupt(
            F,
            format!("no PE signature at offset {lfanew} (an MS-DOS executable?)"),
        ));
    }
    let coff = lfanew + 4;
    let machine = r.u16(coff).ok_or_else(short)?;
    let nsects = usize::from(r.u16(coff + 2).ok_or_else(short)?);
    let opt_size = usize::from(r.u16(coff + 16).ok_or_else(short)?);
    let opt = coff + 20;
    let (ptr_size, image_base) = match r.u16(opt).ok_or_else(short)? {
        0x10b => (4u8, u64::from(r.u32(opt + 28).ok_or_else(short)?)),
        0x20b => (8u8, r.u64(opt + 24).ok_or_else(short)?),
        m => {
            return Err(corrupt(
                F,
                format!("unknown optional header magic {m:#06x}"),
            ));
        }
    };
    let sect_table = opt + opt_size;
    let mut segments = Vec::new();
    let mut data_window = None;
    for i in 0..nsects {
        let s = sect_table + i * 40;
        if s + 40 > h.len() {
            return Err(corrupt(F, "section table truncated"));
        }
        let vsize = u64::from(r.u32(s + 8).ok_or_else(short)?);
        let va = u64::from(r.u32(s + 12).ok_or_else(short)?);
        let raw_size = u64::from(r.u32(s + 16).ok_or_else(short)?);
        let raw_ptr = u64::from(r.u32(s + 20).ok_or_else(short)?);
        let chars = r.u32(s + 36).ok_or_else(short)?;
        const DATA_RW: u32 = 0x40 | 0x4000_0000 | 0x8000_0000;
        if data_window.is_none() && va != 0 && raw_size != 0 && chars & !0x00f0_0000 == DATA_RW {
            data_window = Some((raw_ptr, raw_ptr + raw_size));
        }
        if raw_size > 0 {
            segments.push(Segment {
                vaddr: image_base + va,
                file_off: raw_ptr,
                filesz: raw_size.min(vsize.max(raw_size)),
            });
        }
    }
    let goarch = match machine {
        0x14c => Some("386"),
        0x8664 => Some("amd64"),
        0x1c0 | 0x1c4 => Some("arm"),
        0xaa64 => Some("arm64"),
        _ => None,
    };
    Ok(Image {
        format: Format::Pe,
        offset: 0,
        ptr_size,
        big_endian: false,
        goos: Some("windows"),
        goarch,
        segments,
        data_window,
    })
}

fn macho_cpu(cpu: u32) -> Option<&'static str> {
    Some(match cpu {
        7 => "386",
        0x0100_0007 => "amd64",
        12 => "arm",
        0x0100_000c => "arm64",
        18 => "ppc",
        0x0100_0012 => "ppc64",
        _ => return None,
    })
}

fn cstr16(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

fn parse_macho(h: &[u8]) -> Result<Image, ExeError> {
    const F: &str = "Mach-O";
    let (be, is64) = match h.get(..4) {
        Some([0xfe, 0xed, 0xfa, 0xce]) => (true, false),
        Some([0xfe, 0xed, 0xfa, 0xcf]) => (true, true),
        Some([0xce, 0xfa, 0xed, 0xfe]) => (false, false),
        _ => (false, true),
    };
    let r = Reader { b: h, be };
    let short = || corrupt(F, "header truncated");
    let cpu = r.u32(4).ok_or_else(short)?;
    let ncmds = r.u32(16).ok_or_else(short)? as usize;
    let sizeofcmds = r.u32(20).ok_or_else(short)? as usize;
    let mut cur = if is64 { 32 } else { 28 };
    if cur + sizeofcmds > h.len() {
        return Err(corrupt(
            F,
            format!("load commands ({sizeofcmds} bytes) extend past the header area"),
        ));
    }
    let mut segments = Vec::new();
    let mut buildinfo_sect = None;
    let mut rw_segment = None;
    for _ in 0..ncmds {
        let cmd = r.u32(cur).ok_or_else(short)?;
        let cmdsize = r.u32(cur + 4).ok_or_else(short)? as usize;
        if cmdsize < 8 || cur + cmdsize > h.len() {
            return Err(corrupt(
                F,
                format!("load command size {cmdsize} is invalid"),
            ));
        }
        if cmd == 0x1 || cmd == 0x19 {
            let seg64 = cmd == 0x19;
            let segname = cstr16(h.get(cur + 8..cur + 24).ok_or_else(short)?);
            let (vmaddr, fileoff, filesize, maxprot, initprot, nsects, sects_at, sect_len) =
                if seg64 {
                    (
                        r.u64(cur + 24),
                        r.u64(cur + 40),
                        r.u64(cur + 48),
                        r.u32(cur + 56),
                        r.u32(cur + 60),
                        r.u32(cur + 64),
                        cur + 72,
                        80,
                    )
                } else {
                    (
                        r.u32(cur + 24).map(u64::from),
                        r.u32(cur + 32).map(u64::from),
                        r.u32(cur + 36).map(u64::from),
                        r.u32(cur + 40),
                        r.u32(cur + 44),
                        r.u32(cur + 48),
                        cur + 56,
                        68,
                    )
                };
            let vmaddr = vmaddr.ok_or_else(short)?;
            let fileoff = fileoff.ok_or_else(short)?;
            let filesize = filesize.ok_or_else(short)?;
            let (maxprot, initprot) = (maxprot.ok_or_else(short)?, initprot.ok_or_else(short)?);
            let nsects = nsects.ok_or_else(short)? as usize;
            if sects_at + nsects * sect_len > cur + cmdsize {
                return Err(corrupt(F, "segment sections overflow their load command"));
            }
            for i in 0..nsects {
                let s = sects_at + i * sect_len;
                let sectname = cstr16(&h[s..s + 16]);
                let (addr, size, off) = if seg64 {
                    (r.u64(s + 32), r.u64(s + 40), r.u32(s + 48))
                } else {
                    (
                        r.u32(s + 32).map(u64::from),
                        r.u32(s + 36).map(u64::from),
                        r.u32(s + 40),
                    )
                };
                if sectname == b"__go_buildinfo" {
                    let off = u64::from(off.ok_or_else(short)?);
                    let _ = addr;
                    buildinfo_sect = Some((off, off + size.ok_or_else(short)?));
                }
            }
            if rw_segment.is_none()
                && segname != b"__PAGEZERO"
                && initprot & 7 == 3
                && maxprot & 7 == 3
            {
                rw_segment = Some((fileoff, fileoff + filesize));
            }
            if filesize > 0 {
                segments.push(Segment {
                    vaddr: vmaddr,
                    file_off: fileoff,
                    filesz: filesize,
                });
            }
        }
        cur += cmdsize;
    }
    Ok(Image {
        format: Format::MachO,
        offset: 0,
        ptr_size: if is64 { 8 } else { 4 },
        big_endian: be,
        goos: Some("darwin"),
        goarch: macho_cpu(cpu),
        segments,
        data_window: buildinfo_sect.or(rw_segment),
    })
}

fn parse_fat(h: &[u8]) -> Result<Layout, ExeError> {
    const F: &str = "universal Mach-O";
    let r = Reader { b: h, be: true };
    let short = || corrupt(F, "header truncated");
    let is64 = h[3] == 0xbf;
    let n = r.u32(4).ok_or_else(short)? as usize;
    if n == 0 {
        return Err(corrupt(F, "no architectures"));
    }
    if n > 32 {
        // 0xCAFEBABE also starts Java class files, whose next word is a class-file version.
        return Err(ExeError::NotExecutable(
            "0xCAFEBABE with an implausible slice count (a Java class file?)".into(),
        ));
    }
    let ent = if is64 { 32 } else { 20 };
    let mut arches = Vec::with_capacity(n);
    for i in 0..n {
        let e = 8 + i * ent;
        let (offset, size) = if is64 {
            (r.u64(e + 8), r.u64(e + 16))
        } else {
            (r.u32(e + 8).map(u64::from), r.u32(e + 12).map(u64::from))
        };
        let (offset, size) = (offset.ok_or_else(short)?, size.ok_or_else(short)?);
        if offset < (8 + n * ent) as u64 {
            return Err(corrupt(F, format!("slice {i} overlaps the fat header")));
        }
        arches.push(FatArch { offset, size });
    }
    Ok(Layout::Fat(arches))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_unknown() {
        assert_eq!(detect(&[]).unwrap_err(), ExeError::Empty);
        assert!(matches!(
            detect(b"#!/bin/sh\n").unwrap_err(),
            ExeError::NotExecutable(_)
        ));
    }

    #[test]
    fn elf_flipped_class_is_corrupt() {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 7;
        h[5] = 1;
        let e = detect(&h).unwrap_err();
        assert!(e.to_string().contains("invalid class byte"), "{e}");
    }

    #[test]
    fn elf_phdrs_out_of_range_is_corrupt() {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[32..40].copy_from_slice(&(1u64 << 40).to_le_bytes());
        h[54..56].copy_from_slice(&56u16.to_le_bytes());
        h[56..58].copy_from_slice(&3u16.to_le_bytes());
        let e = detect(&h).unwrap_err();
        assert!(e.to_string().contains("program header table"), "{e}");
    }

    #[test]
    fn java_class_is_not_fat_macho() {
        let h = [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52];
        assert!(matches!(
            detect(&h).unwrap_err(),
            ExeError::NotExecutable(_)
        ));
    }

    #[test]
    fn truncated_pe() {
        let e = detect(b"MZ\x90\x00").unwrap_err();
        assert!(matches!(e, ExeError::CorruptHeader { .. }), "{e}");
    }
}
