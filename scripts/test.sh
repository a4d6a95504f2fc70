#!/usr/bin/env bash
# The README's test command: installs what the tests need (scripts/test-deps.sh), then runs every
# test of the workspace. Extra arguments go to `cargo test` (e.g. `-p haechi --test chart`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-deps.sh
cargo test --workspace --locked "$@"
