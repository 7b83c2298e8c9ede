import Foundation
import VCenterModel

/// What `moonmotion rollback` does with a run: every VM the run moved goes back to the
/// datastores (per file) and the host it came from, judged against vCenter's inventory now.
///
/// Built from the run's journaled jobs alone: a done job's `moves` (schema v3) record each
/// file's from → to and its `sourceHost` the host it left; a host-moving job's destination is
/// where the run put the VM. A VM's origin is what its first done job found, where the run
/// left it what its last one made. Only done jobs count: a job the run never finished (failed,
/// skipped, pending, interrupted while running) moved nothing the journal can vouch for, so
/// it is listed (`unfinished`) and not rolled back.
///
/// Each VM is then checked against the inventory: a VM whose files or host are no longer
/// where the run put them ("moved again since"), a VM that no longer exists, or whose origin
/// datastore or host no longer exists (or the host is disconnected / in maintenance) is left
/// alone with its reason (`leftAlone`) — never an error that stops the others, since the
/// VMs are independent and a human decides about the odd one. A file already back on its
/// origin (a resumed rollback, or someone moved it back by hand) is not moved again.
public struct RollbackPlan: Sendable, Hashable {
    /// One VM going back.
    public struct VMMove: Sendable, Hashable {
        public var vm: MoRef
        public var vmName: String
        /// Each file going back: `from` where the run put it (where it is now), `to` where it
        /// was before the run, `bytes` what the copy writes.
        public var files: [FileMove]
        /// The host the VM is on now (where the run put it), when it goes back to another.
        public var hostFrom: MoRef?
        /// The host it came from, when the run moved it.
        public var hostTo: MoRef?
        /// The job that does it: one relocation per VM (storage, host, or both at once).
        public var request: JobRequest
    }

    /// A VM the run moved that the rollback leaves where it is, and why.
    public struct LeftAlone: Sendable, Hashable {
        public var vm: MoRef
        public var vmName: String
        public var reasons: [String]
    }

    /// A job the run never finished: not rolled back.
    public struct Unfinished: Sendable, Hashable {
        public var vm: MoRef
        public var vmName: String
        public var job: JobID
        public var kind: String
        public var state: JobState
        /// The job's last error, when it has one.
        public var reason: String?
    }

    /// The VMs that go back, in the order the run first touched them.
    public var moves: [VMMove]
    /// The VMs left where they are, with their reasons.
    public var leftAlone: [LeftAlone]
    /// The run's jobs that never finished.
    public var unfinished: [Unfinished]

    /// The rollback run's jobs.
    public var requests: [JobRequest] { moves.map(\.request) }

    /// The bytes the rollback copies.
    public var bytes: Int64 { moves.reduce(0) { $0 + $1.files.reduce(0) { $0 + $1.bytes } } }

    /// The plan for the run whose journaled jobs are `jobs`, against `inventory` as it is now.
    public static func make(jobs: [Job], inventory: Inventory) -> RollbackPlan {
        var plan = RollbackPlan(moves: [], leftAlone: [], unfinished: [])
        var order: [MoRef] = []
        var byVM: [MoRef: [Job]] = [:]
        for job in jobs.sorted(by: { $0.id < $1.id }) {
            if byVM[job.vm] == nil { order.append(job.vm) }
            byVM[job.vm, default: []].append(job)
        }
        for vm in order {
            let vmJobs = byVM[vm] ?? []
            for job in vmJobs where job.state != .done {
                // An engine-inserted vMotion skipped as moot was never meant to run.
                if job.isProactive && job.state == .skipped { continue }
                plan.unfinished.append(Unfinished(vm: vm, vmName: job.vmName, job: job.id, kind: job.kind.name,
                                                  state: job.state, reason: job.lastError))
            }
            let done = vmJobs.filter { $0.state == .done }
                .sorted { ($0.finishedAt ?? .distantPast, $0.id) < ($1.finishedAt ?? .distantPast, $1.id) }
            guard let record = RunRecord(done) else { continue }
            switch record.rollback(in: inventory) {
            case .move(let move): plan.moves.append(move)
            case .leave(let reasons): plan.leftAlone.append(LeftAlone(vm: vm, vmName: done[0].vmName, reasons: reasons))
            }
        }
        return plan
    }

    /// What one VM's done jobs did: each moved file's first origin and last destination, the
    /// host it first left and last reached.
    struct RunRecord {
        var vm: MoRef
        var vmName: String
        var files: [(file: VMFileID, label: String, origin: MoRef?, put: MoRef)] = []
        var originHost: MoRef?
        var putHost: MoRef?
        /// A storage move journaled without its files (before schema v3).
        var storageWithoutFiles = false

