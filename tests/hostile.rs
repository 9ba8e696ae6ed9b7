//! Hostile and broken inputs: each gets its own clear message and exit code 2, never a panic,
//! and never an output file (not even a partial one).

mod support;

use std::io::Write;
use std::path::Path;

use support::*;

/// Run `provguard sbom TARGET --output out.json`; return stderr after checking exit 2 and no file.
fn fails(target: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let o = provguard()
        .arg("sbom")
        .arg(target)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(2),
        "exit code for {}: {stderr}",
        target.display()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "no output file after an error");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "no temp files left: {leftovers:?}");
    stderr
}

fn expect(target: &Path, needle: &str) {
    let e = fails(target);
    assert!(e.contains(needle), "expected {needle:?} in: {e}");
}

#[test]
fn truncated_zip() {
    let d = tempfile::tempdir().unwrap();
    let p = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    let bytes = std::fs::read(sample_zip("linux_amd64")).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    expect(&p, "is not a readable ZIP archive");
}

#[test]
fn zip_without_executable_names_what_it_found() {
    let d = tempfile::tempdir().unwrap();
    let p = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    write_zip(&p, &[("README.md", b"hi"), ("LICENSE", b"x")]);
    let e = fails(&p);
    assert!(
        e.contains("holds no provider executable named terraform-provider-demo"),
        "{e}"
    );
    assert!(e.contains("README.md, LICENSE"), "{e}");
}

#[test]
fn zip_with_two_executables_is_ambiguous() {
    let d = tempfile::tempdir().unwrap();
    let p = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    let exe = sample_exe("linux_amd64");
    write_zip(
        &p,
        &[
            ("terraform-provider-demo_v1.2.3", &exe),
            ("terraform-provider-demo_v1.2.4", &exe),
        ],
    );
    let e = fails(&p);
    assert!(e.contains("several provider executables"), "{e}");
    assert!(
        e.contains("terraform-provider-demo_v1.2.3, terraform-provider-demo_v1.2.4"),
        "{e}"
    );
}

#[test]
fn zip_slip_entry_rejects_the_archive() {
    let d = tempfile::tempdir().unwrap();
    let p = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    write_zip(
        &p,
        &[
            ("terraform-provider-demo_v1.2.3", b"\x7fELF"),
            ("../../etc/evil", b"x"),
        ],
    );
    expect(&p, "unsafe entry name \"../../etc/evil\"");
}

/// A ZIP holding the provider and one entry named `name`; `sbom` and `lock-hashes` both refuse it.
fn absolute_entry_is_refused(name: &str) {
    let d = tempfile::tempdir().unwrap();
    let p = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    write_zip(
        &p,
        &[
            ("terraform-provider-demo_v1.2.3", &sample_exe("linux_amd64")),
            (name, b"x"),
        ],
    );
    let msg = format!("unsafe entry name {name:?} (absolute or escaping");
    expect(&p, &msg);
    let o = provguard().arg("lock-hashes").arg(&p).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "lock-hashes: {stderr}");
    assert!(stderr.contains(&msg), "lock-hashes: {stderr}");
}

#[test]
fn absolute_unix_entry_rejects_the_archive() {
    absolute_entry_is_refused("/tmp/evil");
}

#[test]
fn absolute_drive_entry_rejects_the_archive() {
    absolute_entry_is_refused("C:\\Windows\\evil.dll");
    absolute_entry_is_refused("C:/Windows/evil.dll");
}

#[test]
fn absolute_unc_entry_rejects_the_archive() {
    absolute_entry_is_refused("\\\\host\\share\\evil");
}

#[test]
fn decompression_bomb_is_stopped() {
    let d = tempfile::tempdir().unwrap();
    let p = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    let zeros = vec![0u8; 64 << 20];
    write_zip(&p, &[("terraform-provider-demo_v1.2.3", &zeros)]);
    assert!(std::fs::metadata(&p).unwrap().len() < 1 << 20);
    expect(&p, "looks like a decompression bomb");
}

/// The sample ZIP with every CRC-32 (local headers and central directory) changed: the inflated
/// bytes no longer match what the archive promises.
#[test]
fn wrong_crc_is_a_corrupt_entry() {
    let d = tempfile::tempdir().unwrap();
    let p = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    let mut bytes = std::fs::read(sample_zip("linux_amd64")).unwrap();
    let mut changed = 0;
    for (sig, at) in [(b"PK\x03\x04", 14), (b"PK\x01\x02", 16)] {
        let hits: Vec<usize> = bytes
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == sig)
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            bytes[i + at] ^= 0x5a;
            changed += 1;
        }
    }
    assert!(changed >= 2, "the sample has headers to change");
    std::fs::write(&p, &bytes).unwrap();
    expect(&p, "is corrupt");
}

