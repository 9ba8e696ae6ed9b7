//! Unit tests on synthetic tables: header checks, hostile counts and offsets, pc-value decoding,
//! and the streaming collector's handling of chunk boundaries. Real binaries are in
//! `tests/symbols.rs`.

use super::collect::Collector;
use super::table::{self, TableVersion};

/// A 1.20-format header (64-bit little-endian) with the given words.
fn header120(nfunc: u64, regions: [u64; 5]) -> Vec<u8> {
    let mut h = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
    for w in [nfunc, 3, 0].into_iter().chain(regions) {
        h.extend_from_slice(&w.to_le_bytes());
    }
    h
}

#[test]
fn prefix_in_both_byte_orders_and_rejects() {
    assert_eq!(
        table::check_prefix(&[0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8]),
        Some((TableVersion::Go120, false, 72))
    );
    assert_eq!(
        table::check_prefix(&[0xff, 0xff, 0xff, 0xf0, 0, 0, 2, 8]),
        Some((TableVersion::Go118, true, 72))
    );
    assert_eq!(
        table::check_prefix(&[0xfa, 0xff, 0xff, 0xff, 0, 0, 4, 4]),
        Some((TableVersion::Go116, false, 36))
    );
    assert_eq!(
        table::check_prefix(&[0xfb, 0xff, 0xff, 0xff, 0, 0, 1, 4]),
        Some((TableVersion::Go12, false, 12))
    );
    for bad in [
        [0xf2, 0xff, 0xff, 0xff, 0, 0, 1, 8], // unknown magic
        [0xf1, 0xff, 0xff, 0xff, 1, 0, 1, 8], // pad
        [0xf1, 0xff, 0xff, 0xff, 0, 0, 3, 8], // quantum
        [0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 2], // pointer size
    ] {
        assert_eq!(table::check_prefix(&bad), None, "{bad:02x?}");
    }
    assert_eq!(table::check_prefix(&[0xf1, 0xff]), None);
}

#[test]
fn hostile_headers() {
    let ok = header120(10, [72, 100, 120, 140, 200]);
    let h = table::parse_header(&ok).unwrap();
    assert_eq!((h.nfunc, h.funcname_off, h.functab_off), (10, 72, 200));
    assert_eq!(h.functab_len(), 10 * 8 + 4);
    // 2^31 functions: refused before anything is sized by it.
    let e = table::parse_header(&header120(1 << 31, [72, 100, 120, 140, 200])).unwrap_err();
    assert!(e.contains("implausible function count 2147483648"), "{e}");
    assert!(table::parse_header(&header120(0, [72, 100, 120, 140, 200])).is_err());
    // Regions out of order, or starting inside the header.
    let e = table::parse_header(&header120(10, [72, 300, 120, 140, 200])).unwrap_err();
    assert!(e.contains("out of order"), "{e}");
    assert!(table::parse_header(&header120(10, [8, 100, 120, 140, 200])).is_err());
    let e = table::parse_header(&header120(10, [72, 100, 120, 140, u64::MAX])).unwrap_err();
    assert!(e.contains("implausible"), "{e}");
    // Truncated.
    assert!(table::parse_header(&ok[..40]).is_err());
}

