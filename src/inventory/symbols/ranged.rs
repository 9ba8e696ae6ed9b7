//! The seekable path, for executables on disk: instead of streaming every byte past the
//! [`Collector`], read the image's head, its ELF section table and only the sections the
//! collector needs — the section that holds the function table (`.gopclntab`,
//! `.data.rel.ro.gopclntab`, `__gopclntab`) and the data sections where the runtime's
//! `moduledata` lives — by offset, and feed them in file order, with gaps, to the same collector.
//! That is what govulncheck reads too; on a 37 MB provider it is about a quarter of the file.
//!
//! Only thin ELF and Mach-O images whose table a section names qualify ([`plan`] says `None`
//! otherwise); PE images (no section of their own for the table), fat Mach-O files and anything
//! whose ranged read does not end with a section-named table are streamed as before, so the
//! answer is the same either way (`tests/symbols.rs` compares both paths on every fixture).

use std::io;

use super::collect::Collector;
use super::sections::{self, PCLNTAB_SECTIONS, Section};
use super::table::{self, TableVersion};
use crate::artifact::stream::{ByteSource, CHUNK};
use crate::inventory::gobin::exe::{self, Format, HEAD_LEN, Layout};

/// Sections where Go's linkers put `runtime.firstmoduledata` (and its neighbours).
const DATA_SECTIONS: [&str; 7] = [
    ".go.module",
    "__go_module",
    ".noptrdata",
    ".data",
    ".data.rel.ro",
    "__noptrdata",
    "__data",
];
/// An ELF section table larger than this is not read by offset (streamed instead).
const MAX_SHDRS: usize = 1 << 20;

/// The byte ranges (absolute, sorted, disjoint `[start, end)`) to feed the collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub ranges: Vec<(u64, u64)>,
}

impl Plan {
    /// Bytes the plan reads.
    pub fn bytes(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }
}

/// Which ranges of a `len`-byte source to read, or `None` when this executable must be streamed.
pub fn plan(src: &dyn ByteSource, len: u64) -> io::Result<Option<Plan>> {
    let head = read_at(src, 0, HEAD_LEN.min(len as usize))?;
    let Ok(Layout::Thin(img)) = exe::detect(&head) else {
        return Ok(None);
    };
    let mut ranges = vec![(0, head.len() as u64)];
    let sects: Vec<Section> = match img.format {
        Format::MachO => sections::macho_sections(&head),
        Format::Elf => {
            let Some(sh) = sections::elf_shdrs(&head) else {
                return Ok(None);
            };
            if sh.table_len() > MAX_SHDRS || sh.shoff.saturating_add(sh.table_len() as u64) > len {
                return Ok(None);
            }
            let table = read_at(src, sh.shoff, sh.table_len())?;
            let Some((str_off, str_size)) = sections::elf_section_span(&sh, &table, sh.strndx)
            else {
                return Ok(None);
            };
            let str_size = str_size.min(64 * 1024);
            if str_off.saturating_add(str_size) > len {
                return Ok(None);
            }
            let strtab = read_at(src, str_off, str_size as usize)?;
            // GNU ld puts `.shstrtab` right before a table at the end of the file: the
            // collector keeps a window there, as when streaming.
            let head_end = head.len() as u64;
            ranges.push((
                sections::shstrtab_window_start(sh.shoff, head_end).min(sh.shoff),
                sh.shoff,
            ));
            ranges.push((sh.shoff, sh.shoff + sh.table_len() as u64));
            ranges.push((str_off, str_off + str_size));
            sections::elf_named(&sections::elf_entries(&sh, &table), &strtab)
        }
        Format::Pe => return Ok(None),
    };
    let in_file =
        |s: &Section| s.size > 0 && s.offset.checked_add(s.size).is_some_and(|e| e <= len);
    let Some(table) = sects
        .iter()
        .find(|s| PCLNTAB_SECTIONS.contains(&s.name.as_str()) && in_file(s))
    else {
        return Ok(None);
    };
    ranges.extend(table_ranges(src, table.offset, table.offset + table.size)?);
    for s in sects
        .iter()
        .filter(|s| DATA_SECTIONS.contains(&s.name.as_str()) && in_file(s))
    {
        ranges.push((s.offset, s.offset + s.size));
    }
    Ok(Some(Plan {
        ranges: merge(ranges),
    }))
}

/// The parts of the table at `[start, end)` the collector keeps: on 1.16+ tables the header,
/// `funcnametab` and everything from the function table on (its `_func` records follow it) — not
/// the cu, file and pc-value tables between them, usually more than half the table. A header
/// that does not parse is the collector's to judge: the whole section then.
fn table_ranges(src: &dyn ByteSource, start: u64, end: u64) -> io::Result<Vec<(u64, u64)>> {
    let head = read_at(
        src,
        start,
        table::MAX_HEADER_LEN.min((end - start) as usize),
    )?;
    let whole = vec![(start, end)];
    let Ok(h) = table::parse_header(&head) else {
        return Ok(whole);
    };
    if h.version == TableVersion::Go12 {
        return Ok(whole);
    }
    let at = |off: u64| start.saturating_add(off).min(end);
    Ok(vec![
        (start, at(h.header_len as u64)),
        (at(h.funcname_off), at(h.cu_off)),
        (at(h.functab_off), end),
    ])
}

/// Feed the planned ranges, in file order, to a fresh collector.
pub fn collect(src: &dyn ByteSource, plan: &Plan) -> io::Result<Collector> {
    let mut col = Collector::new();
    let mut buf = vec![0u8; CHUNK];
    for &(start, end) in &plan.ranges {
        col.skip_to(start);
        let mut at = start;
        while at < end {
            let n = CHUNK.min((end - at) as usize);
            let got = src.read_into(at, &mut buf[..n])?;
            if got == 0 {
                break;
            }
            col.feed(&buf[..got]);
            at += got as u64;
        }
    }
    Ok(col)
}

fn read_at(src: &dyn ByteSource, at: u64, len: usize) -> io::Result<Vec<u8>> {
    Ok(src.read_ranges(&[(at, len)])?.pop().unwrap_or_default())
}

/// Sort and join overlapping or touching ranges.
fn merge(mut r: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    r.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(r.len());
    for (s, e) in r {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn ranges_merge_sorted_and_disjoint() {
        assert_eq!(
            merge(vec![(50, 60), (0, 10), (5, 20), (20, 30), (100, 100)]),
            vec![(0, 30), (50, 60), (100, 100)]
        );
    }
}
