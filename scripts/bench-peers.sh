#!/usr/bin/env bash
# Benchmark: Lifeline side by side with x11vnc + TigerVNC and the ffmpeg H.264
# streamers, on the four shared workloads (../shared/bench), in one run; prints one
# table and where Lifeline's time goes. Not part of the test suite: numbers, not
# pass/fail. Takes about (seconds + 15) x (reps + latency reps) x 4 workloads x 4
# systems: ~50 min with the defaults, ~15 min with --seconds 10 --reps 1.
#
#   scripts/bench-peers.sh [--seconds 20] [--reps 3] [--latency-reps 1]
#                          [--workloads "W1 W2 W3 W4"] [--systems "lifeline vnc x264 openh264"]
#
# The shared bench folder is ../shared/bench beside this repository, or
# $LIFELINE_BENCH_DIR. It is used as it is: Lifeline plugs into its harness through
# the harness's own --server-cmd / --client-cmd (see scripts/bench_peers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bench=${LIFELINE_BENCH_DIR:-$(cd .. && pwd)/shared/bench}
[ -x "$bench/harness.py" ] || { echo "no bench harness at $bench (set LIFELINE_BENCH_DIR)"; exit 1; }

# One-time setup, as the bench's README says.
scripts/setup-system.sh
missing=()
for package in xvfb x11vnc tigervnc-viewer ffmpeg xdotool x11-apps xterm x11-utils xfonts-base \
    imagemagick tcpdump python3-xlib gcc libx11-dev libxext-dev libopenh264-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -x "${PEERS_BIN:-/tmp/peers/bin}/vidwin" ] && [ -x "${PEERS_BIN:-/tmp/peers/bin}/oh264enc" ] || "$bench/build.sh"
"$bench/workload.sh" assets
cargo build --release --locked --bins
# The harness needs root for tcpdump and its niceness; the Debian python has Xlib.
exec /usr/bin/python3 scripts/bench_peers.py --bench "$bench" --bin target/release "$@"
