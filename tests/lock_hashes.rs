//! `provguard lock-hashes` against OpenTofu's own vectors and the samples' lock file.

mod support;

use support::*;

fn lock_hashes(args: &[&std::path::Path]) -> (Option<i32>, String, String) {
    let o = provguard().arg("lock-hashes").args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn reproduces_opentofu_vectors() {
    let v = repo().join("tests/fixtures/vectors/opentofu");
    let (code, out, err) = lock_hashes(&[&v.join("foo.zip"), &v.join("null-2.0.0-linux_amd64")]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        "  hashes = [\n    \"h1:/7EZyaSc8nHM3uqUqKetvsgqMEnGsWwI4PolJOvE8Xo=\",\n    \"h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=\",\n    \"zh:11aa47eb05d2bac7eb9c27fdbf1447152c4f07c814a24db86c24339253db1534\",\n  ]\n"
    );
}

#[test]
fn reproduces_the_samples_lock_file() {
    let zips: Vec<_> = ["darwin_arm64", "linux_amd64", "windows_amd64"]
        .iter()
        .map(|p| sample_zip(p))
        .collect();
    let refs: Vec<&std::path::Path> = zips.iter().map(|p| p.as_path()).collect();
    let (code, out, _) = lock_hashes(&refs);
    assert_eq!(code, Some(0));
    let lock = std::fs::read_to_string(repo().join("samples/infra/.terraform.lock.hcl")).unwrap();
    assert!(
        lock.contains(&out),
        "lock file holds exactly this block:\n{out}"
    );
}

#[test]
fn directory_entries_are_skipped_and_hostile_names_refused() {
    let d = tempfile::tempdir().unwrap();
    let with_dir = d.path().join("a.zip");
    {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::fs::File::create(&with_dir).unwrap());
        z.add_directory("sub/", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.start_file(
            "terraform-provider-foo",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(
            &std::fs::read(repo().join(
                "tests/fixtures/vectors/opentofu/null-2.0.0-linux_amd64/terraform-provider-null",
            ))
            .unwrap(),
        )
        .unwrap();
        z.finish().unwrap();
    }
    let plain = d.path().join("b.zip");
    let bytes = std::fs::read(
        repo()
            .join("tests/fixtures/vectors/opentofu/null-2.0.0-linux_amd64/terraform-provider-null"),
    )
    .unwrap();
    write_zip(&plain, &[("terraform-provider-foo", &bytes)]);
    let h1 = |p: &std::path::Path| lock_hashes(&[p]).1.lines().nth(1).unwrap().to_string();
    assert_eq!(
        h1(&with_dir),
        h1(&plain),
        "a directory entry does not change h1"
    );
    let evil = d.path().join("evil.zip");
    write_zip(&evil, &[("../x", b"1")]);
    let (code, _, err) = lock_hashes(&[&evil]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unsafe entry name"), "{err}");
}
