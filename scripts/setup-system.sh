#!/usr/bin/env bash
# Installs what Lifeline needs to build and test on Debian 12 / Ubuntu: system packages
# (apt) and, if missing, a Rust toolchain (rustup). Safe to run again: it only installs
# what is not there yet. Needs root or sudo for apt.
set -euo pipefail

packages=(
    build-essential pkg-config curl ca-certificates
    nasm            # openh264's assembly; without it H.264 encoding is 2.5-3x slower
    libx11-dev libxcb1-dev libxkbcommon-x11-0 libgl1 libegl1 libgl1-mesa-dri  # windows (eframe, glow)
    fonts-wqy-microhei  # Chinese texts of the end-user windows
    # The end-to-end tests run the real binaries on an X server of their own:
    xvfb xterm xdotool x11-utils x11-xserver-utils xfonts-base imagemagick
    iproute2        # impaired-network tests: ip netns, veth, tc tbf
    ffmpeg          # ffprobe checks the MP4 export of recordings
)

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if command -v rustup >/dev/null 2>&1; then
    for component in clippy rustfmt; do
        rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
    done
fi
