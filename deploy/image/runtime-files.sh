#!/usr/bin/env bash
# Collects into OUT_DIR what a binary needs at run time beyond the base image: every shared
# library it loads (ldd's closure) that the base lacks, BASE_LIST being the base's own
# libraries (recorded before any package was added). The Debian package of each copied
# file gets its dpkg record in OUT_DIR/var/lib/dpkg/status.d/, as in a distroless image,
# so image scanners still see the packages and their versions.
#   deploy/image/runtime-files.sh BINARY BASE_LIST OUT_DIR
set -euo pipefail
binary=${1:?usage: $0 BINARY BASE_LIST OUT_DIR}
base_list=${2:?usage: $0 BINARY BASE_LIST OUT_DIR}
out=${3:?usage: $0 BINARY BASE_LIST OUT_DIR}

canonical() {  # the path with its folder's symlinks resolved (/lib -> /usr/lib), not its own
  echo "$(readlink -f "$(dirname "$1")")/$(basename "$1")"
}
owner() {  # the Debian package that installed FILE, under /usr or (before usrmerge) not
  dpkg -S "$1" 2>/dev/null || dpkg -S "${1#/usr}" 2>/dev/null || true
}

if ldd "$binary" | grep 'not found' >&2; then
  exit 1
fi
libs=()
for lib in $(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do
  lib=$(canonical "$lib")
  grep -qxF "$lib" "$base_list" && continue
  libs+=("$lib" "$(readlink -f "$lib")")  # the soname link and the file it names
done
mapfile -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)
mkdir -p "$out/var/lib/dpkg/status.d"
# Relative paths from /: cp 9.1's --parents fails on absolute ones.
(cd / && cp -a --parents "${libs[@]#/}" "$out")
packages=$(for lib in "${libs[@]}"; do owner "$lib"; done | cut -d: -f1 | sort -u)
for package in $packages; do
  dpkg-query -s "$package" >"$out/var/lib/dpkg/status.d/$package"
done
