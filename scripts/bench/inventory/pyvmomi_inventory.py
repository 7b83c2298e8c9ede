#!/usr/bin/env python3
"""The pyVmomi side of the inventory benchmark: the best-practice equivalent of
Moonmotion's VM retrieval — one ContainerView over the root folder, one
RetrievePropertiesEx with a TraversalSpec (ContinueRetrievePropertiesEx while a
token comes back), the same properties, DestroyView — with the results turned into
plain per-VM dicts. Prints one JSON line like the Swift side."""
import argparse, json, ssl, sys, time, resource

from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim, vmodl

VM_PATHS = ["name", "runtime.host", "runtime.powerState", "runtime.consolidationNeeded", "datastore",
            "resourcePool", "summary.storage.committed", "summary.storage.uncommitted",
            "summary.config.memorySizeMB", "config.template", "snapshot"]


def flatten(snapshots, parent, out):
    for s in snapshots or []:
        out.append({"moref": s.snapshot._moId, "name": s.name, "create_time": s.createTime, "parent": parent})
        flatten(s.childSnapshotList, s.snapshot._moId, out)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--username", default="user")
    p.add_argument("--password", default="pass")
    p.add_argument("--http", action="store_true", help="plain HTTP (the test vCenter's default)")
    a = p.parse_args()

    kw = dict(host=a.host, port=a.port, user=a.username, pwd=a.password)
    if a.http:
        kw["protocol"] = "http"
    else:
        kw["disableSslCertValidation"] = True
    si = SmartConnect(**kw)
    content = si.RetrieveContent()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    start = time.perf_counter()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    traversal = vmodl.query.PropertyCollector.TraversalSpec(name="traverseView", type=vim.view.ContainerView, path="view", skip=False)
    obj_spec = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])
    prop_spec = vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, all=False, pathSet=VM_PATHS)
    filter_spec = vmodl.query.PropertyCollector.FilterSpec(objectSet=[obj_spec], propSet=[prop_spec])
    pc = content.propertyCollector
    result = pc.RetrievePropertiesEx([filter_spec], vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=5000))
    vms = []
    while result is not None:
        for obj in result.objects:
            props = {p.name: p.val for p in obj.propSet}
            snap = props.get("snapshot")
            vms.append({
                "moref": obj.obj._moId, "name": props.get("name"),
                "host": props["runtime.host"]._moId if props.get("runtime.host") else None,
                "power_state": props.get("runtime.powerState"),
                "consolidation_needed": props.get("runtime.consolidationNeeded", False),
                "datastores": [d._moId for d in props.get("datastore", [])],
                "resource_pool": props["resourcePool"]._moId if props.get("resourcePool") else None,
                "committed_bytes": props.get("summary.storage.committed", 0),
                "uncommitted_bytes": props.get("summary.storage.uncommitted", 0),
                "memory_mb": props.get("summary.config.memorySizeMB", 0),
                "template": props.get("config.template", False),
                "snapshots": flatten(snap.rootSnapshotList, None, []) if snap else [],
            })
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    view.Destroy()
    seconds = time.perf_counter() - start

    committed = sum(v["committed_bytes"] for v in vms)
    Disconnect(si)
    print(json.dumps({"tool": "pyvmomi", "mode": "vms", "vms": len(vms), "committed_bytes": committed,
                      "seconds": seconds, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "rss_before_kib": rss_before}))


if __name__ == "__main__":
    sys.exit(main())
