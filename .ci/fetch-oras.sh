#!/usr/bin/env bash
# Build ORAS 1.3.6, the OCI client the attached-SBOM tests attach Syft's and Trivy's SBOMs with
# (`oras attach`), into target/tools/oras-1.3.6/oras: the machine's Go, the module from its Go
# module proxy (checked against the checksum database as go does). Idempotent; cached under target/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/target/tools/oras-1.3.6"
# The version is captured, not piped into `grep -q`: grep quitting at the first match would
# SIGPIPE oras mid-output, and with pipefail that fails the script (CI exit 141).
is_136() { local v; v=$("$1" version 2>/dev/null) || return 1; grep -q '^Version: *1\.3\.6' <<<"$v"; }
if [ -x "$dir/oras" ] && is_136 "$dir/oras"; then
  echo "oras ready: $dir/oras"; exit 0
fi
# ORAS 1.3.6 needs go1.26.7 or later: the machine's Go, not Debian's go1.19 the fixtures use.
go=""
for g in $(which -a go 2>/dev/null) /usr/local/go/bin/go; do
  v=$("$g" env GOVERSION 2>/dev/null) || continue
  if printf '%s\n%s\n' go1.26.7 "$v" | sort -V -C; then go="$g"; break; fi
done
if [ -z "$go" ]; then
  echo "fetch-oras: no Go 1.26.7 or later on PATH (ORAS 1.3.6 needs it)" >&2; exit 1
fi
mkdir -p "$dir"
GOBIN="$dir" GOPATH="$root/target/go-path" GOCACHE="$root/target/go-cache" GOFLAGS="" \
  GOTOOLCHAIN=local CGO_ENABLED=0 \
  timeout 1800 "$go" install oras.land/oras/cmd/oras@v1.3.6
is_136 "$dir/oras" || { echo "fetch-oras: $dir/oras is not ORAS 1.3.6" >&2; exit 1; }
echo "oras ready: $dir/oras"