#[test]
fn function_table_checks() {
    let h = table::parse_header(&header120(3, [72, 100, 120, 140, 200])).unwrap();
    let mut ft = Vec::new();
    for (pc, off) in [(0u32, 28u32), (16, 72), (8, 116)] {
        ft.extend_from_slice(&pc.to_le_bytes());
        ft.extend_from_slice(&off.to_le_bytes());
    }
    ft.extend_from_slice(&32u32.to_le_bytes());
    let e = table::functab(&h, &ft).unwrap_err();
    assert!(e.contains("goes backwards"), "{e}");
    let e = table::functab(&h, &ft[..20]).unwrap_err();
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn names_split_and_bad_name_offsets() {
    use super::{SymbolKind, set::NameTable};
    let tab = b"main.main\0dep.Small\0dep.Big\0";
    let s = NameTable::build(tab).into_set(&[0, 20]).unwrap();
    assert_eq!(s.get("main", "main"), Some(SymbolKind::Function));
    assert_eq!(s.get("dep", "Big"), Some(SymbolKind::Function));
    assert_eq!(s.get("dep", "Small"), Some(SymbolKind::Inlined));
    // Past the end, and into the middle of a name.
    for bad in [4000, 3] {
        let e = NameTable::build(tab).into_set(&[0, bad]).unwrap_err();
        assert!(e.contains(&format!("function name offset {bad}")), "{e}");
    }
    assert_eq!(table::cstr_at(tab, 10), Some(&b"dep.Small"[..]));
    assert_eq!(table::cstr_at(tab, 1 << 40), None);
    assert_eq!(table::cstr_at(b"no terminator", 0), None);
}

#[test]
fn pc_value_tables_end_or_fail_never_loop() {
    // value +2 (uv 4), pc 1; value +3 (uv 6), pc 1; end.
    assert_eq!(table::pcvalue_max(&[4, 1, 6, 1, 0], 0, 1), Ok(4));
    // Value deltas that never end: bounded by the bytes, an error at the end of the table.
    let e = table::pcvalue_max(&[2, 1, 2, 1, 2, 1], 0, 1).unwrap_err();
    assert!(e.contains("runs past the end"), "{e}");
    // A varint that never terminates.
    assert!(table::pcvalue_max(&[0xff; 64], 0, 1).is_err());
    assert!(table::pcvalue_max(&[4, 1, 0], 1 << 40, 1).is_err());
    assert_eq!(table::uvarint(&[0x80, 0x01]), Some((128, 2)));
}

/// The collector finds a table whose magic straddles two chunks, fed one byte at a time or in
/// odd-sized pieces, and keeps the same result.
#[test]
fn collector_is_chunking_independent() {
    // A minimal 64-bit little-endian ELF head with one PT_LOAD covering the file.
    let mut f = vec![0u8; 0x200];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2;
    f[5] = 1;
    f[18] = 62;
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&1u16.to_le_bytes());
    let ph = 64;
    f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
    f[ph + 4..ph + 8].copy_from_slice(&4u32.to_le_bytes());
    f[ph + 16..ph + 24].copy_from_slice(&0x40_0000u64.to_le_bytes());
    // The table at 0x1fc: header, names, cu/file/pc tabs, functab, two _func records.
    let at = 0x1fc;
    let names = b"main.main\0dep.Small\0".to_vec();
    let fname = 72u64;
    let cu = fname + names.len() as u64;
    let functab = cu + 12;
    let mut t = header120(2, [fname, cu, cu + 4, cu + 8, functab]);
    t.extend_from_slice(&names);
    t.extend_from_slice(&[0u8; 12]);
    let ft_len: u32 = 2 * 8 + 4;
    for (pc, off) in [(0u32, ft_len), (16, ft_len + 44)] {
        t.extend_from_slice(&pc.to_le_bytes());
        t.extend_from_slice(&off.to_le_bytes());
    }
    t.extend_from_slice(&32u32.to_le_bytes());
    for pc in [0u32, 16] {
        let mut rec = vec![0u8; 44];
        rec[..4].copy_from_slice(&pc.to_le_bytes());
        // both records name main.main (offset 0); dep.Small is inlined only
        t.extend_from_slice(&rec);
    }
    f.truncate(at);
    f.extend_from_slice(&t);
    let len = f.len() as u64;
    f[ph + 8..ph + 16].copy_from_slice(&0u64.to_le_bytes());
    f[ph + 32..ph + 40].copy_from_slice(&len.to_le_bytes());
    let src = crate::artifact::stream::MemSource(f.clone());
    let whole = super::read(&src).unwrap();
    assert_eq!(whole[0].table_offset, at as u64);
    assert_eq!(whole[0].found_by, super::FoundBy::HeaderScan);
    assert_eq!(
        whole[0].get("main", "main"),
        Some(super::SymbolKind::Function)
    );
    assert_eq!(
        whole[0].get("dep", "Small"),
        Some(super::SymbolKind::Inlined)
    );
    for step in [1, 3, 7, 13, 256] {
        let mut col = Collector::new();
        for c in f.chunks(step) {
            col.feed(c);
        }
        let got = super::finish(col, &src).unwrap();
        assert_eq!(got[0].sorted(), whole[0].sorted(), "step {step}");
    }
}
