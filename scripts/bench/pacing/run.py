#!/usr/bin/env python3
"""Pacing benchmark (issue 15, "Pacing by throughput"): makespan of one storage migration
against the test vCenter's shared-bandwidth model for each concurrency in a sweep.

For every value N of --values the script starts a fresh test vCenter (same flags and seed,
so the same inventory) with the storage arrays given by --array (and --slow-datastore),
runs `moonmotion run examples/storage-migration.lua max_concurrent=N` against it, and reads
the figures back from the server's statistics (GET /_mm/stats):

  * makespan: first RelocateVM_Task created -> last one completed, simulated seconds;
  * x best: makespan / the best makespan of the numeric values in the sweep;
  * arrays: each array's time-weighted copies while busy and its mean MB/s (reads plus
    writes) while busy;
  * at T(N): total bytes / T(N), where T(N) = min(N x rate, C_src(N), C_dst(N)) is the
    aggregate throughput the model allows N copies that all read the `--source` prefix's
    array and write the `--target` prefix's (a copy inside one array counts twice): the
    makespan if exactly N copied all the time (the tail, with fewer, can beat it past the knee);
  * moved / VMs, failed tasks, wall seconds of the run.

"hosts/2" is the example's default pace (no max_concurrent: half of the cluster's usable
hosts); it is run unless --no-default. `auto` paces by measured throughput (the engine's AdaptivePacer):
it gets `arrays=` (--declare: which datastores share an array, what an administrator knows)
and `pace=` (--pace, in simulated seconds, converted to the runner's real seconds at --speed),
never B, r or the knee. Values that are not numbers are compared with the best fixed one.

    python3 scripts/bench/pacing/run.py --moonmotion .build/debug/moonmotion --hosts 8 --vms 24 --rate 50 \\
        --array 'old=legacy-*:150:knee=2:loss=0.15' --values 1,2,3,5,auto --speed 300 --poller progress=0,pace=0.1

Figures and commands: BENCHMARKS.md, "Pacing by throughput".
"""
import argparse
import fnmatch
import json
import os
import subprocess
import sys
import shutil
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "scripts", "vcsim"))
import vcsim  # noqa: E402

MIB = 1 << 20


def parse_array(text):
    """NAME=GLOB[|GLOB...]:MBPS[:knee=K][:loss=L][:floor=F] -> dict (the server validates it)."""
    name, rest = text.split("=", 1)
    parts = rest.split(":")
    a = {"name": name, "globs": [g for g in parts[0].split("|") if g], "mbps": float(parts[1]),
         "knee": 0, "loss": 0.0, "floor": 0.2}
    for kv in parts[2:]:
        k, v = kv.split("=", 1)
        a[k] = int(v) if k == "knee" else float(v)
    if a["knee"] and "loss" not in [kv.split("=")[0] for kv in parts[2:]]:
        a["loss"] = 0.1
    return a


def capacity(a, n):
    """C(n) = B x max(floor, 1 - loss x max(0, n - knee)) (scripts/vcsim/bandwidth.go)."""
    if not a["knee"] or n <= a["knee"]:
        return a["mbps"]
    return a["mbps"] * max(a["floor"], 1 - a["loss"] * (n - a["knee"]))


def model_throughput(arrays, src_ds, dst_ds, rate, n):
    """T(n) in MB/s for n copies all reading src_ds's array and writing dst_ds's."""
    src = next((a for a in arrays if any(fnmatch.fnmatchcase(src_ds, g) for g in a["globs"])), None)
    dst = next((a for a in arrays if any(fnmatch.fnmatchcase(dst_ds, g) for g in a["globs"])), None)
    t = n * rate
    if src is not None and src is dst:
        return min(t, capacity(src, n) / 2)
    if src is not None:
        t = min(t, capacity(src, n))
    if dst is not None:
        t = min(t, capacity(dst, n))
    return t


