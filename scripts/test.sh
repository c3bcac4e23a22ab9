#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, then formatting, lints,
# docs, the dependency-direction check, and every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup-system.sh

step() { printf '\n== %s\n' "$*"; }
started=$(date +%s)

step "format (cargo fmt --check)"
cargo fmt --all --check

step "lints (clippy, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "docs (cargo doc, warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "dependency direction (protocol and codec stay sans-IO)"
scripts/check-deps.sh

step "tests"
cargo build --workspace --bins --locked --quiet
cargo test --workspace --locked

echo
echo "all checks passed in $(( $(date +%s) - started )) s"
