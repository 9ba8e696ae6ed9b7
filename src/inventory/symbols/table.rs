//! The pclntab itself: header layouts per table version, the function table, `_func` records,
//! `funcnametab` and (1.2 format only) inline trees, decoded from byte slices with every offset
//! and count checked against the bytes really there. Nothing here allocates by a count the table
//! claims; only by bytes that were read.

use std::fmt;

use crate::inventory::gobin::exe::Reader;

/// The four table layouts (`magic` in the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum TableVersion {
    /// `0xfffffffb`: go1.2–go1.15.
    #[serde(rename = "1.2")]
    Go12,
    /// `0xfffffffa`: go1.16–go1.17.
    #[serde(rename = "1.16")]
    Go116,
    /// `0xfffffff0`: go1.18–go1.19.
    #[serde(rename = "1.18")]
    Go118,
    /// `0xfffffff1`: go1.20 and later.
    #[serde(rename = "1.20")]
    Go120,
}

impl TableVersion {
    pub fn from_magic(m: u32) -> Option<TableVersion> {
        Some(match m {
            0xffff_fffb => TableVersion::Go12,
            0xffff_fffa => TableVersion::Go116,
            0xffff_fff0 => TableVersion::Go118,
            0xffff_fff1 => TableVersion::Go120,
            _ => return None,
        })
    }

    /// Which Go versions write this layout.
    pub fn go_versions(self) -> &'static str {
        match self {
            TableVersion::Go12 => "go1.2–go1.15",
            TableVersion::Go116 => "go1.16–go1.17",
            TableVersion::Go118 => "go1.18–go1.19",
            TableVersion::Go120 => "go1.20+",
        }
    }
}

impl fmt::Display for TableVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TableVersion::Go12 => "1.2",
            TableVersion::Go116 => "1.16",
            TableVersion::Go118 => "1.18",
            TableVersion::Go120 => "1.20",
        })
    }
}

/// Bytes needed to know the header's full length (magic, pads, quantum, pointer size).
pub const PREFIX_LEN: usize = 8;
/// The largest header (1.18+ on 64-bit).
pub const MAX_HEADER_LEN: usize = 8 + 8 * 8;

/// Checks on the first eight bytes (`debug/gosym`): a known magic in either byte order, zero
/// pads, quantum 1/2/4, pointer size 4/8. Returns the version, byte order and header length.
pub fn check_prefix(b: &[u8]) -> Option<(TableVersion, bool, usize)> {
    let m: [u8; 4] = b.get(..4)?.try_into().ok()?;
    let (v, be) = match TableVersion::from_magic(u32::from_le_bytes(m)) {
        Some(v) => (v, false),
        None => (TableVersion::from_magic(u32::from_be_bytes(m))?, true),
    };
    let (pad, quantum, ptr) = (b.get(4..6)?, *b.get(6)?, *b.get(7)?);
    if pad != [0, 0] || !matches!(quantum, 1 | 2 | 4) || !matches!(ptr, 4 | 8) {
        return None;
    }
    let p = usize::from(ptr);
    let len = match v {
        TableVersion::Go12 => 8 + p,
        TableVersion::Go116 => 8 + 7 * p,
        TableVersion::Go118 | TableVersion::Go120 => 8 + 8 * p,
    };
    Some((v, be, len))
}

/// A parsed and structurally checked header. Offsets are relative to the header start.
#[derive(Debug, Clone)]
pub struct Header {
    pub version: TableVersion,
    pub big_endian: bool,
    pub quantum: u8,
    pub ptr_size: u8,
    pub nfunc: u64,
    pub header_len: usize,
    /// 1.16+ regions; all zero on the 1.2 format.
    pub funcname_off: u64,
    pub cu_off: u64,
    pub filetab_off: u64,
    pub pctab_off: u64,
    /// Start of the function table: `pclnOffset` on 1.16+, right after the header on 1.2.
    pub functab_off: u64,
}

/// Largest plausible function count: far above the biggest providers (a few 10^5), far below
/// anything that could cost memory before the bytes are there.
pub const MAX_NFUNC: u64 = 1 << 24;

