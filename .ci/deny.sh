#!/usr/bin/env bash
# cargo-deny over our own dependency tree: banned crates, licenses, sources (deny.toml). Offline
# once the crates are fetched: no advisory database is downloaded. cargo-deny is installed into
# target/tools/cargo-deny on first use (time-boxed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/target/tools/cargo-deny"
if [ ! -x "$tools/bin/cargo-deny" ]; then
  timeout 1500 cargo install --locked --quiet cargo-deny@0.20.2 --root "$tools"
fi
cd "$root"
cargo fetch --quiet
"$tools/bin/cargo-deny" --offline --log-level error check bans licenses sources
