#!/usr/bin/env bash
# protocol and codec are sans-IO: no async runtime, no network stack, no UI. This fails
# when a dependency (direct or not) of either crate brings one in.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(tokio|quinn|quinn-proto|quinn-udp|rustls|egui|eframe|winit|glow|async-std|mio) '
status=0
for crate in lifeline-protocol lifeline-codec; do
    found=$(cargo tree --locked -p "$crate" -e normal,build --prefix none --format '{p}' | sort -u | grep -E "$forbidden" || true)
    if [ -n "$found" ]; then
        echo "error: $crate must stay free of I/O and UI crates, but depends on:"
        echo "$found" | sed 's/^/    /'
        status=1
    else
        echo "$crate: no tokio, quinn, rustls or egui in its dependency tree"
    fi
done
exit $status
