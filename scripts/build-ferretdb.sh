#!/usr/bin/env bash
# Build the FerretDB v1 test server (tools/ferretdb, a wrapper around the
# embeddable FerretDB package, SQLite backend) into build/tools/ferretdb.
#
# Idempotent: does nothing if the binary is newer than every source file
# (main.go, go.mod, go.sum). Needs Go >= 1.24 and access to the Go module
# proxy on the first build (modules are pinned by tools/ferretdb/go.sum).
#
# Usage: scripts/build-ferretdb.sh [--force]
# Prints the binary's path on stdout; progress goes to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src_dir="${repo_root}/tools/ferretdb"
out_dir="${repo_root}/build/tools"
out="${out_dir}/ferretdb"

force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

if ! command -v go >/dev/null 2>&1; then
    echo "build-ferretdb: 'go' not found in PATH (need Go >= 1.24)" >&2
    exit 1
fi

needs_build() {
    [[ "${force}" -eq 1 ]] && return 0
    [[ -x "${out}" ]] || return 0
    local f
    for f in "${src_dir}"/*.go "${src_dir}/go.mod" "${src_dir}/go.sum"; do
        [[ "${f}" -nt "${out}" ]] && return 0
    done
    return 1
}

if needs_build; then
    echo "build-ferretdb: building ${out}" >&2
    mkdir -p "${out_dir}"
    # Build to a temp name and rename, so an interrupted build never leaves
    # a half-written binary that looks up to date.
    tmp="${out}.tmp.$$"
    trap 'rm -f "${tmp}"' EXIT
    (
        cd "${src_dir}"
        # -mod=readonly: go.mod/go.sum are authoritative, never rewritten;
        # -buildvcs=false: no git needed, same binary whatever the tree state.
        CGO_ENABLED=0 go build -trimpath -mod=readonly -buildvcs=false -o "${tmp}" .
    )
    mv -f "${tmp}" "${out}"
    trap - EXIT
else
    echo "build-ferretdb: ${out} is up to date" >&2
fi

echo "${out}"
