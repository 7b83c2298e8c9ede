#!/usr/bin/env python3
"""Change-windows benchmark (issue 15.1 acceptance): a ~5-hour Storage vMotion migration run
in three 2-hour change windows against the test vCenter on scaled time, measured from the
run's journal, beside what `moonmotion plan --window` predicted for the same inventory.

The test vCenter runs --speed simulated seconds per real second, its clock set so that the
simulated calendar starts a minute before --day 00:00 UTC; the run takes that clock as its
own (MOONMOTION_CLOCK_SPEED), so `--window` is read on the simulated calendar, exactly as
`plan --window --start` reads it. The windows are --windows (default three 2-hour windows an
hour apart: the gap's length changes nothing but the wait). Per window, from the journal:

  * moves started in it, and the latest end of a Storage vMotion past the window's close
    beside the prediction error that move recorded (its end - the end the scheduler predicted
    when it started it: `predictedEnd` in its job events). A move may overrun by no more than
    that error;
  * idle slot time while work was waiting: the slot-seconds inside the window during which
    fewer than max_concurrent moves held a slot (dispatch to recorded end) while jobs not yet
    dispatched remained, / (max_concurrent x the window's seconds). Goal < 5 %.

And `plan` on the same inventory (read from the test vCenter with `moonmotion inventory
--json`), strategy and rates: first with the same --window and --start (its plan.json goes to
the run as --plan: journaled, and its rate is the window rule's prediction until a move is
measured), whose last window and end date are set against the run's; then without windows,
for the makespan.

    python3 scripts/bench/windows/run.py --moonmotion .build/debug/moonmotion

Figures and commands: BENCHMARKS.md, "Change windows".
"""
import argparse
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "scripts", "vcsim"))
import vcsim  # noqa: E402

UTC = dt.timezone.utc


def iso(t):
    return dt.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_iso(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run(cmd, env, cwd, deadline):
    start = time.monotonic()
    p = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=deadline)
    return p.returncode, time.monotonic() - start, p.stdout, p.stderr


def windows_of(db, run_id):
    """[(start, end)] from the window-opened events (a window open at the run's start begins then)."""
    out = []
    for t, detail in db.execute("SELECT time, detail FROM events WHERE run_id = ? AND type = 'window-opened' ORDER BY seq", (run_id,)):
        end = json.loads(detail).get("windowEnd")
        if end:
            out.append((t, parse_iso(end)))
    return out


