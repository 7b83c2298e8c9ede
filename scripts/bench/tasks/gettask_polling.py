#!/usr/bin/env python3
"""Get-Task-style peer of the live-task benchmark: start n relocations, then every 15
simulated seconds read every unfinished task's info in one RetrievePropertiesEx (what a
PowerCLI script's `Get-Task -Id $ids` loop does), until all ended.

    python3 gettask_polling.py --url ... --control ... --n 1000 --speed 10 --out detections.jsonl
"""
import argparse
import json
import sys
import time

import common
from pyVmomi import vim, vmodl

POLL_SIM_SECONDS = 15.0


def main():
    p = argparse.ArgumentParser()
    common.add_arguments(p)
    p.add_argument("--speed", type=float, required=True, help="the server's simulated seconds per real second")
    a = p.parse_args()
    si = common.connect(a.url, a.user, a.password)
    vms, targets = common.vms_and_targets(si, a.n)
    common.reset_stats(a.control)
    tasks = common.start_relocations(vms, targets, a.n)
    out = open(a.out, "w", buffering=1)
    pc = si.RetrieveContent().propertyCollector
    pending = {t._moId: t for t in tasks}
    interval = POLL_SIM_SECONDS / a.speed
    while pending:
        time.sleep(interval)
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=t) for t in pending.values()],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Task, pathSet=["info"])])
        result = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
        now = time.time()
        while result:
            for obj in result.objects:
                info = obj.propSet[0].val
                if info.state in (vim.TaskInfo.State.success, vim.TaskInfo.State.error) and obj.obj._moId in pending:
                    del pending[obj.obj._moId]
                    out.write(json.dumps({"id": obj.obj._moId, "detected": now, "ok": info.state == "success"}) + "\n")
            result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    out.close()
    common.disconnect(si)


if __name__ == "__main__":
    sys.exit(main())
