#!/usr/bin/env bash
# Runs the test vCenter's Go tests (in GOPATH mode against Debian's govmomi).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(cd "$here/../.." && pwd)/.build-vcsim"
mkdir -p "$work/gopath" "$work/gocache"
cd "$here"
GO111MODULE=off GOFLAGS= GOPATH="$work/gopath:/usr/share/gocode" GOCACHE="${GOCACHE:-$work/gocache}" go test "$@" .
