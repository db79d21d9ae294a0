#!/usr/bin/env bash
# Installs the pinned Zig (PyPI package `ziglang`) into .tools/py of this
# checkout. Uses pip when python3 has it; otherwise downloads the pinned wheel
# from PyPI's simple index, checks its sha256 and unpacks it with python3's
# zipfile (a fresh Debian python3 has no pip).
set -euo pipefail
cd "$(dirname "$0")/.."

ZIG_VERSION=0.15.1
DEST=.tools/py
ZIG="$DEST/ziglang/zig"

if [ -x "$ZIG" ] && [ "$("$ZIG" version)" = "$ZIG_VERSION" ]; then
  exit 0
fi
rm -rf "$DEST"
echo "installing Zig $ZIG_VERSION (PyPI ziglang) into $DEST"

if python3 -m pip --version >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$DEST" "ziglang==$ZIG_VERSION"
else
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64)  tag="manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64"
                   sha=4e45994a0e608d9b16ecad255698f5557a2e24de0bd7ba9efb156ab3f3683d9a ;;
    Linux-aarch64) tag="manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64"
                   sha=6c32697f9e165b7b6c5950ab0a1cd2e2bc3e72f4ff2d59bc5121b2b71955a77a ;;
    Darwin-arm64)  tag="macosx_12_0_arm64"
                   sha=f2f92404599822152eff2ef2830632e9ebeb18e55168dddd5f68f6bfeb2c5f4d ;;
    Darwin-x86_64) tag="macosx_12_0_x86_64"
                   sha=77348af083caf1c364466b931b5e7f9608687c88670bdda77c237570096bde09 ;;
    *) echo "no pinned ziglang wheel for $(uname -s)-$(uname -m); install python3-pip" >&2; exit 1 ;;
  esac
  wheel="ziglang-$ZIG_VERSION-py3-none-$tag.whl"
  index="${PIP_INDEX_URL:-https://pypi.org/simple}"
  url=$(curl -fsSL "${index%/}/ziglang/" | grep -m 1 -o "https://[^\"#]*/$wheel")
  [ -n "$url" ] || { echo "could not find $wheel on $index" >&2; exit 1; }
  mkdir -p "$DEST"
  curl -fsSL -o "$DEST/$wheel" "$url"
  echo "$sha  $DEST/$wheel" | sha256sum -c --quiet -
  python3 -m zipfile -e "$DEST/$wheel" "$DEST"
  rm "$DEST/$wheel"
  chmod +x "$ZIG"
fi
"$ZIG" version
