import Foundation
import VCenterModel

// The VMs that cannot move as asked, known before anything moves.
//
// vSphere refuses some moves outright (Storage vMotion of a running VM with a multi-writer
// disk or under Fault Tolerance, a VM that is orphaned or whose host is gone), and some
// moves would not do what the strategy wants (a physical-mode RDM's data never leaves its
// LUN; an ISO on a datastore being emptied keeps it in use; no destination could ever hold
// the files with the free space kept). Each such job is skipped when it is created, with the
// reason and what to do, so `--dry-run` and `plan` list it before the window and a run never
// spends a task on it (`Job.cannotMove`). The strategy adds its own (`Strategy.check`).
extension Scheduler {
    /// Why job `j` cannot move its VM as asked, with what to do, or nil. `vm` is the VM's
    /// inventory record (the caller has read it already).
    func cannotMove(_ j: Int32, files: [MovingFile]? = nil, vm: VMInfo?) -> String? {
        let i = Int(j)
        let kind = jobs[i].kind
        guard kind.movesStorage || kind.movesHost, let vm else { return nil }
        var reasons: [String] = []
        if vm.connectionState != "connected" {
            reasons.append("the VM is \(vm.connectionState) in vCenter — re-register or reconnect it first")
        }
        // The host's slot says whether it is usable (from the same record, which a run never
        // changes): the record itself, a copy read through the inventory, only when it is not.
        if let hostRef = vm.host, let h = hostIndex[hostRef], !hostSlots[Int(h)].usable,
           let host = baseInventory.host(hostRef), !host.isUsable {
            let state = host.inMaintenanceMode ? "in maintenance mode" : host.connectionState
            reasons.append("its host \(host.name) is \(state) — bring the host back or register the VM on another host")
        }
        if vmSlots[Int(meta[i].vm)].external > 0, let task = external.values.first(where: { $0.vm == meta[i].vm }) {
            reasons.append("a task is already running on it (\(task.name) \(task.ref.value)) — wait for it to end or cancel it, then run again")
        }
        if kind.movesStorage { reasons += storageReasons(j, vm: vm, files: files) }
        do {
            if let own = try strategy.check(jobs[i], vm: vm), !own.isEmpty { reasons.append(own) }
        } catch {
            reasons.append("the strategy's check failed: \(error)")
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    /// The reasons a storage move of `vm` cannot go as asked.
    private func storageReasons(_ j: Int32, vm: VMInfo, files: [MovingFile]?) -> [String] {
        let i = Int(j)
        let moving = files ?? movingFiles(j)
        guard !moving.isEmpty else { return [] }
        var reasons: [String] = []
        // A VM has a few disks: a list, not a set built per job.
        let movingDisks = moving.compactMap(\.id.diskKey)
        if let role = vm.faultToleranceRole {
            reasons.append("it is protected by Fault Tolerance (\(role == 1 ? "primary" : "secondary")), which Storage vMotion does not support — turn Fault Tolerance off, move it, turn it on again")
        }
        for disk in vm.disks where disk.backing == .rdmPhysical && movingDisks.contains(disk.key) {
            reasons.append("\(disk.label) is a physical-mode RDM: only its mapping file can move, its data stays on the LUN — leave the VM out, or move the mapping file by hand with the LUN presented to the new hosts")
        }
        if !vm.isCold, let shared = vm.disks.first(where: \.isMultiWriter) {
            reasons.append("\(shared.label) is shared (multi-writer), and vSphere does not Storage-vMotion a running VM with shared disks — power off every VM sharing it for a cold move, or leave it out")
        }
        if let sources = meta[i].move?.move.sources {
            for media in vm.media where media.datastore.map(sources.contains) == true {
                let ds = media.datastore.map { baseInventory.name(of: $0) } ?? "?"
                reasons.append("\(media.label) has \(media.fileName) connected, which stays on \(ds) and keeps it in use — disconnect the image (or copy it elsewhere and reconnect it) first")
            }
        }
        // A destination that could never hold the files with the kept free space, whatever
        // else moves (free space now, before this run takes any).
        let mountHost = jobs[i].kind.movesHost ? meta[i].destHost : vmSlots[Int(meta[i].vm)].host
        for group in groups(moving, keepTogether: meta[i].move?.move.keepTogether ?? true) {
            let need = group.reduce(Int64(0)) { $0 + $1.space }
            var best: (Int32, Int64)?
            var usable = false
            for d in group[0].allowed {
                // Fields, not a copy of the slot (its record, mounts and groups).
                guard dsSlots[Int(d)].accessible, dsSlots[Int(d)].mounts.map({ $0.contains(mountHost) }) ?? true else { continue }
                usable = true
                let room = dsSlots[Int(d)].free - dsSlots[Int(d)].keep
                if best == nil || room > best!.1 { best = (d, room) }
            }
            guard usable, let (d, room) = best, room < need else { continue }
            let ds = dsSlots[Int(d)]
            reasons.append("no target datastore can take \(describeFiles(group)) (\(ProgressRenderer.bytes(need))) and keep \(ProgressRenderer.bytes(ds.keep)) free: the most room is on \(baseInventory.name(of: ds.ref)) (\(ProgressRenderer.bytes(max(room, 0)))) — add capacity, lower min_free, or choose other targets")
        }
        return reasons
    }
}
