#!/usr/bin/env bash
# Builds the test vCenter (scripts/vcsim) and prints the binary's path on stdout.
# Output: ${VCSIM_BIN:-<repo>/.build-vcsim/vcsim}. Fast no-op when the binary is newer than
# every source. Needs Debian's golang-go and golang-github-vmware-govmomi-dev (GOPATH mode).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$repo/.build-vcsim"
out="${VCSIM_BIN:-$work/vcsim}"
gocode=/usr/share/gocode

up_to_date() {
    [ -x "$out" ] && [ -z "$(find "$here" -maxdepth 1 \( -name '*.go' ! -name '*_test.go' -o -name build.sh \) -newer "$out" -print -quit)" ]
}

if up_to_date; then
    echo "$out"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: 'go' not found: apt-get install golang-go golang-github-vmware-govmomi-dev" >&2
    exit 1
fi
if [ ! -d "$gocode/src/github.com/vmware/govmomi/simulator" ]; then
    echo "build.sh: govmomi's simulator not found under $gocode: apt-get install golang-github-vmware-govmomi-dev" >&2
    exit 1
fi
mkdir -p "$work/gopath" "$work/gocache" "$(dirname "$out")"
# Serialize concurrent builds (parallel test processes); re-check once we hold the lock.
exec 9>"$work/build.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if up_to_date; then
    echo "$out"
    exit 0
fi
cd "$here"
tmp="$out.tmp.$$"
GO111MODULE=off GOFLAGS= GOPATH="$work/gopath:$gocode" GOCACHE="${GOCACHE:-$work/gocache}" \
    go build -o "$tmp" . || { rm -f "$tmp"; echo "build.sh: go build failed in $here" >&2; exit 1; }
mv -f "$tmp" "$out"
echo "$out"
