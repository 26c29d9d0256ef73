#!/usr/bin/env bash
# Installs the system libraries that napari/Qt need under Xvfb, when they are missing.
# It only acts as root (CI, fresh machines); otherwise it says what to install.
set -euo pipefail
pkgs=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0 libxcb-randr0
      libxcb-render-util0 libxcb-shape0 libxcb-image0 libxkbcommon-x11-0 libgl1 libegl1
      libdbus-1-3 libfontconfig1 libglib2.0-0)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "ferromap: missing system packages (install them for the GUI tests): ${missing[*]}" >&2
  exit 0
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
