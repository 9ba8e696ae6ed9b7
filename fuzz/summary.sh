#!/usr/bin/env bash
# Print a markdown row per fuzz target from the stats fuzz/run.sh left in target/fuzz/stats:
# executions, seconds, covered edges (`cov:`), features (`ft:`), corpus size and peak RSS.
#   fuzz/summary.sh [TARGET…]   (FUZZ_ROOT=DIR: another checkout's stats)
set -euo pipefail
root=${FUZZ_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
shopt -s nullglob
stats="$root/target/fuzz/stats"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$stats"/*.txt; do targets+=("$(basename "$f" .txt)"); done
fi
echo "| target | executions | seconds | coverage (edges) | features | corpus | peak RSS (MiB) | result |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for t in "${targets[@]}"; do
  log="$stats/$t.txt"
  [ -f "$log" ] || { echo "| \`$t\` | no stats | | | | | | |"; continue; }
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  secs=$(grep -ao 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o '[0-9]* second' | grep -o '[0-9]*' | tail -1 || true)
  last=$(grep -a 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  rss=$(grep -ao 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  if grep -aq 'ERROR: libFuzzer\|panicked\|deadly signal' "$log"; then result="FAILED (see the log)"
  elif [ -n "$secs" ]; then result="ok"
  else result="running or stopped"; fi
  printf '| `%s` | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${execs:-?}" "${secs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$result"
done
