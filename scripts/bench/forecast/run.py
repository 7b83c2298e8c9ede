#!/usr/bin/env python3
"""ETA accuracy benchmark (issue 15.2): the forecast's predicted end and the rate-based ETA at
each tenth of progress, compared with the run's actual end.

Two runs, each journaled (`--journal`), the figures read back from the journal alone:

  * demo: what README's main command runs, `moonmotion run examples/storage-migration.lua`,
    on the built-in simulator (its clock: the simulator's, scaled; --demo-speed, default the
    demo's own);
  * vcsim: the same strategy against the test vCenter (scripts/vcsim) on scaled time
    (--speed), one datastore copying at half speed (-slow-datastore NAME:0.5), progress
    reported every 5 % (--progress-steps 20). The runner's clock is real time there, so
    MOONMOTION_FORECAST scales the forecast's intervals, half-life and setup time by 1/speed
    and the rate it assumes before a measurement (150 MiB/s, a vMotion's too) by speed,
    MOONMOTION_POLLER its progress reads (10 simulated seconds apart, as unscaled), and the
    rate-based ETA's 15-minute window is taken as 15 simulated minutes (900 / speed run
    seconds), as on an unscaled run. With --scaled-clock the run instead takes the test
    vCenter's clock as its own (MOONMOTION_CLOCK_SPEED, as the windows bench does): the
    forecast keeps its defaults and the journal is in simulated time.

Progress is the share of the storage moves' bytes whose move has ended (what the journal
knows; `moonmotion status` counts the same). At the first instant T it reaches k/10 (k = 1..9):

  * forecast: the latest `forecast` event at or before T, its predicted end;
  * rate: T + bytes left / rate, rate = bytes finished over the last 15 minutes (from the run's
    start while shorter), as ProgressTracker computes it;
  * error = |predicted end - actual end| / (actual end - T): a share of the remaining time.

The actual end is the last job's end. Goal (issue 15): from 10 % on, error <= 10 %.

    python3 scripts/bench/forecast/run.py --moonmotion .build-release/release/moonmotion
    python3 scripts/bench/forecast/run.py --only vcsim --speed 50 --hosts 8 --vms 40

Figures and commands: BENCHMARKS.md, "ETA accuracy".
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "scripts", "vcsim"))


def iso(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def analyse(journal, rate_window):
    """The table's rows for one journaled run."""
    db = sqlite3.connect("file:%s?mode=ro" % journal, uri=True)
    run = db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    events = [(t, ty, json.loads(d)) for t, ty, d in
              db.execute("SELECT time, type, detail FROM events WHERE run_id = ? ORDER BY seq", (run,))]
    db.close()
    start = next(t for t, ty, _ in events if ty == "run-started")
    total = next(d.get("bytes", 0) for _, ty, d in events if ty == "run-started")
    finished = []  # (time, bytes) of storage moves that ended well after a task
    end = start
    for t, ty, d in events:
        if ty == "job-changed" and d.get("state") in ("done", "failed", "skipped"):
            end = max(end, t)
            if d["state"] == "done" and d.get("from") == "running" and "storage" in (d.get("kind") or ""):
                finished.append((t, d.get("size", 0)))
    forecasts = [(t, iso(d["end"])) for t, ty, d in events if ty == "forecast"]
    samples = [(start, 0)]
    cum = 0
    for t, b in finished:
        cum += b
        samples.append((t, cum))
    rows = []
    for k in range(1, 10):
        target = total * k / 10
        hit = next(((t, c) for t, c in samples if c >= target), None)
        if hit is None:
            continue
        T, done = hit
        left = end - T
        base = samples[0]
        for s in samples:
            if s[0] <= T - rate_window:
                base = s
        span = T - base[0]
        rate = (done - base[1]) / span if span > 0 else 0
        rate_end = T + (total - done) / rate if rate > 0 else None
        f = [e for t, e in forecasts if t <= T]
        fc_end = f[-1] if f else None
        rows.append({
            "k": k, "at": T - start, "left": left,
            "forecast_error": abs(fc_end - end) / left if fc_end is not None and left > 0 else None,
            "rate_error": abs(rate_end - end) / left if rate_end is not None and left > 0 else None,
            "forecast_end": None if fc_end is None else fc_end - start,
            "rate_end": None if rate_end is None else rate_end - start,
        })
    return {"duration": end - start, "bytes": total, "forecasts": len(forecasts), "rows": rows}


def hours(s):
    return "%.2f h" % (s / 3600.0)


def print_table(name, result, note):
    print("\n%s: %s, %.1f TB moved, %d forecasts; %s" % (name, hours(result["duration"]), result["bytes"] / 1e12,
                                                       result["forecasts"], note))
    print("%-5s %10s %10s | %14s %8s | %14s %8s" % ("done", "at", "left", "forecast end", "error", "rate end", "error"))
    worst_f, worst_r = 0.0, 0.0
    for r in result["rows"]:
        fe = r["forecast_error"]
        re_ = r["rate_error"]
        worst_f = max(worst_f, fe if fe is not None else float("inf"))
        worst_r = max(worst_r, re_ if re_ is not None else float("inf"))
        print("%4d%% %10s %10s | %14s %8s | %14s %8s" % (
            r["k"] * 10, hours(r["at"]), hours(r["left"]),
            "-" if r["forecast_end"] is None else hours(r["forecast_end"]),
            "-" if fe is None else "%.1f %%" % (100 * fe),
            "-" if r["rate_end"] is None else hours(r["rate_end"]),
            "-" if re_ is None else "%.1f %%" % (100 * re_)))
    print("worst from 10 %%: forecast %.1f %%, rate %.1f %%" % (100 * worst_f, 100 * worst_r))


