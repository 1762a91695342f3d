#!/usr/bin/env bash
# Makes sure the nightly toolchain and cargo-fuzz are there; installs cargo-fuzz when missing.
# Exit 0 when fuzzing can run, 1 when it cannot.
set -u
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz-deps: no nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-deps: installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz >&2 || exit 1
fi
exit 0
