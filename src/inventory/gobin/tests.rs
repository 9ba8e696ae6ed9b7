//! Synthetic executables for the layouts no local Go toolchain produces: the pre-1.18 pointer
//! format (Go 1.13–1.17), 32-bit big-endian ELF and 32-bit Mach-O. Real binaries built by Go are
//! covered by the parity tests in `tests/`.

use super::*;
use crate::artifact::stream::MemSource;

/// The same bytes without a known length: forces the streaming path.
struct Streamed(Vec<u8>);

impl ByteSource for Streamed {
    fn with_reader(
        &self,
        f: &mut dyn FnMut(&mut dyn io::Read) -> io::Result<()>,
    ) -> io::Result<()> {
        f(&mut &self.0[..])
    }
}

/// Read through both paths (seek and stream) and insist they agree.
fn read(src: &MemSource) -> Result<Executable, GoBinError> {
    let opts = ReadOptions { hash: false };
    let seek = super::read(src, opts);
    let stream = super::read(&Streamed(src.0.clone()), opts);
    match (&seek, &stream) {
        (Ok(a), Ok(b)) => {
            assert_eq!(format!("{:?}", a.images), format!("{:?}", b.images));
            assert!(b.sha256.is_some(), "streaming always hashes");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("seek and stream paths disagree: {seek:?} vs {stream:?}"),
    }
    seek
}

const START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];
const MODINFO: &str = "path\texample.com/old\nmod\texample.com/old\tv1.0.0\th1:x=\ndep\tgolang.org/x/text\tv0.3.6\th1:y=\n";

fn wrapped_modinfo() -> Vec<u8> {
    let mut m = START.to_vec();
    m.extend_from_slice(MODINFO.as_bytes());
    m.extend_from_slice(&END);
    m
}

struct W {
    b: Vec<u8>,
    be: bool,
}
impl W {
    fn put(&mut self, at: usize, v: &[u8]) {
        if self.b.len() < at + v.len() {
            self.b.resize(at + v.len(), 0);
        }
        self.b[at..at + v.len()].copy_from_slice(v);
    }
    fn int(&mut self, at: usize, v: u64, size: usize) {
        let bytes = if self.be {
            v.to_be_bytes()[8 - size..].to_vec()
        } else {
            v.to_le_bytes()[..size].to_vec()
        };
        self.put(at, &bytes);
    }
}

/// An ELF with a text segment at file 0x1000 and a data segment at 0x2000, holding a pre-1.18
/// buildinfo whose pointers lead into both.
fn pointer_format_elf(is64: bool, be: bool) -> Vec<u8> {
    let ps = if is64 { 8 } else { 4 };
    let mut w = W {
        b: vec![0; 0x3000],
        be,
    };
    w.put(0, b"\x7fELF");
    w.put(4, &[if is64 { 2 } else { 1 }, if be { 2 } else { 1 }, 1]);
    w.int(18, if is64 { 62 } else { 8 }, 2);
    let (phoff, phent) = if is64 { (64u64, 56usize) } else { (52, 32) };
    if is64 {
        w.int(32, phoff, 8);
        w.int(54, phent as u64, 2);
        w.int(56, 2, 2);
    } else {
        w.int(28, phoff, 4);
        w.int(42, phent as u64, 2);
        w.int(44, 2, 2);
    }
    let segs = [(0x1000u64, 0x40_1000u64, 5u32), (0x2000, 0x40_2000, 6)];
    for (i, (off, vaddr, flags)) in segs.iter().enumerate() {
        let p = phoff as usize + i * phent;
        w.int(p, 1, 4);
        if is64 {
            w.int(p + 4, u64::from(*flags), 4);
            w.int(p + 8, *off, 8);
            w.int(p + 16, *vaddr, 8);
            w.int(p + 32, 0x1000, 8);
        } else {
            w.int(p + 4, *off, 4);
            w.int(p + 8, *vaddr, 4);
            w.int(p + 16, 0x1000, 4);
            w.int(p + 24, u64::from(*flags), 4);
        }
    }
    // buildinfo header at the start of the data segment
    w.put(0x2000, MAGIC);
    w.put(0x200e, &[ps as u8, u8::from(be)]);
    w.int(0x2010, 0x40_2100, ps);
    w.int(0x2010 + ps, 0x40_2140, ps);
    // string headers
    let version = b"go1.16.15";
    let m = wrapped_modinfo();
    w.int(0x2100, 0x40_1000, ps);
    w.int(0x2100 + ps, version.len() as u64, ps);
    w.int(0x2140, 0x40_1100, ps);
    w.int(0x2140 + ps, m.len() as u64, ps);
    w.put(0x1000, version);
    w.put(0x1100, &m);
    w.b
}