def run(cmd, env, cwd, deadline):
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=deadline)
    if proc.returncode != 0:
        sys.stderr.write("moonmotion exited %d:\n%s\n%s\n" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return time.monotonic() - start


def demo(args):
    with tempfile.TemporaryDirectory() as tmp:
        journal = os.path.join(tmp, "demo.journal")
        env = dict(os.environ, GOVC_URL="")
        env.pop("MOONMOTION_PATH", None)
        cmd = [args.moonmotion, "run", os.path.join(REPO, "examples", "storage-migration.lua"), "--journal", journal]
        if args.demo_speed:
            cmd += ["--speed", str(args.demo_speed)]
        wall = run(cmd, env, tmp, args.deadline)
        result = analyse(journal, 900)
        if args.keep:
            import shutil
            shutil.copy(journal, os.path.join(args.keep, "demo.journal"))
    print_table("demo (built-in simulator)", result, "%.0f s wall at %s time compression" % (wall, args.demo_speed or "the demo's own"))


def test_vcenter(args):
    import vcsim
    flags = dict(clusters=1, hosts=args.hosts, vms=args.vms, seed=args.seed, rate_mbps=args.rate, speed=args.speed,
                 snapshot_fraction=0, consolidate_fraction=0, svmotion_setup_seconds=args.setup,
                 progress_steps=args.progress_steps,
                 slow_datastore=[args.slow + ":0.5"])
    with vcsim.start(**flags) as vc, tempfile.TemporaryDirectory() as tmp:
        url = vc.url.replace("://", "://%s:%s@" % (vc.username, vc.password), 1)
        journal = os.path.join(tmp, "vcsim.journal")
        env = dict(os.environ, GOVC_URL="", MOONMOTION_INSECURE_HTTP="1")
        env.pop("MOONMOTION_PATH", None)
        s = float(args.speed)
        if args.scaled_clock:
            # The run takes the test vCenter's clock, running s x, as its own (what the windows
            # bench does): the forecast's defaults and the journal are in simulated time.
            env["MOONMOTION_CLOCK_SPEED"] = "%g" % s
        else:
            env["MOONMOTION_FORECAST"] = "min_interval=%g,refresh=%g,half_life=%g,overhead=%g,rate=%g" % (
                60 / s, 600 / s, 1800 / s, args.setup / s, 150 * 1.048576 * s)
        # The poller reads running tasks' progress every 10 s of its (real) clock: 10 simulated
        # seconds, as on an unscaled run, not 10 x speed.
        env["MOONMOTION_POLLER"] = "progress=%g" % (10 / s)
        cmd = [args.moonmotion, "run", "--url", url, os.path.join(REPO, "examples", "storage-migration.lua"),
               "--journal", journal, "from=legacy-*", "to=new-*"]
        wall = run(cmd, env, tmp, args.deadline)
        clock = 1 if args.scaled_clock else s   # simulated seconds per journal second
        result = analyse(journal, 900 / clock)
        if args.keep:
            import shutil
            shutil.copy(journal, os.path.join(args.keep, "vcsim.journal"))
    # Back to simulated time for the table.
    result["duration"] *= clock
    for r in result["rows"]:
        for key in ("at", "left", "forecast_end", "rate_end"):
            if r[key] is not None:
                r[key] *= clock
    print_table("test vCenter, %s at half speed" % args.slow, result,
                "%.0f s wall at %gx (PropertyCollector tick 0.25 s = %g simulated s per completion)" % (wall, s, 0.25 * s))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--moonmotion", default=os.environ.get("MM_BENCH_BIN"),
                    help="the moonmotion binary (default $MM_BENCH_BIN, else a release build in .build-release)")
    ap.add_argument("--only", choices=["demo", "vcsim"])
    ap.add_argument("--demo-speed", type=float, help="the built-in simulator's speed (default: the demo's)")
    ap.add_argument("--speed", type=float, default=50, help="test vCenter: simulated seconds per real second")
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--vms", type=int, default=40)
    ap.add_argument("--rate", type=float, default=100, help="test vCenter: MB/s of one copy")
    ap.add_argument("--setup", type=float, default=15, help="simulated setup seconds of a Storage vMotion")
    ap.add_argument("--scaled-clock", action="store_true",
                    help="test vCenter: the run takes its scaled clock as its own (MOONMOTION_CLOCK_SPEED) "
                         "instead of scaling MOONMOTION_FORECAST's settings")
    ap.add_argument("--slow", default="legacy-02", help="the datastore copying at half speed")
    ap.add_argument("--progress-steps", type=int, default=20, help="test vCenter: progress reports per task (vSphere: ~1 %%)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deadline", type=float, default=1800)
    ap.add_argument("--keep", help="a directory to copy the runs' journals to")
    args = ap.parse_args()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)   # copied to after the figures were read: never lose a run to it
    if not args.moonmotion:
        scratch = os.environ.get("MM_BENCH_SCRATCH", os.path.join(REPO, ".build-release"))
        sys.stderr.write("building moonmotion (release, %s) ...\n" % scratch)
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", scratch, "--product", "moonmotion"],
                       cwd=REPO, check=True)
        args.moonmotion = os.path.join(scratch, "release", "moonmotion")
    args.moonmotion = os.path.abspath(args.moonmotion)
    print("ETA accuracy, %s; %d core(s)" % (time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), os.cpu_count()))
    if args.only in (None, "demo"):
        demo(args)
    if args.only in (None, "vcsim"):
        test_vcenter(args)


if __name__ == "__main__":
    main()
