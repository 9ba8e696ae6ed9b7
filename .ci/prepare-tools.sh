#!/usr/bin/env bash
# Builds what the checks after the tests need — cargo-deny, cargo-fuzz and the fuzz targets — so
# that `.ci/run` can build them at low priority while the test suite waits on registries, Go
# downloads and network round trips. Everything goes under target/ (cached between runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deny="$root/target/tools/cargo-deny"
fuzz="$root/target/tools/cargo-fuzz"
if [ ! -x "$deny/bin/cargo-deny" ]; then
  timeout 1800 cargo install --locked --quiet cargo-deny@0.20.2 --root "$deny"
fi
if [ ! -x "$fuzz/bin/cargo-fuzz" ]; then
  timeout 900 cargo install --locked --quiet cargo-fuzz@0.13.2 --root "$fuzz"
fi
cd "$root/fuzz"
PATH="$fuzz/bin:$PATH" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$root/target/fuzz" \
  cargo fuzz build -O --sanitizer none