impl Header {
    pub fn reader<'a>(&self, b: &'a [u8]) -> Word<'a> {
        Word {
            r: Reader {
                b,
                be: self.big_endian,
            },
            ptr: self.ptr_size,
        }
    }

    /// Size of one function-table entry (entry PC + funcoff).
    pub fn functab_entry(&self) -> u64 {
        match self.version {
            TableVersion::Go12 | TableVersion::Go116 => 2 * u64::from(self.ptr_size),
            TableVersion::Go118 | TableVersion::Go120 => 8,
        }
    }

    /// Bytes of the function table: `nfunc` entries and the end-PC word.
    pub fn functab_len(&self) -> u64 {
        self.nfunc * self.functab_entry() + self.functab_entry() / 2
    }

    /// Where the name offset sits in a `_func` record, and the entry field's width.
    pub fn func_name_field(&self) -> (usize, usize) {
        match self.version {
            TableVersion::Go12 | TableVersion::Go116 => {
                (usize::from(self.ptr_size), usize::from(self.ptr_size))
            }
            TableVersion::Go118 | TableVersion::Go120 => (4, 4),
        }
    }
}

/// Pointer-size aware reads.
#[derive(Clone, Copy)]
pub struct Word<'a> {
    pub(crate) r: Reader<'a>,
    pub ptr: u8,
}

impl Word<'_> {
    pub fn word(&self, off: usize) -> Option<u64> {
        if self.ptr == 8 {
            self.r.u64(off)
        } else {
            self.r.u32(off).map(u64::from)
        }
    }
    pub fn u32(&self, off: usize) -> Option<u32> {
        self.r.u32(off)
    }
    /// A `len`-byte field (4 or pointer-sized).
    pub fn field(&self, off: usize, len: usize) -> Option<u64> {
        if len == 8 {
            self.r.u64(off)
        } else {
            self.r.u32(off).map(u64::from)
        }
    }
}

/// Parse and check a complete header (`b` holds at least its length).
pub fn parse_header(b: &[u8]) -> Result<Header, String> {
    let (version, big_endian, header_len) =
        check_prefix(b).ok_or("not a pclntab header (magic, pads, quantum or pointer size)")?;
    if b.len() < header_len {
        return Err(format!(
            "header truncated: {} of {header_len} bytes",
            b.len()
        ));
    }
    let mut h = Header {
        version,
        big_endian,
        quantum: b[6],
        ptr_size: b[7],
        nfunc: 0,
        header_len,
        funcname_off: 0,
        cu_off: 0,
        filetab_off: 0,
        pctab_off: 0,
        functab_off: header_len as u64,
    };
    let w = h.reader(b);
    let p = usize::from(h.ptr_size);
    let word = |i: usize| w.word(8 + i * p).ok_or("header truncated");
    h.nfunc = word(0)?;
    if h.nfunc == 0 || h.nfunc > MAX_NFUNC {
        return Err(format!(
            "implausible function count {} (at most {MAX_NFUNC} accepted)",
            h.nfunc
        ));
    }
    let first = match version {
        TableVersion::Go12 => return Ok(h),
        TableVersion::Go116 => 2,
        TableVersion::Go118 | TableVersion::Go120 => 3,
    };
    h.funcname_off = word(first)?;
    h.cu_off = word(first + 1)?;
    h.filetab_off = word(first + 2)?;
    h.pctab_off = word(first + 3)?;
    h.functab_off = word(first + 4)?;
    let order = [
        header_len as u64,
        h.funcname_off,
        h.cu_off,
        h.filetab_off,
        h.pctab_off,
        h.functab_off,
    ];
    if order.windows(2).any(|w| w[0] > w[1]) || h.funcname_off == h.cu_off {
        return Err(format!(
            "region offsets out of order (funcname {}, cu {}, filetab {}, pctab {}, functab {})",
            h.funcname_off, h.cu_off, h.filetab_off, h.pctab_off, h.functab_off
        ));
    }
    if h.functab_off > u64::from(u32::MAX) * 4 {
        return Err(format!(
            "function table offset {} is implausible",
            h.functab_off
        ));
    }
    Ok(h)
}

/// The function-table entries: `(entry, funcoff)` pairs. `b` is the function table.
pub fn functab(h: &Header, b: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let need = h.functab_len();
    if (b.len() as u64) < need {
        return Err(format!(
            "function table truncated: {} functions need {need} bytes, {} present",
            h.nfunc,
            b.len()
        ));
    }
    let w = h.reader(b);
    let ent = h.functab_entry() as usize;
    let half = ent / 2;
    let mut out = Vec::with_capacity(b.len() / ent);
    let mut prev = 0;
    for i in 0..h.nfunc as usize {
        let at = i * ent;
        let (pc, off) = (
            w.field(at, half).ok_or("function table truncated")?,
            w.field(at + half, half).ok_or("function table truncated")?,
        );
        if pc < prev {
            return Err(format!("function table entry {i} goes backwards"));
        }
        prev = pc;
        out.push((pc, off));
    }
    Ok(out)
}

