#!/usr/bin/env bash
# Benchmark: Lifeline's agent and headless viewer on the four shared workloads
# (W1 idle, W2 terminal scroll, W3 window move, W4 video) at 1920x1080, on this
# machine. Not part of the test suite: numbers, not pass/fail.
#
#   scripts/bench-session.sh [--seconds 20] [--workloads "W1 W2 W3 W4"] [--record]
#
# --record: the viewer also records each session; the table then gives the
# recording's size per minute.
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
for package in ffmpeg python3-xlib x11-apps gcc libx11-dev libxext-dev libopenh264-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cargo build --release --locked --bins
/usr/bin/python3 scripts/bench_session.py --bench "$bench" --bin target/release "$@"