        init?(_ done: [Job]) {
            guard let first = done.first else { return nil }
            vm = first.vm
            vmName = first.vmName
            var index: [VMFileID: Int] = [:]
            for job in done {
                if job.kind.movesStorage && job.attempts > 0 {
                    if job.moves.isEmpty && job.size > 0 { storageWithoutFiles = true }
                    for m in job.moves {
                        if let i = index[m.file] {
                            files[i].put = m.to
                        } else {
                            index[m.file] = files.count
                            files.append((m.file, m.label, m.from, m.to))
                        }
                    }
                }
                if job.kind.movesHost && job.attempts > 0, let destination = job.kind.destinationHost {
                    if originHost == nil { originHost = job.sourceHost }
                    putHost = destination
                }
            }
            let movedHost = putHost != nil && putHost != originHost
            // Jobs done without a call (the VM was already on target) moved nothing.
            guard !files.isEmpty || movedHost || storageWithoutFiles else { return nil }
            if !movedHost { originHost = nil; putHost = nil }
        }

        enum Outcome {
            case move(VMMove)
            case leave([String])
        }

        /// The move back, or why the VM is left alone.
        func rollback(in inventory: Inventory) -> Outcome {
            guard let now = inventory.vm(vm) else { return .leave(["the VM no longer exists"]) }
            var reasons: [String] = []
            if storageWithoutFiles {
                reasons.append("the journal does not record which files moved (written before Moonmotion recorded them)")
            }
            func name(_ ref: MoRef?) -> String {
                guard let ref else { return "an unknown datastore" }
                return inventory.datastore(ref)?.name ?? inventory.host(ref)?.name ?? ref.description
            }
            var current: [VMFileID: VMFile] = [:]
            for f in now.files { current[f.id] = f }
            var back: [FileMove] = []
            for f in files.sorted(by: { $0.file < $1.file }) {
                let label = VMFile(id: f.file, label: f.label, datastore: nil, bytes: 0).shortName
                guard let origin = f.origin else {
                    reasons.append("the journal does not say where \(label) was before the run")
                    continue
                }
                guard let file = current[f.file] else {
                    reasons.append("\(label) no longer exists")
                    continue
                }
                if file.datastore == origin { continue }  // already back
                if file.datastore != f.put {
                    reasons.append("moved again since: \(label) is on \(name(file.datastore)), the run put it on \(name(f.put))")
                    continue
                }
                guard let ds = inventory.datastore(origin) else {
                    reasons.append("\(label)'s origin datastore \(origin) no longer exists")
                    continue
                }
                if !ds.accessible { reasons.append("\(label)'s origin datastore \(ds.name) is inaccessible") }
                back.append(FileMove(file: f.file, label: f.label, from: f.put, to: origin,
                                     bytes: StorageMove.copy(file, of: now, format: nil).written))
            }
            var hostBack: (from: MoRef, to: MoRef)?
            var pool: MoRef?
            if let put = putHost {
                if let origin = originHost, now.host != origin {
                    if now.host != put {
                        reasons.append("moved again since: on host \(now.host.map(name) ?? "none"), the run put it on \(name(put))")
                    } else if let host = inventory.host(origin) {
                        if host.connectionState != "connected" {
                            reasons.append("its origin host \(host.name) is \(host.connectionState)")
                        } else if host.inMaintenanceMode {
                            reasons.append("its origin host \(host.name) is in maintenance mode")
                        } else {
                            hostBack = (put, origin)
                            // Back into another cluster: vSphere needs that cluster's root pool.
                            if let cluster = host.cluster, cluster != now.cluster {
                                pool = inventory.resourcePools.first { $0.owner == cluster && $0.parent?.type != "ResourcePool" }?.ref
                            }
                        }
                    } else {
                        reasons.append("its origin host \(origin) no longer exists")
                    }
                } else if originHost == nil {
                    reasons.append("the journal does not say which host it was on before the run")
                }
            }
            guard reasons.isEmpty else { return .leave(reasons) }
            guard !back.isEmpty || hostBack != nil else { return .leave(["already back where it came from"]) }
            let storage = back.isEmpty ? nil : StorageMove(
                targets: [], sources: [], fixed: back.map { FilePlacement(file: $0.file, datastore: $0.to) })
            let kind: JobKind
            switch (storage, hostBack) {
            case (let s?, let h?): kind = .storageAndHostMove(s, host: h.to, pool: pool)
            case (let s?, nil): kind = .storageMove(s)
            case (nil, let h?): kind = .hostMove(host: h.to, pool: pool, method: .relocate)
            case (nil, nil): return .leave(["already back where it came from"])
            }
            return .move(VMMove(vm: vm, vmName: now.name, files: back, hostFrom: hostBack?.from, hostTo: hostBack?.to,
                                request: JobRequest(vm: vm, kind: kind, label: "rollback")))
        }
    }
}
