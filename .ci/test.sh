#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with only Rust on it:
# installs what the tests need (Go and Debian's Go sources, docker-registry, GnuPG and OpenSSL for
# the HTTPS provider registry, Chromium for the HTML report, the two Trivy builds, Syft, ORAS built
# with the machine's Go, tofu as a second real client), then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(golang-go golang-github-coreos-bbolt-dev docker-registry
      golang-golang-x-crypto-dev golang-golang-x-net-dev golang-golang-x-text-dev
      golang-golang-x-sys-dev golang-golang-x-term-dev
      golang-github-burntsushi-toml-dev golang-github-hashicorp-go-version-dev
      skopeo gnupg openssl chromium)
missing=()
for p in "${pkgs[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"ok installed"* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash .ci/fetch-trivy.sh
bash .ci/fetch-syft.sh
bash .ci/fetch-oras.sh
bash .ci/fetch-tofu.sh || echo "ci: tofu could not be built; the real-client test runs terraform only" >&2
cargo test --all-targets "$@"