#[test]
fn pointer_format_elf64_le() {
    let exe = read(&MemSource(pointer_format_elf(true, false))).unwrap();
    let img = &exe.images[0];
    assert_eq!(img.buildinfo.go_version, "go1.16.15");
    assert_eq!(img.buildinfo.path, "example.com/old");
    assert_eq!(img.buildinfo.deps[0].path, "golang.org/x/text");
    assert_eq!(img.goarch.as_deref(), Some("amd64"));
}

#[test]
fn pointer_format_elf32_be() {
    let exe = read(&MemSource(pointer_format_elf(false, true))).unwrap();
    let img = &exe.images[0];
    assert_eq!(img.buildinfo.go_version, "go1.16.15");
    assert_eq!(img.buildinfo.main.version, "v1.0.0");
    assert_eq!(img.goarch.as_deref(), Some("mips"));
}

#[test]
fn pointer_to_unmapped_address_is_corrupt() {
    let mut b = pointer_format_elf(true, false);
    b[0x2010..0x2018].copy_from_slice(&0xdead_0000u64.to_le_bytes());
    let e = read(&MemSource(b)).unwrap_err();
    assert!(e.to_string().contains("not mapped"), "{e}");
}

/// A 32-bit Mach-O with an inline (1.18+) buildinfo in `__DATA,__go_buildinfo`.
fn macho32_inline() -> Vec<u8> {
    let mut w = W {
        b: vec![0; 0x2000],
        be: false,
    };
    w.int(0, 0xfeed_face, 4);
    w.int(4, 7, 4); // i386
    w.int(16, 1, 4);
    let cmdsize = 56 + 68;
    w.int(20, cmdsize, 4);
    let c = 28;
    w.int(c, 1, 4);
    w.int(c + 4, cmdsize, 4);
    w.put(c + 8, b"__DATA");
    w.int(c + 24, 0x5000, 4);
    w.int(c + 28, 0x1000, 4);
    w.int(c + 32, 0x1000, 4);
    w.int(c + 36, 0x1000, 4);
    w.int(c + 40, 3, 4);
    w.int(c + 44, 3, 4);
    w.int(c + 48, 1, 4);
    let s = c + 56;
    w.put(s, b"__go_buildinfo");
    w.put(s + 16, b"__DATA");
    w.int(s + 32, 0x5000, 4);
    w.int(s + 36, 0x100, 4);
    w.int(s + 40, 0x1000, 4);
    let mut blob = MAGIC.to_vec();
    blob.extend_from_slice(&[4, 2]);
    blob.resize(32, 0);
    let v = b"go1.20.1 X:nocoverageredesign";
    blob.push(v.len() as u8);
    blob.extend_from_slice(v);
    let m = wrapped_modinfo();
    blob.extend_from_slice(&[(m.len() as u8) | 0x80, (m.len() >> 7) as u8]);
    blob.extend_from_slice(&m);
    w.put(0x1000, &blob);
    w.b
}

#[test]
fn macho32_inline_format() {
    let exe = read(&MemSource(macho32_inline())).unwrap();
    let img = &exe.images[0];
    assert_eq!(img.format, Format::MachO);
    assert_eq!(img.buildinfo.go_version, "go1.20.1 X:nocoverageredesign");
    assert_eq!(img.goos.as_deref(), Some("darwin"));
    assert_eq!(img.goarch.as_deref(), Some("386"));
    assert_eq!(img.buildinfo.deps.len(), 1);
}

