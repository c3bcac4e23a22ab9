#!/usr/bin/env bash
# Installs what Lifeline needs, builds it (release) and runs it.
#
#   scripts/run.sh            on a desktop: the agent (code + consent window) and the
#                             viewer connected to it, on this same screen; without a
#                             desktop: a demo on a virtual screen (Xvfb), the viewer
#                             headless, saving what it saw as a PNG
#   scripts/run.sh agent      only the agent (share this screen), listening on 0.0.0.0:7443
#   scripts/run.sh viewer     only the viewer window
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup-system.sh
cargo build --release --locked --bins
bin=target/release
mode=${1:-demo}

case "$mode" in
    agent) exec "$bin/lifeline-agent" ;;
    viewer) exec "$bin/lifeline-viewer" ;;
    demo) ;;
    *) echo "usage: scripts/run.sh [agent|viewer]"; exit 2 ;;
esac

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

if [ -n "${DISPLAY:-}" ] && xdpyinfo >/dev/null 2>&1; then
    echo "Starting the agent on this desktop ($DISPLAY) and a viewer connected to it."
    echo "Allow the connection in the agent's window; the viewer then shows this screen."
    "$bin/lifeline-agent" --listen 127.0.0.1:7443 --code-file "$work/code" --data-dir "$work/agent" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/code" ] && break; sleep 0.1; done
    "$bin/lifeline-viewer" --data-dir "$work/viewer" connect 127.0.0.1:7443 --code "$(cat "$work/code")" --name "$(id -un)"
    exit 0
fi

echo "No desktop here: running a demo on a virtual screen (Xvfb)."
display=:77
while [ -e "/tmp/.X11-unix/X${display#:}" ]; do display=":$(( ${display#:} + 1 ))"; done
Xvfb "$display" -screen 0 1280x720x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
DISPLAY=$display xterm -geometry 90x20+40+40 -e sh -c 'echo "Hello from the end user'"'"'s screen."; echo "Lifeline shares this screen, with consent."; sleep 600' &
pids+=($!)
sleep 1
# The end user answers on the terminal (--consent tty): "y" allows what is asked.
mkfifo "$work/answers"
"$bin/lifeline-agent" --listen 127.0.0.1:7443 --display "$display" --consent tty --lang en \
    --code-file "$work/code" --data-dir "$work/agent" < "$work/answers" &
pids+=($!)
exec 3>"$work/answers"
for _ in $(seq 100); do [ -s "$work/code" ] && break; sleep 0.1; done
echo "The end user's code is $(cat "$work/code"); the technician types it in the viewer."
echo y >&3
out=${LIFELINE_DEMO_PNG:-/tmp/lifeline-demo.png}
"$bin/lifeline-viewer" --data-dir "$work/viewer" connect 127.0.0.1:7443 --code "$(cat "$work/code")" \
    --name "Demo technician" --headless --frames 1 --save-frame "$out" --stats "$work/stats.json"
echo
echo "The viewer saw the end user's screen and saved it to $out."
echo "On a desktop, run scripts/run.sh to use the windows."
