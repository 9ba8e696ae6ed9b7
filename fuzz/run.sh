#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 20) on the committed corpus, failing on
# the first crash, hang (> 1 s per input) or allocation over 256 MiB. `.ci/run` calls it.
#   fuzz/run.sh [SECONDS] [TARGET…]
# FUZZ_RUNS=N also stops a target after N executions (a campaign: "10 million or 30 minutes").
# cargo-fuzz is installed into target/tools/cargo-fuzz on first use; the stable toolchain is told
# to accept cargo-fuzz's -Z flags with RUSTC_BOOTSTRAP=1. Builds go to target/fuzz; new corpus
# entries to target/fuzz/corpus/<target> (the committed fuzz/corpus stays as it is); crashing inputs
# to target/fuzz/artifacts/<target>/. Stats per target: target/fuzz/stats/<target>.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-20}
shift || true
tools="$root/target/tools/cargo-fuzz"
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
  timeout 900 cargo install --locked --quiet cargo-fuzz@0.13.2 --root "$tools"
fi
export PATH="$tools/bin:$PATH" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$root/target/fuzz"
cd "$root/fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
cargo fuzz build -O --sanitizer none
mkdir -p "$root/target/fuzz/stats"
for t in "${targets[@]}"; do
  mkdir -p "$root/target/fuzz/corpus/$t" "$root/target/fuzz/artifacts/$t"
  log="$root/target/fuzz/stats/$t.txt"
  if ! cargo fuzz run -O --sanitizer none "$t" "$root/target/fuzz/corpus/$t" "corpus/$t" -- \
      -max_total_time="$secs" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=1 -rss_limit_mb=256 -malloc_limit_mb=256 \
      -max_len=262144 -print_final_stats=1 \
      -artifact_prefix="$root/target/fuzz/artifacts/$t/" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t failed; the input is in target/fuzz/artifacts/$t/" >&2
    exit 1
  fi
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  took=$(grep -ao 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | grep -o '[0-9]* second' | grep -o '[0-9]*' || echo "$secs")
  echo "fuzz: $t ok — $execs executions in ${took}s, coverage $cov edges"
done