def run_process(args, deadline, env=None, cwd=None):
    """Runs args to the end (killed at the deadline). Returns (exit status, wall s, stdout, stderr)."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd)
    try:
        code = proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    wall = time.monotonic() - start
    out.seek(0)
    err.seek(0)
    return code, wall, out.read().decode(errors="replace"), err.read().decode(errors="replace")


def one_run(args, value):
    """One migration at max_concurrent=value (None: the example's default, hosts/2)."""
    flags = dict(clusters=1, hosts=args.hosts, vms=args.vms, datastores=args.datastores, seed=args.seed,
                 rate_mbps=args.rate, speed=args.speed, svmotion_setup_seconds=args.setup,
                 snapshot_fraction=0, consolidate_fraction=0, progress_steps=args.progress_steps,
                 array=args.array or None, slow_datastore=args.slow_datastore or None)
    with vcsim.start(**flags) as vc, tempfile.TemporaryDirectory() as tmp:
        url = vc.url.replace("://", "://%s:%s@" % (vc.username, vc.password), 1)
        vc.reset_stats()
        env = dict(os.environ, GOVC_URL="", MOONMOTION_INSECURE_HTTP="1")  # the loopback test vCenter serves plain HTTP
        env.pop("MOONMOTION_PATH", None)
        if value == "auto" and args.poller:
            # The pacer measures by progress reports; the poller reads progress every 10 real
            # seconds by default (3,000 simulated s at 300x), more than a window.
            env["MOONMOTION_POLLER"] = args.poller
        cmd = [args.moonmotion, "run", "--url", url, os.path.join(REPO, "examples", "storage-migration.lua"),
               "--journal", os.path.join(tmp, "bench.journal"), "from=%s-*" % args.source, "to=%s-*" % args.target]
        if value is not None:
            cmd.append("max_concurrent=%s" % value)
        if value == "auto":
            if args.declare:
                cmd.append("arrays=%s" % args.declare)
            pace = []
            for kv in filter(None, args.pace.split(",")):
                k, v = kv.split("=", 1)
                # The runner's clock is real time: seconds of the test vCenter's time / speed.
                pace.append("%s=%s" % (k, float(v) / args.speed if k in ("window", "settle", "reprobe") else v))
            if pace:
                cmd.append("pace=%s" % ",".join(pace))
        code, wall, out, err = run_process(cmd, args.deadline, env=env, cwd=tmp)
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            shutil.copy(os.path.join(tmp, "bench.journal"), os.path.join(args.keep, "max_concurrent-%s.journal" % value))
        if code != 0:
            sys.stderr.write("moonmotion exited %s at max_concurrent=%s:\n%s\n%s\n" % (code, value, out[-3000:], err[-3000:]))
        stats = vc.stats(files=False)
    reloc = [t for t in stats["tasks"] if t["method"] == "RelocateVM_Task"]
    first = min((t["created_sim"] for t in reloc), default=0)
    last = max((t.get("completed_sim") or 0 for t in reloc), default=0)
    copied = sum(t.get("copy_bytes") or 0 for t in reloc if t["state"] == "success")
    copies = [t["copy_mbps"] for t in reloc if t.get("copy_mbps")]
    return {
        "value": value, "exit": code, "wall": wall, "makespan": last - first, "bytes": copied,
        "moved": len(stats.get("copies", {})), "failed": sum(1 for t in reloc if t["state"] == "error"),
        "mean_copy_mbps": sum(copies) / len(copies) if copies else 0,
        "arrays": {n: {"mean_copies": a["mean_copies"], "mean_mbps": a["mean_mbps"], "max_copies": a["max_copies"]}
                   for n, a in sorted(stats.get("arrays", {}).items())},
        "limit_queued": stats["limit_queued_total"],
        "pacing": [l.split("moonmotion: ", 1)[-1] for l in (out + err).splitlines() if "moonmotion: pacing " in l],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moonmotion", default=os.environ.get("MM_BENCH_BIN"),
                    help="the moonmotion binary (default $MM_BENCH_BIN, else a release build in .build-release)")
    ap.add_argument("--hosts", type=int, default=8, help="hosts of the one cluster")
    ap.add_argument("--vms", type=int, default=24)
    ap.add_argument("--datastores", default="legacy:4,new:4", help="-datastores of the test vCenter")
    ap.add_argument("--source", default="legacy", help="datastore prefix the VMs leave")
    ap.add_argument("--target", default="new", help="datastore prefix they go to")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=50, help="r: MB/s of one copy alone (-rate-mbps)")
    ap.add_argument("--array", action="append", default=[], help="-array NAME=GLOB:MBPS[:knee=K][:loss=L][:floor=F] (repeatable)")
    ap.add_argument("--slow-datastore", action="append", default=[], help="-slow-datastore NAME:FACTOR (repeatable)")
    ap.add_argument("--setup", type=float, default=0, help="setup seconds per Storage vMotion (-svmotion-setup-seconds)")
    ap.add_argument("--speed", type=float, default=300, help="simulated seconds per real second")
    ap.add_argument("--values", default="", help="max_concurrent values, comma list (default 1..2 x hosts); 'auto' etc. passed through")
    ap.add_argument("--progress-steps", type=int, default=49,
                    help="progress updates per task (-progress-steps; 49: every 2%%, what the pacer measures by)")
    ap.add_argument("--declare", default="legacy-*=old,new-*=new",
                    help="auto: the arrays the strategy declares (the example's arrays=); never their B, r or knee")
    ap.add_argument("--pace", default="window=600,settle=150,reprobe=6000",
                    help="auto: the pacer's settings (the example's pace=), window/settle/reprobe in simulated seconds")
    ap.add_argument("--poller", default="",
                    help="auto: MOONMOTION_POLLER for the runner (progress=0,pace=0.1: every progress change read at once)")
    ap.add_argument("--no-default", action="store_true", help="skip the hosts/2 run (the example's default)")
    ap.add_argument("--deadline", type=float, default=3600, help="real seconds before a run is killed")
    ap.add_argument("--json", action="store_true", help="also print the rows as one JSON line")
    ap.add_argument("--keep", help="copy each run's journal into this directory (max_concurrent-VALUE.journal)")
    args = ap.parse_args()
    if not args.moonmotion:
        scratch = os.path.join(REPO, ".build-release")
        sys.stderr.write("building moonmotion (release, %s) ...\n" % scratch)
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", scratch, "--product", "moonmotion"],
                       cwd=REPO, check=True, stdout=sys.stderr)
        args.moonmotion = os.path.join(scratch, "release", "moonmotion")
    args.moonmotion = os.path.abspath(args.moonmotion)

    half = max(1, args.hosts // 2)
    values = [v.strip() for v in args.values.split(",") if v.strip()] or [str(n) for n in range(1, 2 * args.hosts + 1)]
    arrays = [parse_array(a) for a in args.array]

    rows = []
    for v in values:
        sys.stderr.write("max_concurrent=%s ...\n" % v)
        rows.append(one_run(args, v))
    default = None
    if not args.no_default:
        sys.stderr.write("hosts/2 (the example's default) ...\n")
        default = one_run(args, None)
        default["value"] = "hosts/2=%d" % half
        rows.append(default)

    fixed = [r for r in rows if str(r["value"]).isdigit() and r["exit"] == 0 and r["moved"] == args.vms]
    best = min(fixed, key=lambda r: r["makespan"]) if fixed else None
    total = max((r["bytes"] for r in rows), default=0)
    mean_copy = total / max(1, args.vms) / MIB / args.rate

    print("Pacing benchmark: 1 cluster x %d hosts, %d VMs (%.2f TiB copied), -datastores %s, %s-* -> %s-*, seed %d; "
          "%g MB/s per copy alone, setup %g s; %d core(s)"
          % (args.hosts, args.vms, total / 2**40, args.datastores, args.source, args.target, args.seed, args.rate, args.setup,
             os.cpu_count()))
    print("arrays: %s; slow datastores: %s" % (", ".join(args.array) or "none", ", ".join(args.slow_datastore) or "none"))
    print("time: test vCenter at %gx. It batches task updates for 100 ms (vcsim's own collector ticks every 250 ms), so a "
          "completion reaches the runner up to ~0.25 real s late = up to %.0f simulated s at this speed, against a mean copy of "
          "%.0f s alone: a fixed N pays it once per dispatch round, a saturated array not at all (the others speed up)."
          % (args.speed, args.speed * 0.25, mean_copy))
    head = ("max_concurrent", "makespan s", "x best", "at T(N) s", "T(N) MB/s", "copy MB/s") + tuple(
        "%s copies/MBps" % n for n in (rows[0]["arrays"] if rows else {})) + ("moved", "failed", "queued", "wall s")
    widths = [15, 11, 7, 9, 10, 10] + [22] * (len(head) - 10) + [6, 7, 7, 7]
    print(" ".join(h.rjust(w) for h, w in zip(head, widths)))
    for r in rows:
        n = int(r["value"]) if str(r["value"]).isdigit() else (half if str(r["value"]).startswith("hosts/2") else None)
        t = model_throughput(arrays, "%s-01" % args.source, "%s-01" % args.target, args.rate, n) if n else None
        cells = [str(r["value"]), "%.0f" % r["makespan"], "%.3f" % (r["makespan"] / best["makespan"]) if best else "-",
                 "%.0f" % (total / MIB / t) if t else "-", "%.0f" % t if t else "-", "%.1f" % r["mean_copy_mbps"]]
        cells += ["%.1f / %.0f" % (a["mean_copies"], a["mean_mbps"]) for a in r["arrays"].values()]
        cells += ["%d/%d" % (r["moved"], args.vms), str(r["failed"]), str(r["limit_queued"]), "%.0f" % r["wall"]]
        mark = "  <- best" if best is r else ""
        print(" ".join(c.rjust(w) for c, w in zip(cells, widths)) + mark)
    if best and default:
        print("best fixed concurrency: %s (%.0f s); hosts/2 = %d: %.3f x best" % (best["value"], best["makespan"], half,
                                                                              default["makespan"] / best["makespan"]))
    for r in rows:
        if r["pacing"]:
            print("max_concurrent=%s: the pacer's changes (the runner's real seconds):" % r["value"])
            for line in r["pacing"]:
                print("  " + line)
    if args.json:
        print(json.dumps(rows))
    bad = [r for r in rows if r["exit"] != 0 or r["moved"] != args.vms]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
