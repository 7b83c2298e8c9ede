import Foundation
import VCenterModel

extension SimulationCore {
    /// The statistics as of `now` (busy and cost integrals include the time up to now).
    func stats() -> SimulatorStats {
        var usages: [SimulatorStats.ResourceUsage] = []
        usages.reserveCapacity(res.count)
        func usage(_ r: Int, _ resource: SimulatedResource, _ name: String) -> SimulatorStats.ResourceUsage {
            let s = res[r]
            let dt = max(0, now - s.last)
            return SimulatorStats.ResourceUsage(
                resource: resource, name: name, limit: s.limit == Int.max ? nil : s.limit,
                peakCost: s.peakCost, peakTasks: s.peakCount,
                busySeconds: s.busy + (s.count > 0 ? dt : 0), costSeconds: s.costTime + Double(s.cost) * dt,
                tasksQueued: s.queued)
        }
        for (i, h) in inventory.hosts.enumerated() { usages.append(usage(hostBase + i, .host(h.ref), h.name)) }
        for (i, d) in inventory.datastores.enumerated() { usages.append(usage(dsBase + i, .datastore(d.ref), d.name)) }
        for (i, h) in inventory.hosts.enumerated() { usages.append(usage(netBase + i, .vMotionNetwork(host: h.ref), "\(h.name) vMotion network")) }
        for (i, c) in inventory.clusters.enumerated() { usages.append(usage(clusterBase + i, .cluster(c.ref), c.name)) }
        usages.append(usage(vcenterSlot, .vCenter, "vCenter"))

        let dsRefs = inventory.datastores.map(\.ref)
        let records = tasks.map { t -> SimulatorStats.TaskRecord in
            let vm = inventory.vms[t.vm]
            var copiedFrom: [MoRef] = [], copiedTo: [MoRef] = []
            for m in t.fileMoves {
                if m.from >= 0, !copiedFrom.contains(dsRefs[m.from]) { copiedFrom.append(dsRefs[m.from]) }
                if !copiedTo.contains(dsRefs[m.to]) { copiedTo.append(dsRefs[m.to]) }
            }
            return SimulatorStats.TaskRecord(
                ref: t.ref, name: t.name, kind: t.kind, entity: vm.ref, entityName: vm.name, state: t.state, error: t.error,
                queueTime: date(t.queueTime), startTime: t.startTime.map(date), completeTime: t.completeTime.map(date),
                queuedByLimit: t.queuedByLimit,
                sourceHost: t.srcHost >= 0 ? inventory.hosts[t.srcHost].ref : nil,
                destinationHost: t.dstHost >= 0 ? inventory.hosts[t.dstHost].ref : nil,
                sourceDatastores: t.srcDS.map { inventory.datastores[$0].ref },
                destinationDatastore: t.dstDS >= 0 ? inventory.datastores[t.dstDS].ref : nil,
                bytes: Int64(t.totalBytes), copiedFrom: copiedFrom, copiedTo: copiedTo, isColdMigration: t.cold,
                bytesCopied: t.copyEnd == nil ? nil : t.bytesDone,
                copySeconds: t.copyEnd.flatMap { e in t.copyStart.map { e - $0 } })
        }
        // The arrays as of now: counters are settled at every start and end of a copy, so
        // the copies running now add their bytes and time since then.
        var arrays: [SimulatorStats.ArrayUsage] = []
        for (a, spec) in arrayLayout.arrays.enumerated() {
            let use = arrayUse[a]
            let dt = max(0, now - use.last)
            var read = use.bytesRead, written = use.bytesWritten
            for j in use.copies {
                let t = tasks[Int(j)]
                let extra = min(t.rate * max(0, now - t.lastUpdate), t.endBytes - t.bytesDone)
                for l in t.loads where Int(l.array) == a {
                    if l.read { read += extra }
                    if l.write { written += extra }
                }
            }
            arrays.append(SimulatorStats.ArrayUsage(
                array: spec, isDatastoreBandwidth: arrayLayout.implicit[a],
                datastores: arrayLayout.arrayOf.indices.filter { arrayLayout.arrayOf[$0] == a }.map { dsRefs[$0] },
                maxCopies: use.maxCopies, bytesRead: read, bytesWritten: written,
                busySeconds: use.busySeconds + (use.copies.isEmpty ? 0 : dt),
                copySeconds: use.copySeconds + Double(use.copies.count) * dt))
        }
        let copies = fileCopies.map { e -> SimulatorStats.FileCopy in
            let t = tasks[Int(e.task)], m = e.move
            let vm = inventory.vms[t.vm]
            return SimulatorStats.FileCopy(task: t.ref, vm: vm.ref, vmName: vm.name, file: m.file, from: m.from >= 0 ? dsRefs[m.from] : nil,
                                           to: dsRefs[m.to], format: m.format, bytesFreed: m.bytesBefore, bytesWritten: m.written,
                                           spaceTaken: m.space)
        }
        var movesPerVM: [MoRef: Int] = [:]
        for (v, n) in moves { movesPerVM[inventory.vms[v].ref] = n }
        return SimulatorStats(startTime: startDate, now: date(now), resources: usages, tasksQueuedByLimit: tasksQueuedByLimit,
                              tasksDelayed: tasksDelayed, movesPerVM: movesPerVM, tasks: records, fileCopies: copies, arrays: arrays)
    }
}
