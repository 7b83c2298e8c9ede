#!/usr/bin/env python3
"""pyVmomi peer of the live-task benchmark: start n relocations, then pyVim.task.WaitForTasks.

Detection times come from pyVim's own progress hook (pyVim.task.globalTaskUpdate, called with
'completed' or 'error: ...' the moment WaitForTasks sees a task end); passing onProgressUpdate
instead would make WaitForTasks read task.info on every progress update, costing extra calls.
Writes one JSON line per detected task to --out as it happens (a run killed at its deadline
keeps what it saw).

    python3 pyvim_waitfortasks.py --url http://127.0.0.1:PORT/sdk --user user --password pass \
        --control http://127.0.0.1:PORT/_mm --n 1000 --out detections.jsonl
"""
import argparse
import json
import sys
import time

import common
from pyVim import task as pyvim_task


def main():
    p = argparse.ArgumentParser()
    common.add_arguments(p)
    a = p.parse_args()
    si = common.connect(a.url, a.user, a.password)
    vms, targets = common.vms_and_targets(si, a.n)
    common.reset_stats(a.control)
    tasks = common.start_relocations(vms, targets, a.n)
    out = open(a.out, "w", buffering=1)

    def on_update(task, state):
        if state == "completed" or (isinstance(state, str) and state.startswith("error")):
            out.write(json.dumps({"id": task._moId, "detected": time.time(), "ok": state == "completed"}) + "\n")

    pyvim_task.globalTaskUpdate = on_update
    pyvim_task.WaitForTasks(tasks, raiseOnError=False, si=si)
    out.close()
    common.disconnect(si)


if __name__ == "__main__":
    sys.exit(main())
