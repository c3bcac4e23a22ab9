#!/usr/bin/env bash
# Benchmark: Lifeline on impaired networks (delay, loss, rate caps, an outage) on the
# shared W2 workload (terminal scroll, 1920x1080), agent and viewer in network
# namespaces of their own. Not part of the test suite: numbers, not pass/fail.
# Needs root (ip netns, tc).
#
#   sudo scripts/bench-impaired.sh [--seconds 15] [--cases "cap"]
#
# The workloads come from the shared bench folder (../shared/bench beside this
# repository, or $LIFELINE_BENCH_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bench=${LIFELINE_BENCH_DIR:-$(cd .. && pwd)/shared/bench}
[ -x "$bench/workload.sh" ] || { echo "no bench workloads at $bench (set LIFELINE_BENCH_DIR)"; exit 1; }

scripts/setup-system.sh
missing=()
for package in ffmpeg python3-xlib x11-apps gcc libx11-dev libxext-dev libopenh264-dev iproute2; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cargo build --release --locked --bins
/usr/bin/python3 scripts/bench_impaired.py --bench "$bench" --bin target/release "$@"
