import Foundation
import VCenterModel

// Storage moves that let a datastore cluster's Storage DRS choose (`sdrs = true`).
//
// The engine still owns the limits: a job is examined as any storage move (its sources and
// host must have room, and some member of the cluster must be able to take its files), then
// holds those charges while Storage DRS is asked (`.recommend`; nothing changes in vCenter,
// so no intent is journaled). The answer comes back through `recommendations`: the first
// recommendation whose destinations are members with room and free space is charged and
// applied (`.start` with `ApplyStorageDrsRecommendation_Task`). When none fits now the job
// gives its charges back and waits for room on the cluster's members, like a job whose
// targets are full; when Storage DRS recommends nothing the attempt fails like a task
// (`NoStorageRecommendation`), and the strategy's `on_failure` decides.
extension Scheduler {
    /// Holds the job's source and host charges and asks Storage DRS.
    func askStorageDRS(_ j: Int32, charges: [Charge], now: Date) {
        let i = Int(j)
        guard let pod = meta[i].move?.move.storageDRS else { return }
        let verify = hold(j, charges: charges, now: now)
        meta[i].awaitingRecommendation = true
        meta[i].verifyAfterRecommendation = verify
        meta[i].recommendationKey = nil
        let host = meta[i].destHost >= 0 ? hostSlots[Int(meta[i].destHost)].ref : nil
        var spec = RelocateSpec(host: host)
        if let fixed = meta[i].move?.move.fixed {
            spec.disks = fixed.compactMap { f in f.file.diskKey.map { DiskLocator(diskKey: $0, datastore: f.datastore) } }
        }
        actions.append(.recommend(jobs[i].id, vm: jobs[i].vm, pod: pod, spec: spec))
    }

    /// Storage DRS answered for a job that asked it (best recommendation first).
    public func recommendations(_ id: JobID, _ recommendations: [StorageRecommendation], now: Date) -> [SchedulerAction] {
        let j = Int32(id.rawValue)
        let i = Int(j)
        guard jobs.indices.contains(i), jobs[i].state == .dispatching, meta[i].awaitingRecommendation else { return finishStep(now: now) }
        meta[i].awaitingRecommendation = false
        let pod = meta[i].move?.move.storageDRS.map { baseInventory.name(of: $0) } ?? "the datastore cluster"
        guard !recommendations.isEmpty else {
            handleFailure(j, fault: VCenterFault(.noStorageRecommendation,
                                                 "Storage DRS of \(pod) recommends no datastore for \(jobs[i].vmName)"), now: now)
            return finishStep(now: now)
        }
        let files = movingFiles(j)
        let allowed = Set(meta[i].candidates)
        let cold = vmSlots[Int(meta[i].vm)].cold
        let dsCost = cold ? configuration.costs.coldMigrationDatastore : configuration.costs.storageVMotionDatastore
        let touched = Set(meta[i].charges.map(\.resource))
        for rec in recommendations {
            guard let home = dsIndex[rec.destination], allowed.contains(home) else { continue }
            var destinations: [VMFileID: Int32] = [:]
            var usable = true
            for f in files {
                var d = home
                if case .disk(let key) = f.id, let locator = rec.disks.first(where: { $0.diskKey == key }) {
                    guard let ld = dsIndex[locator.datastore], allowed.contains(ld) || ld == f.from else { usable = false; break }
                    d = ld
                }
                destinations[f.id] = d
            }
            guard usable else { continue }
            var need: [Int32: Int64] = [:]
            for f in files where destinations[f.id] != f.from { need[destinations[f.id]!, default: 0] += f.space }
            let fits = need.allSatisfy { d, bytes in
                let ds = dsSlots[Int(d)]
                guard ds.free >= bytes &+ ds.keep else { return false }
                if touched.contains(ds.cost) { return true }
                return ledger.room(ds.cost) >= dsCost && (ds.storageMoves < 0 || ledger.room(ds.storageMoves) >= 1)
            }
            guard fits else { continue }
            var placed: [PlacedFile] = []
            for f in files where destinations[f.id] != f.from {
                placed.append(PlacedFile(id: f.id, label: f.label, from: f.from, to: destinations[f.id]!, written: f.written, space: f.space, leaves: f.leaves))
            }
            var list = ChargeList()
            list.all = meta[i].charges
            for t in distinct(placed.map(\.to)) { addTarget(t, to: &list, cold: cold) }
            let extra = Array(list.all.dropFirst(meta[i].charges.count))
            for c in extra { ledger.charge(c, external: false) }
            meta[i].charges = list.all
            place(j, placed)
            meta[i].recommendationKey = rec.key
            actions.append(startAction(j, verifyFirst: meta[i].verifyAfterRecommendation, now: now))
            return finishStep(now: now)
        }
        // Nothing Storage DRS recommends fits now: give the room back and wait for the members.
        release(j, success: false)
        jobs[i].attempts -= 1
        transition(j, to: .pending, now: now)
        park(j, meta[i].group, cost: 0)
        return finishStep(now: now)
    }
}