/// A byte of the compressed stream flipped: inflate fails, or the CRC-32 catches it.
#[test]
fn flipped_compressed_byte_is_an_error_not_a_result() {
    let d = tempfile::tempdir().unwrap();
    let p = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    let exe = sample_exe("linux_amd64");
    write_zip(&p, &[("terraform-provider-demo_v1.2.3", &exe)]);
    let mut bytes = std::fs::read(&p).unwrap();
    // Inside the deflate data (the local header and name take < 100 bytes).
    let mid = bytes.len() / 3;
    bytes[mid] ^= 0xff;
    std::fs::write(&p, &bytes).unwrap();
    let e = fails(&p);
    assert!(
        e.contains("is corrupt") || e.contains("deflate") || e.contains("invalid"),
        "{e}"
    );
}

#[test]
fn entry_over_the_size_limit_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o.json");
    let o = provguard()
        .args(["sbom", "--max-entry-size", "1000"])
        .arg(sample_zip("linux_amd64"))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("over the 1000-byte limit"));
    assert!(!out.exists());
}

#[test]
fn non_go_elf() {
    expect(
        Path::new("/bin/true"),
        "not a Go binary: this ELF executable",
    );
}

#[test]
fn empty_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("terraform-provider-demo");
    std::fs::write(&p, b"").unwrap();
    expect(&p, "the file is empty");
}

#[test]
fn not_an_executable_at_all() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("terraform-provider-demo");
    std::fs::write(&p, b"#!/bin/sh\necho hi\n").unwrap();
    expect(
        &p,
        "not an executable: the file starts with bytes 23 21 2f 62",
    );
}

#[test]
fn flipped_elf_class_byte_is_a_corrupt_header() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("terraform-provider-demo");
    let mut b = sample_exe("linux_amd64");
    b[4] = 0x7;
    std::fs::write(&p, b).unwrap();
    expect(&p, "corrupt ELF header: invalid class byte 0x07");
}

#[test]
fn flipped_bytes_after_buildinfo_magic_are_corrupt_buildinfo() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("terraform-provider-demo");
    let mut b = sample_exe("linux_amd64");
    let at = memchr::memmem::find(&b, b"\xff Go buildinf:").unwrap();
    b[at + 15] = 0; // clear the inline-format flag: the header now reads as pointers
    b[at + 16..at + 32].fill(0xee);
    std::fs::write(&p, b).unwrap();
    expect(&p, "corrupt Go buildinfo");
}

#[test]
fn go_binary_with_buildinfo_wiped() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("terraform-provider-demo");
    let mut b = sample_exe("linux_amd64");
    let at = memchr::memmem::find(&b, b"\xff Go buildinf:").unwrap();
    b[at..at + 14].fill(0);
    std::fs::write(&p, b).unwrap();
    expect(&p, "Go binary without buildinfo");
}

/// UPX is not packaged for this Debian, so this builds what UPX output looks like to a reader:
/// the original ELF header, the `UPX!` pack header, then the program compressed (buildinfo no
/// longer visible). The real UPX-packed Trivy 0.44.1 build is checked below when fetched.
#[test]
fn upx_packed_synthetic() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("terraform-provider-demo");
    let exe = sample_exe("linux_amd64");
    let mut packed = exe[..0x200].to_vec();
    packed.extend_from_slice(b"\0\0\0\0UPX!\x0d\x0a\x0e\x16");
    let mut enc = deflated(&exe);
    packed.append(&mut enc);
    std::fs::write(&p, packed).unwrap();
    expect(&p, "UPX-packed executable");
}

/// `data` deflated (inside a one-entry ZIP), so no byte pattern of the original survives.
fn deflated(data: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file("x", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(data).unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn upx_packed_real_trivy_0_44_1() {
    let Some(t) = trivy("0.44.1") else { return };
    expect(&t, "UPX-packed executable");
}

#[test]
fn batch_with_one_bad_target_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let dist = d.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::copy(
        sample_zip("linux_amd64"),
        dist.join("terraform-provider-demo_1.2.3_linux_amd64.zip"),
    )
    .unwrap();
    write_zip(
        &dist.join("terraform-provider-demo_1.2.3_linux_arm64.zip"),
        &[("README.md", b"x")],
    );
    let out = d.path().join("out");
    let o = provguard()
        .arg("sbom")
        .arg(&dist)
        .arg("--output-dir")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("linux_arm64.zip holds no provider executable")
    );
    assert!(!out.exists(), "all or nothing");
}
