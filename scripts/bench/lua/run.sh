#!/usr/bin/env bash
# Cost of calling a Swift function from Lua and of one suspend/resume round trip, in ns,
# side by side with Debian's stock lua5.4 calling a built-in C function (same loop, same
# machine, one run). Release build in .build-release (shared by every benchmark). Usage: scripts/bench/lua/run.sh [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
N="${1:-10000000}"
ROUNDS="${2:-9}"
command -v lua5.4 >/dev/null || { echo "run.sh: lua5.4 is missing (apt-get install lua5.4)" >&2; exit 1; }

swift build -c release --scratch-path .build-release --product lua-bench 2>&1 | tail -n 1 >&2
BIN="$(swift build -c release --scratch-path .build-release --show-bin-path)/lua-bench"

stock="$(lua5.4 scripts/bench/lua/calls.lua "$N" "$ROUNDS")"
ours="$("$BIN" scripts/bench/lua/calls.lua "$N" "$ROUNDS")"
get() { awk -F'\t' -v k="$2" '$1 == k { print $2 }' <<<"$1"; }

c_stock="$(get "$stock" c_abs)"; c_ours="$(get "$ours" c_abs)"; swift="$(get "$ours" swift_abs)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "Lua call cost: ns per call, best of $ROUNDS x $N calls, loop overhead subtracted"
echo "$(uname -m), $(nproc) cores, $(lua5.4 -v 2>&1 | head -n 1)"
echo
printf '%-58s %10s\n' "call" "ns/call"
printf '%-58s %10s\n' "stock lua5.4: math.abs(i) (C)" "$c_stock"
printf '%-58s %10s\n' "moonmotion:   math.abs(i) (C, same Lua library)" "$c_ours"
printf '%-58s %10s   (%sx the stock C call; goal <= 2x)\n' "moonmotion:   Swift abs(i), fast form" "$swift" "$(ratio "$swift" "$c_stock")"
printf '%-58s %10s\n' "moonmotion:   Swift abs(i), [LuaValue] form" "$(get "$ours" swift_abs_values)"
echo
printf '%-58s %10s\n' "suspend/resume round trip" "ns"
printf '%-58s %10s\n' "stock lua5.4: coroutine resume + yield (reference)" "$(get "$stock" lua_switch)"
printf '%-58s %10s   (goal < 2000)\n' "mm.yield(): park + ready queue + resume" "$(get "$ours" yield)"
printf '%-58s %10s\n' "pending operation completed at once (call.suspend)" "$(get "$ours" park)"
printf '%-58s %10s\n' "mm.sleep(0)" "$(get "$ours" sleep0)"
printf '%-58s %10s\n' "Swift async function (Swift Task, hop back to executor)" "$(get "$ours" async)"
