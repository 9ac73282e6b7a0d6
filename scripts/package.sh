#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian package and checks it: Release build (scripts/build.sh), `cpack -G DEB`, then
#   - lintian reports no errors (warnings and notes are printed; packaging/README.md explains them),
#   - the package unpacked with dpkg -x into a temporary root runs `moekd --version`, `moekd doctor`
#     and `moekd-studio --version` from there.
# Installs the packaging tools it needs (lintian, dpkg-dev, help2man) when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

tools=(lintian dpkg-dev help2man)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "package.sh: missing packaging tools (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  log=$(mktemp)
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "package.sh: apt-get failed installing: ${missing[*]}" >&2
    exit 1
  fi
  rm -f "$log"
fi

bash scripts/build.sh
version=$(sed -n 's/^project(MoEKDStudio VERSION \([0-9.]*\) .*/\1/p' CMakeLists.txt)
arch=$(dpkg --print-architecture)
deb=build/moekd-studio_${version}_${arch}.deb
rm -f "$deb"
(cd build && cpack -G DEB >cpack.log 2>&1) || { cat build/cpack.log; exit 1; }
[ -f "$deb" ] || { echo "package.sh: cpack wrote no $deb" >&2; exit 1; }

echo "== $deb ($(du -h "$deb" | cut -f1), $(stat -c %s "$deb") bytes)"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
echo "== contents"
dpkg-deb --contents "$deb" | awk '{print $3, $6}'

echo "== lintian"
# --fail-on error: warnings are reported, not failed on (the README in packaging/ says why each stays).
lintian --fail-on error --display-info "$deb" && echo "lintian: no errors"

echo "== the unpacked package runs"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
cd "$root"  # any folder: the programs find their files from their own path
env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM "$root/usr/bin/moekd" --version
"$root/usr/bin/moekd" doctor
if [ -x "$root/usr/bin/moekd-studio" ]; then
  env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM "$root/usr/bin/moekd-studio" --version
fi
"$root/usr/bin/moekd" doctor --json | grep -q "\"resources\": \"$root/usr/share/moekd\"" \
  || { echo "package.sh: the unpacked moekd does not read its own share/moekd" >&2; exit 1; }
echo "package.sh: $deb passed"