#[test]
fn fat_macho_reads_every_slice() {
    let slice = macho32_inline();
    let mut w = W {
        b: vec![0; 0x1000],
        be: true,
    };
    w.int(0, 0xcafe_babe, 4);
    w.int(4, 2, 4);
    for (i, off) in [0x1000u64, 0x4000].iter().enumerate() {
        let e = 8 + i * 20;
        w.int(e, 7, 4);
        w.int(e + 8, *off, 4);
        w.int(e + 12, slice.len() as u64, 4);
        w.put(*off as usize, &slice);
    }
    let exe = read(&MemSource(w.b)).unwrap();
    assert_eq!(exe.images.len(), 2);
    assert_eq!(exe.images[1].offset, 0x4000);
    assert_eq!(exe.images[1].buildinfo.path, "example.com/old");
}

#[test]
fn missing_sentinels_give_empty_modinfo_like_go() {
    let mut b = macho32_inline();
    let at = memchr::memmem::find(&b, &START).unwrap();
    b[at] ^= 0xff;
    let end = memchr::memmem::find(&b, &END).unwrap();
    b[end - 1] = b'x'; // the byte before the end sentinel is no longer '\n'
    let exe = read(&MemSource(b)).unwrap();
    assert_eq!(exe.images[0].buildinfo.path, "");
}

#[test]
fn not_go_vs_go_without_buildinfo_vs_upx() {
    let mut b = macho32_inline();
    let at = memchr::memmem::find(&b, MAGIC).unwrap();
    b[at] = 0;
    assert!(matches!(
        read(&MemSource(b.clone())).unwrap_err(),
        GoBinError::NotGo(Format::MachO)
    ));
    b.extend_from_slice(b"\xff Go build ID: \"abc\"");
    assert!(matches!(
        read(&MemSource(b.clone())).unwrap_err(),
        GoBinError::NoBuildInfo(Format::MachO)
    ));
    b[0x800..0x804].copy_from_slice(b"UPX!");
    assert!(matches!(
        read(&MemSource(b)).unwrap_err(),
        GoBinError::UpxPacked
    ));
}

#[test]
fn bad_pointer_size_and_truncation_are_corrupt() {
    let mut b = pointer_format_elf(true, false);
    b[0x200e] = 3;
    assert!(matches!(
        read(&MemSource(b)).unwrap_err(),
        GoBinError::Corrupt { .. }
    ));
    let mut b = macho32_inline();
    b.truncate(0x1000 + 40);
    let e = read(&MemSource(b)).unwrap_err();
    assert!(e.to_string().contains("runs past the end"), "{e}");
}

/// An ELF over 64 KiB whose inline buildinfo sits outside the data window Go's reader searches:
/// the window-only scan finds nothing, the full rescan finds it (both paths agree).
#[test]
fn magic_outside_the_data_window_is_found_by_the_full_rescan() {
    let mut w = W {
        b: vec![0; 0x30000],
        be: false,
    };
    w.put(0, b"\x7fELF");
    w.put(4, &[2, 1, 1]);
    w.int(18, 62, 2);
    w.int(32, 64, 8);
    w.int(54, 56, 2);
    w.int(56, 2, 2);
    for (i, (off, flags)) in [(0x1000u64, 5u64), (0x20000, 6)].iter().enumerate() {
        let p = 64 + i * 56;
        w.int(p, 1, 4);
        w.int(p + 4, *flags, 4);
        w.int(p + 8, *off, 8);
        w.int(p + 16, 0x40_0000 + off, 8);
        w.int(p + 32, 0x10000, 8);
    }
    let mut blob = MAGIC.to_vec();
    blob.extend_from_slice(&[8, 2]);
    blob.resize(32, 0);
    blob.push(9);
    blob.extend_from_slice(b"go1.22.12");
    let m = wrapped_modinfo();
    blob.extend_from_slice(&[(m.len() as u8) | 0x80, (m.len() >> 7) as u8]);
    blob.extend_from_slice(&m);
    w.put(0x18000, &blob); // beyond the head, in the text segment
    let exe = read(&MemSource(w.b)).unwrap();
    assert_eq!(exe.images[0].buildinfo.go_version, "go1.22.12");
    assert_eq!(exe.images[0].buildinfo.path, "example.com/old");
}
