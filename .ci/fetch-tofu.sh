#!/usr/bin/env bash
# Builds tofu (OpenTofu v1.10.10) from the Go module proxy for the real-client test of
# tests/protocol.rs, cached as target/tools/tofu/tofu. `go install …/cmd/tofu@v1.10.10` refuses
# the module (its go.mod has a replace directive), so the module is downloaded and built in a
# copy. Best effort: without the binary that test runs terraform only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
v=v1.10.10
out="$root/target/tools/tofu/tofu"
[ -x "$out" ] && exit 0
mkdir -p "$root/target/tools/tofu"
dir=$(cd "$root/target" && go mod download -json "github.com/opentofu/opentofu@$v" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
src="$root/target/tools/tofu/src-$v"
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
(cd "$src" && timeout 3000 go build -ldflags "-X github.com/opentofu/opentofu/version.dev=no" \
  -o "$out.tmp" ./cmd/tofu)
mv "$out.tmp" "$out"
rm -rf "$src"
