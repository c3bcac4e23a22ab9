#!/usr/bin/env bash
# Installs what Lifeline needs, builds it in release mode and runs it.
#
# This stage of the project ships the protocol and the codec; the agent and viewer
# binaries report their versions and say plainly that the live session (capture,
# QUIC, the consent window and the viewer window) is the next step.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup-system.sh
cargo build --release --locked --workspace --bins

./target/release/lifeline-agent --version
./target/release/lifeline-viewer --version
echo
echo "Lifeline is built. The agent and viewer come next; what they do today:"
./target/release/lifeline-agent || true
