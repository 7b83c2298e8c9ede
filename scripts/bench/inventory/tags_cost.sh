#!/usr/bin/env bash
# What reading vSphere tags costs `moonmotion inventory` (issue 13): two test vCenters with the
# same 10,000 VMs, one with tags in its Automation REST API (-tag) and one without it
# (-no-rest, where the inventory is read without tags); `moonmotion inventory --json` against
# each in turn, RUNS times; prints wall time, the REST calls the tagged server counted and its
# time serving them, and the SOAP time beside it.
#   scripts/bench/inventory/tags_cost.sh [RUNS]        # default 3; needs `swift build` first
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
runs="${1:-3}"
vcsim="$("$repo/scripts/vcsim/build.sh")"
moonmotion="${MOONMOTION_BIN:-$repo/.build/debug/moonmotion}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
echo pass > "$work/pw"
topology=(-clusters 10 -hosts 4 -vms 1000 -exit-on-stdin-eof=false)
"$vcsim" "${topology[@]}" -tag 'migration-wave=wave-1|wave-2|wave-3' -tag 'team=fin|hr' >"$work/tagged" 2>/dev/null </dev/null &
pids+=($!)
"$vcsim" "${topology[@]}" -no-rest >"$work/plain" 2>/dev/null </dev/null &
pids+=($!)
cat >"$work/report.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); inv = json.load(open(sys.argv[2]))
name, run, seconds = sys.argv[3], sys.argv[4], float(sys.argv[5])
rest = d.get("rest_calls") or {}
tagged = sum(1 for v in inv["vms"] if v.get("tags"))
print(f"{name:6} run {run}: {seconds:6.2f} s, {len(inv['vms'])} VMs ({tagged} with tags), "
      f"REST {d.get('rest_calls_total', 0)} calls / {sum(v['seconds'] for v in rest.values()) * 1000:.1f} ms served, "
      f"SOAP {d['soap_calls_total']} calls / {sum(v['seconds'] for v in d['soap_calls'].values()):.2f} s served", flush=True)
PY
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
for f in tagged plain; do
    for _ in $(seq 1 300); do [ -s "$work/$f" ] && break; sleep 0.2; done
done
for i in $(seq 1 "$runs"); do
    for f in tagged plain; do
        url="$(field "$work/$f" url)"
        control="$(field "$work/$f" control)"
        curl -s -X POST "$control/reset-stats" >/dev/null
        start=$(date +%s.%N)
        "$moonmotion" inventory --url "$url" --username user --password-file "$work/pw" --insecure-http --json >"$work/out.json" 2>/dev/null
        end=$(date +%s.%N)
        curl -s "$control/stats?tasks=0&files=0" >"$work/stats.json"
        python3 "$work/report.py" "$work/stats.json" "$work/out.json" "$f" "$i" "$(echo "$end - $start" | bc)"
    done
done
