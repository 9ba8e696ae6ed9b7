#!/usr/bin/env python3
"""Write the seed corpora in fuzz/corpus/<target>/ from the repository's fixtures (small files only:
4 KiB heads of the sample executables, their buildinfo blobs, the sample vulndb, lock file, policy,
snapshots). Run from the repository root after `cargo test` has built the Go fixtures; the output
is committed, so CI needs neither Go nor this script."""
import glob, hashlib, io, json, os, re, struct, sys, zipfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "fuzz", "corpus")

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

def exes():
    for z in sorted(glob.glob(os.path.join(root, "samples/dist/*.zip"))):
        with zipfile.ZipFile(z) as zf:
            yield zf.namelist()[0], zf.read(zf.namelist()[0])

def uvarint(b, i):
    x = s = 0
    while True:
        c = b[i]; i += 1
        x |= (c & 0x7f) << s; s += 7
        if c < 0x80:
            return x, i

def buildinfo(exe):
    at = exe.find(b"\xff Go buildinf:")
    n, i = uvarint(exe, at + 32)
    ver = exe[i:i + n]; i += n
    m, j = uvarint(exe, i)
    return at, exe[at:j + m + 16 - (j + m) % 16], ver, exe[j:j + m]

for name, exe in exes():
    head = exe[:4096]
    at, blob, ver, mod = buildinfo(exe)
    put("exe_headers", head)
    put("go_image", head)
    put("go_image", head + b"\0" * (-len(head) % 16) + blob)
    put("modinfo", ver + b"\0" + mod[16:-16])
    small = head + b"\0" * (-len(head) % 16) + blob
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, small)
        zf.writestr("README.md", "demo")
    put("zip_select", buf.getvalue())
put("zip_select", open(os.path.join(root, "tests/fixtures/vectors/opentofu/foo.zip"), "rb").read())
put("modinfo", "go1.19.8\0path\texample.com/demo\nmod\texample.com/demo\t(devel)\t\ndep\texample.com/dep\tv0.0.0\n=>\t./dep\t(devel)\t\nbuild\t-ldflags=\"-s -w -X main.version=1.2.3\"\nbuild\tCGO_ENABLED=0\n")

for f in sorted(glob.glob(os.path.join(root, "tests/snapshots/*.json"))):
    put("sbom_ingest", open(f, "rb").read())
put("sbom_ingest", json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
    {"type": "library", "name": "github.com/hashicorp/hcl/v2", "version": "v2.14.1",
     "purl": "pkg:golang/github.com/hashicorp/hcl@v2.14.1#v2"},
    {"type": "library", "name": "stdlib", "version": "go1.26.8", "purl": "pkg:golang/stdlib@1.26.8"}]}))

ids = sorted(glob.glob(os.path.join(root, "samples/vulndb/ID/*.json")))
for f in ids:
    put("osv_entry", open(f, "rb").read())
idx = lambda n: open(os.path.join(root, "samples/vulndb/index", n), "rb").read()
put("vulndb", idx("db.json") + b"\0" + idx("modules.json") + b"\0" + open(ids[0], "rb").read())

put("versions", "\n".join(["v1.2.3", "1.0.0-rc.1", "v0.0.0-20220906165146-f3363e06e74c", "v2.0.0+incompatible",
    "~> 5.0", ">= 1.0, < 2.0", "!= 1.4.0", "1.2.3_meta", "go1.21rc2", "go1.26.1-X:nodwarf5",
    "-s -w -X main.version=1.2.3", "pkg:golang/github.com/Azure/go-autorest@v0.11.29#autorest",
    "2026-11-01T00:00:00.123Z"]))
put("lockfile", open(os.path.join(root, "samples/infra/.terraform.lock.hcl"), "rb").read())
put("policy_toml", open(os.path.join(root, "rules/default.toml"), "rb").read())
put("policy_toml", open(os.path.join(root, "samples/infra/provguard.toml"), "rb").read())
put("policy_toml", '[[ignore]]\nid = "CVE-2024-45337"\nreason = "no SSH server"\nexpires = "2027-03-31"\n'
    'provider = "registry.opentofu.org/example/demo"\nversion = "1.2.3"\n')
desc = lambda mt, d, extra={}: dict({"mediaType": mt, "digest": "sha256:" + d * 64, "size": 123}, **extra)
put("oci_manifest", json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "artifactType": "application/vnd.opentofu.provider", "manifests": [
        desc("application/vnd.oci.image.manifest.v1+json", "a", {"platform": {"os": "linux", "architecture": "amd64"}})]}))
put("oci_manifest", json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "artifactType": "application/vnd.opentofu.provider-target",
    "config": desc("application/vnd.oci.empty.v1+json", "b"),
    "layers": [desc("archive/zip", "c")], "subject": desc("application/vnd.oci.image.manifest.v1+json", "d")}))