/// A NUL-terminated string at `off` in `b`, at most `MAX_NAME` bytes.
pub fn cstr_at(b: &[u8], off: u64) -> Option<&[u8]> {
    let s = b.get(usize::try_from(off).ok()?..)?;
    let s = &s[..s.len().min(MAX_NAME)];
    let end = memchr::memchr(0, s)?;
    Some(&s[..end])
}

/// Longest function name accepted (generic shape names reach a few KiB).
pub const MAX_NAME: usize = 64 * 1024;

/// Go 1.2-format constants (go1.13–go1.15 layout).
pub mod go12 {
    /// `_PCDATA_InlTreeIndex` and `_FUNCDATA_InlTree` in go1.13–go1.15.
    pub const PCDATA_INL: u32 = 2;
    pub const FUNCDATA_INL: u8 = 4;
    /// `inlinedCall` record size and its `func_` (name offset) field.
    pub const INL_RECORD: usize = 20;
    pub const INL_NAME_AT: usize = 12;
}

/// What a 1.2-format `_func` record says: its name offset and, when it has one, the address of
/// its inline tree and the number of records in it.
#[derive(Debug, Clone, Default)]
pub struct Go12Func {
    pub name_off: u64,
    pub inline: Option<(u64, usize)>,
}

/// Read one 1.2-format `_func` at `funcoff` in the table `t`.
pub fn go12_func(h: &Header, t: &[u8], entry: u64, funcoff: u64) -> Result<Go12Func, String> {
    let p = usize::from(h.ptr_size);
    let at = usize::try_from(funcoff).map_err(|_| "function offset overflows")?;
    let w = h.reader(t);
    let missing = || format!("function record at table offset {funcoff} lies outside the table");
    let got_entry = w.word(at).ok_or_else(missing)?;
    if got_entry != entry {
        return Err(format!(
            "function record at table offset {funcoff} has entry {got_entry:#x}, the table says {entry:#x}"
        ));
    }
    let name_off = u64::from(w.u32(at + p).ok_or_else(missing)?);
    let npcdata = w.u32(at + p + 24).ok_or_else(missing)?;
    let nfuncdata = *t.get(at + p + 31).ok_or_else(missing)?;
    let mut f = Go12Func {
        name_off,
        inline: None,
    };
    if npcdata <= go12::PCDATA_INL || nfuncdata <= go12::FUNCDATA_INL {
        return Ok(f);
    }
    let pcdata_at = at + p + 32;
    let pc_off = w
        .u32(pcdata_at + 4 * go12::PCDATA_INL as usize)
        .ok_or_else(missing)?;
    let mut fd_at = pcdata_at + 4 * npcdata as usize;
    fd_at = fd_at.next_multiple_of(p);
    let tree = w
        .word(fd_at + p * usize::from(go12::FUNCDATA_INL))
        .ok_or_else(missing)?;
    if pc_off == 0 || tree == 0 {
        return Ok(f);
    }
    let max = pcvalue_max(t, u64::from(pc_off), h.quantum)?;
    if max >= 0 {
        let n = max as usize + 1;
        // Records cannot outnumber the bytes of their own pc-value table by this much.
        if n > t.len() / go12::INL_RECORD + 1 {
            return Err(format!("inline tree of {n} records is implausible"));
        }
        f.inline = Some((tree, n));
    }
    Ok(f)
}

/// The largest value of a pc-value table at `off` in `t` (−1 when it holds none). Stops at the end
/// of the bytes; never loops longer than the table is long.
pub fn pcvalue_max(t: &[u8], off: u64, _quantum: u8) -> Result<i64, String> {
    let mut at = usize::try_from(off).map_err(|_| "pc-value offset overflows")?;
    if at >= t.len() {
        return Err(format!(
            "pc-value table offset {off} lies outside the table"
        ));
    }
    let mut val: i64 = -1;
    let mut max = -1;
    let mut first = true;
    loop {
        let (uv, n) = uvarint(&t[at.min(t.len())..])
            .ok_or_else(|| format!("pc-value table at {off} runs past the end of the table"))?;
        at += n;
        if uv == 0 && !first {
            return Ok(max);
        }
        first = false;
        let delta = if uv & 1 != 0 {
            -((uv >> 1) as i64) - 1
        } else {
            (uv >> 1) as i64
        };
        val = val.checked_add(delta).ok_or("pc-value table overflows")?;
        max = max.max(val);
        let (_pc, n) = uvarint(&t[at.min(t.len())..])
            .ok_or_else(|| format!("pc-value table at {off} runs past the end of the table"))?;
        at += n;
    }
}

/// Go's `uvarint`: value and bytes consumed.
pub fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &c) in b.iter().enumerate().take(10) {
        v |= u64::from(c & 0x7f) << (7 * i);
        if c & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}
