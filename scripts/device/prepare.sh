#!/usr/bin/env bash
# Run HERE (a Debian machine with apt): downloads the Debian packages of ecgtwin's
# dependencies other than LibTorch (CLI11, spdlog, fmt, nlohmann-json, yaml-cpp, GoogleTest,
# cairo and the libraries its pkg-config file names, soxr, pkgconf) and unpacks them with
# `dpkg -x` into one folder (default build-device-deps/, ignored by git) that travels with a
# device call. scripts/device/run.sh on the GPU machine (no registry, no internet) builds
# against it and the LibTorch inside that machine's Python torch.
#
# Usage: scripts/device/prepare.sh [DEPS_DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
deps=${1:-$root/build-device-deps}
arch=amd64  # the GPU machine is x86-64

packages=(
  # header-only or CMake-config libraries
  libcli11-dev nlohmann-json3-dev
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  libyaml-cpp-dev libyaml-cpp0.7
  libgtest-dev libgmock-dev
  # cairo and what cairo.pc requires
  libcairo2-dev libcairo2
  libpixman-1-dev libpixman-1-0
  libfontconfig-dev libfontconfig1 libfreetype-dev libfreetype6
  libpng-dev libpng16-16 zlib1g-dev libbrotli-dev libbrotli1 libexpat1-dev libexpat1
  libx11-dev libx11-6 libxext-dev libxext6 libxrender-dev libxrender1
  libxcb1-dev libxcb1 libxcb-render0-dev libxcb-render0 libxcb-shm0-dev libxcb-shm0
  libxau-dev libxau6 libxdmcp-dev libxdmcp6 libbsd0 libmd0
  libglib2.0-dev libglib2.0-0 libpcre2-dev libpcre2-8-0 libffi-dev libffi8
  x11proto-dev xorg-sgml-doctools libpthread-stubs0-dev
  # resampling
  libsoxr-dev libsoxr0 libsoxr-lsr0
  # pkg-config itself (the GPU machine may have none)
  pkgconf pkgconf-bin libpkgconf3
)

download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
echo "prepare.sh: downloading ${#packages[@]} packages" >&2
(cd "$download" && apt-get download -o APT::Architecture=$arch "${packages[@]/%/:$arch}" >&2)

rm -rf "$deps"
mkdir -p "$deps"
for deb in "$download"/*.deb; do
  dpkg -x "$deb" "$deps"
done
# Documentation, man pages and locales are not needed to build.
rm -rf "$deps"/usr/share/doc "$deps"/usr/share/man "$deps"/usr/share/locale "$deps"/usr/share/lintian \
  "$deps"/usr/share/gtk-doc "$deps"/usr/share/glib-2.0 "$deps"/usr/share/gdb
# Static archives are not linked (shared libraries are), except GoogleTest's.
find "$deps" -name '*.a' ! -name 'libgtest*' ! -name 'libgmock*' -delete
# A record of what is inside, for the run's log.
(cd "$download" && ls *.deb) > "$deps/PACKAGES"

size_mb=$(du -sm "$deps" | cut -f1)
echo "prepare.sh: $deps holds $(wc -l < "$deps/PACKAGES") packages, ${size_mb} MiB" >&2
if (( size_mb >= 60 )); then
  echo "prepare.sh: over 60 MiB, too large to travel with a device call (64 MiB with the tree)" >&2
  exit 1
fi
