#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs exactly what MoE-KD Studio needs from Debian 12 packages. Idempotent; quiet unless
# something fails (the apt log is printed then). Run as root.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config
  libtorch-dev libopenblas0-pthread
  nlohmann-json3-dev libcli11-dev libsentencepiece-dev libpcre2-dev libicu-dev libgloo-dev
  qt6-base-dev libqcustomplot-dev libqcustomplot2.1-qt6 libgl-dev
  desktop-file-utils appstream help2man
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi

log=$(mktemp)
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup.sh: apt-get failed installing: ${missing[*]}" >&2
  exit 1
fi
rm -f "$log"