def measure(journal, slots):
    db = sqlite3.connect(journal)
    run_id, started, ended, outcome = db.execute("SELECT id, started_at, ended_at, outcome FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    jobs = {}
    for jid, name, kind, state, size, disp, start, fin in db.execute(
            "SELECT id, vm_name, kind, state, size, dispatched_at, started_at, finished_at FROM jobs WHERE run_id = ?", (run_id,)):
        jobs[jid] = dict(name=name, kind=kind, state=state, size=size, dispatched=disp, started=start, finished=fin)
    kinds = {}
    for jid, detail in db.execute("SELECT job_id, detail FROM events WHERE run_id = ? AND type = 'job-added'", (run_id,)):
        kinds[jid] = json.loads(detail).get("kind")
    for jid, j in jobs.items():
        j["kind"] = kinds.get(jid, "?")
    predicted = {}
    for jid, detail in db.execute("SELECT job_id, detail FROM events WHERE run_id = ? AND type = 'job-changed' AND detail LIKE '%predictedEnd%' ORDER BY seq", (run_id,)):
        predicted[jid] = parse_iso(json.loads(detail)["predictedEnd"])
    windows = windows_of(db, run_id)
    rows = []
    for ws, we in windows:
        inside = [j for j in jobs.values() if j["dispatched"] is not None and ws <= j["dispatched"] < we]
        # The acceptance's figure is about Storage vMotions (a vMotion's copy of memory is seconds).
        ended_ = [(jid, j) for jid, j in jobs.items() if j in inside and j["finished"] is not None and "storage" in j["kind"]]
        latest = max(ended_, key=lambda p: p[1]["finished"], default=None)
        # Idle slot time: sweep the window in order of the instants where running or waiting changes.
        marks = sorted({ws, we} | {x for j in jobs.values() for x in (j["dispatched"], j["finished"]) if x is not None and ws < x < we})
        idle = 0.0
        for a, b in zip(marks, marks[1:]):
            mid = (a + b) / 2
            running = sum(1 for j in jobs.values() if j["dispatched"] is not None and j["dispatched"] <= mid
                          and (j["finished"] is None or j["finished"] > mid))
            waiting = sum(1 for j in jobs.values() if j["state"] != "skipped" and (j["dispatched"] is None or j["dispatched"] > mid))
            if waiting > 0:
                idle += max(0, slots - running) * (b - a)
        # Only time with work waiting counts as idle (in the last window, none after the last
        # dispatch), but the fraction is of the whole window's slot-seconds.
        rows.append(dict(start=ws, end=we, started=len(inside),
                         last_end=latest[1]["finished"] if latest else None,
                         overrun=(latest[1]["finished"] - we) if latest else None,
                         vm=latest[1]["name"] if latest else None,
                         error=(latest[1]["finished"] - predicted[latest[0]]) if latest and latest[0] in predicted else None,
                         idle=idle, slot_seconds=slots * (we - ws)))
    finishes = [j["finished"] for j in jobs.values() if j["finished"] is not None]
    done = sum(1 for j in jobs.values() if j["state"] == "done")
    # Every move's prediction error, for the spread.
    errors = [(jobs[jid]["finished"] - p, jobs[jid]) for jid, p in predicted.items() if jobs.get(jid, {}).get("finished")]
    outside = [j for j in jobs.values() if j["dispatched"] is not None and not any(ws <= j["dispatched"] < we for ws, we in windows)]
    return dict(started=started, ended=ended, outcome=outcome, end=max(finishes) if finishes else None, jobs=len(jobs), done=done,
                windows=rows, errors=errors, predicted=len(predicted), outside=outside)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moonmotion", default=os.environ.get("MM_BENCH_BIN"), help="the moonmotion binary")
    ap.add_argument("--hosts", type=int, default=4)
    ap.add_argument("--vms", type=int, default=140)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=400, help="MiB/s of one copy (test vCenter -rate-mbps, plan --rate)")
    ap.add_argument("--setup", type=float, default=15, help="setup seconds of a Storage vMotion (plan's is 15)")
    ap.add_argument("--max-concurrent", type=int, default=4, help="the strategy's max_concurrent (the slots)")
    ap.add_argument("--speed", type=float, default=60, help="simulated seconds per real second")
    ap.add_argument("--day", default="2026-12-07", help="the simulated day the first window opens (UTC)")
    ap.add_argument("--windows", default="daily 00:00-02:00; daily 03:00-05:00; daily 06:00-08:00")
    ap.add_argument("--poller", default="coalesce=0.05,pace=0.1", help="MOONMOTION_POLLER for the run")
    ap.add_argument("--deadline", type=float, default=3600)
    args = ap.parse_args()
    mm = os.path.abspath(args.moonmotion)
    script = os.path.join(REPO, "examples", "storage-migration.lua")
    day0 = dt.datetime.fromisoformat(args.day).replace(tzinfo=UTC).timestamp()
    sim_start = day0 - 60
    params = ["from=legacy-*", "to=new-*", "max_concurrent=%d" % args.max_concurrent]

    flags = dict(clusters=1, hosts=args.hosts, vms=args.vms, seed=args.seed, rate_mbps=args.rate, speed=args.speed,
                 svmotion_setup_seconds=args.setup, snapshot_fraction=0, consolidate_fraction=0, update_batch_ms=20,
                 clock_skew_seconds=int(sim_start - time.time()))
    with vcsim.start(**flags) as vc, tempfile.TemporaryDirectory() as tmp:
        url = vc.url.replace("://", "://%s:%s@" % (vc.username, vc.password), 1)
        env = dict(os.environ, GOVC_URL="", MOONMOTION_INSECURE_HTTP="1", MOONMOTION_CLOCK_SPEED=str(args.speed),
                   MOONMOTION_POLLER=args.poller, TZ="UTC")
        env.pop("MOONMOTION_PATH", None)
        code, _, inv, err = run([mm, "inventory", "--url", url, "--json"], env, tmp, 300)
        if code != 0:
            sys.exit("inventory failed: %s" % err[-2000:])
        inventory = os.path.join(tmp, "inventory.json")
        with open(inventory, "w") as f:
            f.write(inv)
        # The plan first: `run --plan` journals it and hands its rate to the window rule's first predictions.
        plan_base = [mm, "plan", script, *params, "--inventory", inventory, "--rate", str(args.rate)]
        start_text = dt.datetime.fromtimestamp(sim_start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _, _, windowed, werr = run(plan_base + ["--window", args.windows, "--tz", "UTC", "--start", start_text,
                                                "--out", os.path.join(tmp, "plan")], env, tmp, 600)
        journal = os.path.join(tmp, "windows.journal")
        cmd = [mm, "run", "--url", url, script, *params, "--journal", journal, "--window", args.windows, "--tz", "UTC",
               "--report", os.path.join(tmp, "report"), "--plan", os.path.join(tmp, "plan", "plan.json")]
        sys.stderr.write("run: %s\n" % " ".join(cmd[:2] + cmd[4:]))
        code, wall, out, err = run(cmd, env, tmp, args.deadline)
        if code != 0:
            sys.stderr.write("moonmotion run exited %d:\n%s\n%s\n" % (code, out[-3000:], err[-3000:]))
        m = measure(journal, args.max_concurrent)
        report_dir = os.path.join(REPO, ".build", "bench-windows-report")
        subprocess.run(["rm", "-rf", report_dir])
        subprocess.run(["cp", "-r", os.path.join(tmp, "report"), report_dir])

        _, _, plain, perr = run(plan_base, env, tmp, 600)

    def first(pattern, text):
        mt = re.search(pattern, text, re.M)
        return mt.group(1) if mt else "?"

    print("Change windows: 1 cluster x %d hosts, %d VMs (seed %d), %g MiB/s per copy + %g s setup, max_concurrent=%d; "
          "test vCenter at %gx, run on its clock; %d core(s)" % (args.hosts, args.vms, args.seed, args.rate, args.setup,
                                                                  args.max_concurrent, args.speed, os.cpu_count()))
    print("windows: %s (UTC), simulated start %s; run: %s in %.0f real s, %d/%d jobs done"
          % (args.windows, iso(sim_start), m["outcome"], wall, m["done"], m["jobs"]))
    print("plan without windows: makespan %s" % first(r"^.*[Mm]akespan[^\n]*?(\d[^\n]*)$", plain))
    print()
    head = ("window", "opens", "closes", "moves", "last end past close", "VM", "its prediction error", "idle slot time")
    widths = (6, 19, 19, 5, 19, 12, 21, 15)
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    for i, w in enumerate(m["windows"], 1):
        cells = (str(i), iso(w["start"]), iso(w["end"]), str(w["started"]),
                 "%+.0f s" % w["overrun"] if w["overrun"] is not None else "-", w["vm"] or "-",
                 "%+.0f s" % w["error"] if w["error"] is not None else "-",
                 "%.2f %%" % (100 * w["idle"] / w["slot_seconds"]))
        print(" | ".join(c.ljust(wd) for c, wd in zip(cells, widths)))
    errs = sorted(m["errors"], key=lambda p: abs(p[0]))
    if errs:
        worst = errs[-1]
        print("prediction error over all %d jobs started: median %.0f s, p90 %.0f s, max %.0f s (|end - predicted end|; the max: %s, %s, %.0f GiB)"
              % (len(errs), abs(errs[len(errs) // 2][0]), abs(errs[int(len(errs) * 0.9)][0]), abs(worst[0]), worst[1]["name"],
                 worst[1]["kind"], worst[1]["size"] / 2**30))
    print("jobs started outside every window: %d%s" % (len(m["outside"]), "".join(
        " (%s %s at %s)" % (j["name"], j["kind"], iso(j["dispatched"])) for j in m["outside"][:5])))
    overrun_ok = not m["outside"] and all(w["overrun"] is None or w["overrun"] <= 0 or (w["error"] is not None and w["overrun"] <= w["error"] + 1)
                     for w in m["windows"])
    idle_ok = all(w["idle"] / w["slot_seconds"] < 0.05 for w in m["windows"])
    print("no move past a close by more than its recorded prediction error: %s; idle < 5 %% in every window: %s"
          % ("yes" if overrun_ok else "NO", "yes" if idle_ok else "NO"))
    print()
    last_window = next((w for w in reversed(m["windows"]) if w["started"] > 0), None)
    print("plan --window: %s" % " / ".join(l.strip() for l in windowed.splitlines() if "indow" in l and ("Windows:" in l or "last window" in l)))
    if last_window and m["end"]:
        print("run:           %d windows; the last job ends %s; last window: %s - %s"
              % (sum(1 for w in m["windows"] if w["started"] > 0), iso(m["end"]), iso(last_window["start"]), iso(last_window["end"])))
    print("report: %s/report.html" % report_dir)
    return 0 if code == 0 and overrun_ok and idle_ok else 1


if __name__ == "__main__":
    sys.exit(main())
