#!/usr/bin/env python3
"""The pyVmomi side of the inventory benchmark: the best-practice equivalent of
Moonmotion's VM retrieval — one ContainerView over the root folder, one
RetrievePropertiesEx with a TraversalSpec (ContinueRetrievePropertiesEx while a
token comes back), the same properties, DestroyView — with the results turned into
plain per-VM dicts. Prints one JSON line like the Swift side.

With --whole it is the peer of the `moonmotion inventory --json` command instead: the same
object types and properties (datacenters, folders, clusters, resource pools in one view;
hosts with their vMotion network; datastores; VMs), references resolved to names, and the
whole document written as JSON on stdout."""
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


HOST_PATHS = ["name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode",
              "config.network.pnic", "config.network.vswitch", "config.network.portgroup",
              "config.network.proxySwitch", "config.virtualNicManagerInfo.netConfig"]
DS_PATHS = ["summary.name", "summary.capacity", "summary.freeSpace", "summary.type", "summary.accessible", "host"]


def retrieve(pc, content, specs):
    """{moref: (type, {path: value})} for every object of the specs' types, through one ContainerView."""
    types = [t for t, _ in specs]
    view = content.viewManager.CreateContainerView(content.rootFolder, types, True)
    traversal = vmodl.query.PropertyCollector.TraversalSpec(name="traverseView", type=vim.view.ContainerView, path="view", skip=False)
    obj_spec = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])
    props = [vmodl.query.PropertyCollector.PropertySpec(type=t, all=False, pathSet=paths) for t, paths in specs]
    filter_spec = vmodl.query.PropertyCollector.FilterSpec(objectSet=[obj_spec], propSet=props)
    out = {}
    result = pc.RetrievePropertiesEx([filter_spec], vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=5000))
    while result is not None:
        for obj in result.objects:
            out[obj.obj._moId] = (type(obj.obj).__name__, {p.name: p.val for p in obj.propSet})
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    view.Destroy()
    return out


def whole(content):
    """The whole inventory as one JSON-ready document, like `moonmotion inventory --json`."""
    pc = content.propertyCollector
    structure = retrieve(pc, content, [(vim.Datacenter, ["name"]), (vim.Folder, ["parent"]),
                                       (vim.ClusterComputeResource, ["name", "parent", "host"]),
                                       (vim.ResourcePool, ["name", "owner", "parent"])])
    hosts = retrieve(pc, content, [(vim.HostSystem, HOST_PATHS)])
    stores = retrieve(pc, content, [(vim.Datastore, DS_PATHS)])
    vms = retrieve(pc, content, [(vim.VirtualMachine, VM_PATHS)])
    name = lambda ref: (structure.get(ref) or hosts.get(ref) or stores.get(ref) or ({}, {}))[1].get("name")
    clusters = {m: p for m, (t, p) in structure.items() if t.endswith("ClusterComputeResource")}
    cluster_of = {h._moId: c for c, p in clusters.items() for h in p.get("host", [])}

    def datacenter(ref):
        while ref in structure and not structure[ref][0].endswith("Datacenter"):
            parent = structure[ref][1].get("parent")
            ref = parent._moId if parent else None
        return ref

    def link_mbps(p):
        speeds = [n.linkSpeed.speedMb for n in (p.get("config.network.pnic") or []) if n.linkSpeed]
        return max(speeds) if speeds else None

    doc = {
        "datacenters": [{"name": p["name"], "moref": m} for m, (t, p) in structure.items() if t.endswith("Datacenter")],
        "clusters": [{"name": p["name"], "moref": m, "datacenter": name(datacenter(p["parent"]._moId)),
                      "hosts": [hosts[h._moId][1]["name"] for h in p.get("host", [])]} for m, p in clusters.items()],
        "resource_pools": [{"name": p["name"], "moref": m, "owner_moref": p["owner"]._moId, "parent_moref": p["parent"]._moId}
                           for m, (t, p) in structure.items() if t.endswith("ResourcePool")],
        "hosts": [{"name": p["name"], "moref": m, "cluster": clusters.get(cluster_of.get(m), {}).get("name"),
                   "cluster_moref": cluster_of.get(m), "connection_state": p.get("runtime.connectionState"),
                   "in_maintenance_mode": p.get("runtime.inMaintenanceMode"), "vmotion_link_speed_mbps": link_mbps(p)}
                  for m, (t, p) in hosts.items()],
        "datastores": [{"name": p["summary.name"], "moref": m, "capacity_bytes": p["summary.capacity"],
                        "free_bytes": p["summary.freeSpace"], "type": p.get("summary.type"),
                        "accessible": p.get("summary.accessible"),
                        "hosts": [hosts[h.key._moId][1]["name"] for h in p.get("host", []) if h.key._moId in hosts],
                        "host_morefs": [h.key._moId for h in p.get("host", [])]} for m, (t, p) in stores.items()],
        "vms": [],
    }
    for m, (t, p) in vms.items():
        host = p["runtime.host"]._moId if p.get("runtime.host") else None
        snap = p.get("snapshot")
        doc["vms"].append({
            "name": p.get("name"), "moref": m, "host": name(host), "host_moref": host,
            "cluster": clusters.get(cluster_of.get(host), {}).get("name"), "cluster_moref": cluster_of.get(host),
            "resource_pool": name(p["resourcePool"]._moId) if p.get("resourcePool") else None,
            "datastores": [stores[d._moId][1]["summary.name"] for d in p.get("datastore", []) if d._moId in stores],
            "datastore_morefs": [d._moId for d in p.get("datastore", [])],
            "committed_bytes": p.get("summary.storage.committed", 0),
            "uncommitted_bytes": p.get("summary.storage.uncommitted", 0),
            "memory_mb": p.get("summary.config.memorySizeMB", 0), "power_state": p.get("runtime.powerState"),
            "template": p.get("config.template", False), "consolidation_needed": p.get("runtime.consolidationNeeded", False),
            "snapshots": flatten(snap.rootSnapshotList, None, []) if snap else [],
        })
    per_store = {}
    for vm in doc["vms"]:
        for d in vm["datastore_morefs"]:
            count, committed = per_store.get(d, (0, 0))
            per_store[d] = (count + 1, committed + vm["committed_bytes"])
    for ds in doc["datastores"]:
        ds["vm_count"], ds["committed_bytes"] = per_store.get(ds["moref"], (0, 0))
    return doc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--username", default="user")
    p.add_argument("--password", default="pass")
    p.add_argument("--http", action="store_true", help="plain HTTP (the test vCenter's default)")
    p.add_argument("--whole", action="store_true", help="the whole inventory as one JSON document on stdout")
    a = p.parse_args()

    kw = dict(host=a.host, port=a.port, user=a.username, pwd=a.password)
    if a.http:
        kw["protocol"] = "http"
    else:
        kw["disableSslCertValidation"] = True
    si = SmartConnect(**kw)
    content = si.RetrieveContent()
    if a.whole:
        json.dump(whole(content), sys.stdout, default=str, sort_keys=True)
        sys.stdout.write("\n")
        Disconnect(si)
        return 0
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
