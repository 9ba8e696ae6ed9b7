//! Named sections of an image, for telling which pclntab candidate is *the* table: ELF section
//! headers (+ `.shstrtab`) and Mach-O sections. PE has no section of its own for the table (it sits
//! in `.rdata`), so PE images have none here.
//!
//! Go's own linker writes the ELF section headers right after the program headers, so they are in
//! the captured head; GNU ld (external linking) puts them at the end of the file, with `.shstrtab`
//! just before — the collector captures both ranges while streaming ([`ElfShdrs`]).

use crate::artifact::stream::Capture;
use crate::inventory::gobin::exe::Reader;

/// The section names Go gives its function table.
pub const PCLNTAB_SECTIONS: [&str; 3] = [".gopclntab", ".data.rel.ro.gopclntab", "__gopclntab"];

/// A named section, offset relative to the image start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// Where the ELF section header table is, from the file header.
#[derive(Debug, Clone, Copy)]
pub struct ElfShdrs {
    pub shoff: u64,
    pub entsize: usize,
    pub num: usize,
    pub strndx: usize,
    pub is64: bool,
    pub be: bool,
}

impl ElfShdrs {
    /// Bytes of the whole table.
    pub fn table_len(&self) -> usize {
        self.entsize * self.num
    }
}

/// Read the section-header location from an ELF head (`None` for other formats or no sections).
pub fn elf_shdrs(head: &[u8]) -> Option<ElfShdrs> {
    if head.get(..4)? != b"\x7fELF" {
        return None;
    }
    let is64 = *head.get(4)? == 2;
    let be = *head.get(5)? == 2;
    let r = Reader { b: head, be };
    let (shoff, entsize, num, strndx) = if is64 {
        (r.u64(40)?, r.u16(58)?, r.u16(60)?, r.u16(62)?)
    } else {
        (u64::from(r.u32(32)?), r.u16(46)?, r.u16(48)?, r.u16(50)?)
    };
    let want = if is64 { 64 } else { 40 };
    (shoff != 0 && num > 0 && usize::from(entsize) >= want && strndx < num).then_some(ElfShdrs {
        shoff,
        entsize: usize::from(entsize),
        num: usize::from(num),
        strndx: usize::from(strndx),
        is64,
        be,
    })
}

/// `(name offset, file offset, size)` of every ELF section that has file bytes.
pub fn elf_entries(s: &ElfShdrs, table: &[u8]) -> Vec<(u32, u64, u64)> {
    let r = Reader { b: table, be: s.be };
    (0..s.num)
        .filter_map(|i| {
            let e = i * s.entsize;
            let (name, typ) = (r.u32(e)?, r.u32(e + 4)?);
            let (off, size) = elf_section_span(s, table, i)?;
            // SHT_NOBITS has no bytes in the file.
            (typ != 8).then_some((name, off, size))
        })
        .collect()
}

/// `(file offset, size)` of ELF section `i` (NOBITS included), e.g. `.shstrtab` by its index.
pub fn elf_section_span(sh: &ElfShdrs, table: &[u8], i: usize) -> Option<(u64, u64)> {
    let r = Reader {
        b: table,
        be: sh.be,
    };
    let e = i.checked_mul(sh.entsize)?;
    if sh.is64 {
        Some((r.u64(e + 24)?, r.u64(e + 32)?))
    } else {
        Some((u64::from(r.u32(e + 16)?), u64::from(r.u32(e + 20)?)))
    }
}

/// Bytes before a far-away ELF section header table kept for `.shstrtab` (GNU ld puts it there).
pub const SHSTRTAB_WINDOW: u64 = 64 * 1024;

/// Where the window before a section table at `shoff` starts (never inside the head, which ends
/// at `head_end`).
pub fn shstrtab_window_start(shoff: u64, head_end: u64) -> u64 {
    shoff.saturating_sub(SHSTRTAB_WINDOW).max(head_end)
}

/// Name the entries with the `.shstrtab` bytes.
pub fn elf_named(entries: &[(u32, u64, u64)], strtab: &[u8]) -> Vec<Section> {
    entries
        .iter()
        .filter_map(|&(name, offset, size)| {
            let s = strtab.get(name as usize..)?;
            let end = memchr::memchr(0, s)?;
            Some(Section {
                name: String::from_utf8_lossy(&s[..end]).into_owned(),
                offset,
                size,
            })
        })
        .collect()
}

/// Mach-O sections from the load commands in the head (`__gopclntab` and friends).
pub fn macho_sections(head: &[u8]) -> Vec<Section> {
    let (be, is64) = match head.get(..4) {
        Some([0xfe, 0xed, 0xfa, 0xce]) => (true, false),
        Some([0xfe, 0xed, 0xfa, 0xcf]) => (true, true),
        Some([0xce, 0xfa, 0xed, 0xfe]) => (false, false),
        Some([0xcf, 0xfa, 0xed, 0xfe]) => (false, true),
        _ => return Vec::new(),
    };
    let r = Reader { b: head, be };
    let mut out = Vec::new();
    let Some(ncmds) = r.u32(16) else {
        return out;
    };
    let mut cur = if is64 { 32 } else { 28 };
    for _ in 0..ncmds.min(4096) {
        let (Some(cmd), Some(size)) = (r.u32(cur), r.u32(cur + 4)) else {
            break;
        };
        let size = size as usize;
        if size < 8 || cur + size > head.len() {
            break;
        }
        if cmd == 0x19 || cmd == 0x1 {
            let (nsects_at, first, sect_len) = if cmd == 0x19 {
                (cur + 64, cur + 72, 80)
            } else {
                (cur + 48, cur + 56, 68)
            };
            let n = r.u32(nsects_at).unwrap_or(0) as usize;
            for i in 0..n {
                let s = first + i * sect_len;
                if s + sect_len > cur + size {
                    break;
                }
                let name = &head[s..s + 16];
                let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(16)];
                let (size, off) = if cmd == 0x19 {
                    (r.u64(s + 40), r.u32(s + 48))
                } else {
                    (r.u32(s + 36).map(u64::from), r.u32(s + 40))
                };
                if let (Some(size), Some(off)) = (size, off) {
                    out.push(Section {
                        name: String::from_utf8_lossy(name).into_owned(),
                        offset: u64::from(off),
                        size,
                    });
                }
            }
        }
        cur += size;
    }
    out
}

/// `len` bytes at absolute offset `off` from whichever capture holds them all.
pub fn bytes_at<'a>(caps: &[&'a Capture], off: u64, len: usize) -> Option<&'a [u8]> {
    caps.iter().find_map(|c| {
        let i = usize::try_from(off.checked_sub(c.start)?).ok()?;
        c.data.get(i..i.checked_add(len)?)
    })
}
