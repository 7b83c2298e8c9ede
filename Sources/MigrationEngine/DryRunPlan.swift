import Foundation
import VCenterModel

/// What a run would do, in order, without starting anything (`--dry-run`): each
/// pending job with its VM, size, source and predicted target datastore, and host
/// moves; plus the jobs that need nothing (already on target) or cannot run.
///
/// Only the strategy's own jobs are listed. Pro-active vMotions are not: the engine
/// decides them while the run goes (a storage move blocked by its VM's full host asks
/// `on_blocked`), from the room hosts have at that moment — `proactiveNote` says so, and
/// `moonmotion plan` predicts them by simulating the run.
public struct DryRunPlan: Sendable {
    /// One planned job.
    public struct Entry: Sendable, Hashable {
        /// The job as created (pending).
        public var job: Job
        /// Its position in the strategy's order (0 first).
        public var rank: Int
        /// The VM's datastores now.
        public var from: [MoRef]
        /// The target the strategy would pick given the free space left by the jobs before it (storage moves).
        public var to: MoRef?
        /// The VM's host now and the destination host (host moves).
        public var hostFrom: MoRef?
        /// The destination host of a host move.
        public var hostTo: MoRef?
        /// Why no target could be predicted, when it could not.
        public var note: String?
    }

    /// Pending jobs in the order they would start.
    public var entries: [Entry]
    /// Jobs settled at creation: done (already on target), skipped (second move of a VM), failed.
    public var settled: [Job]
    /// Names of the hosts, datastores and clusters referred to.
    public var names: [MoRef: String]

    /// Bytes the planned storage moves copy.
    public var bytes: Int64 { entries.filter { $0.job.kind.movesStorage }.reduce(0) { $0 + $1.job.size } }

    /// A line saying that pro-active vMotions are decided at run time, when the plan has
    /// storage moves (the jobs `on_blocked` may precede with one); nil otherwise.
    public var proactiveNote: String? {
        guard entries.contains(where: { $0.job.kind.movesStorage }) else { return nil }
        return "pro-active vMotions are decided while the run goes (when a VM's host is full and on_blocked answers \"vmotion\"), so they are not listed; `moonmotion plan` predicts them"
    }

    /// The plan as text lines: a header, one line per job, then the settled jobs.
    public func lines() -> [String] {
        func name(_ r: MoRef?) -> String { r.map { names[$0] ?? $0.value } ?? "?" }
        var out = ["\(entries.count) job(s) to run, \(ProgressRenderer.bytes(bytes)) to copy, in this order:"]
        let width = String(entries.count).count
        for (i, e) in entries.enumerated() {
            let n = String(repeating: " ", count: width - String(i + 1).count) + String(i + 1)
            var line = "\(n). \(e.job.vmName)  \(ProgressRenderer.bytes(e.job.size))  \(e.job.kind.name)"
            if e.job.kind.movesStorage {
                line += "  \(e.from.map { name($0) }.joined(separator: "+")) → \(e.to.map { name($0) } ?? "(no target: \(e.note ?? "none"))")"
            }
            if let to = e.hostTo { line += "  host \(name(e.hostFrom)) → \(name(to))" }
            if let label = e.job.label { line += "  [\(label)]" }
            out.append(line)
        }
        let done = settled.filter { $0.state == .done }
        if !done.isEmpty { out.append("\(done.count) job(s) need nothing: the VM is already on its target") }
        for job in settled where job.state != .done {
            out.append("\(job.state.rawValue): \(job.vmName) (\(job.kind.name)): \(job.lastError ?? "")")
        }
        return out
    }
}

extension Scheduler {
    /// Creates and orders the jobs like `add`, but queues and dispatches nothing (the jobs stay
    /// pending; use a fresh scheduler for a run): predicts each
    /// storage move's target with the strategy's `target` hook, in order, with the free
    /// space the earlier jobs will use taken off (room for concurrent moves is not simulated).
    public func preview(_ requests: [JobRequest], now: Date) throws -> DryRunPlan {
        let first = jobs.count
        _ = try createAndRank(requests, now: now)
        _ = drainEvents()
        var free = dsSlots.map(\.free)
        var entries: [DryRunPlan.Entry] = []
        var settled: [Job] = []
        var names: [MoRef: String] = [:]
        for i in first..<jobs.count where jobs[i].state != .pending { settled.append(jobs[i]) }
        let pending = (first..<jobs.count).filter { jobs[$0].state == .pending }.sorted { meta[$0].rank < meta[$1].rank }
        for i in pending {
            let job = jobs[i]
            let v = meta[i].vm
            let slot = vmSlots[Int(v)]
            var entry = DryRunPlan.Entry(job: job, rank: meta[i].rank, from: slot.datastores.map { dsSlots[Int($0)].ref },
                                         hostFrom: slot.host >= 0 ? hostSlots[Int(slot.host)].ref : nil, hostTo: job.kind.destinationHost)
            if job.kind.movesStorage {
                let mount = meta[i].destHost >= 0 ? meta[i].destHost : slot.host
                var infos: [DatastoreInfo] = []
                for d in meta[i].candidates where !slot.datastores.contains(d) {
                    let ds = dsSlots[Int(d)]
                    guard ds.accessible, ds.mounts.map({ $0.contains(mount) }) ?? true else { continue }
                    let keep = Int64(configuration.minimumFreeFraction * Double(ds.capacity == .max ? 0 : ds.capacity))
                    guard free[Int(d)] >= job.size &+ keep else { continue }
                    var info = datastoreInfo(d)
                    info.freeBytes = free[Int(d)]
                    infos.append(info)
                }
                if infos.isEmpty {
                    entry.note = "no allowed datastore has room"
                } else {
                    do {
                        if let t = try strategy.target(job, candidates: infos), let ti = dsIndex[t], infos.contains(where: { $0.ref == t }) {
                            entry.to = t
                            free[Int(ti)] -= job.size
                        } else {
                            entry.note = "the strategy chose none of the candidates"
                        }
                    } catch {
                        entry.note = "the target hook failed: \(error)"
                    }
                }
            }
            entries.append(entry)
        }
        for e in entries {
            for r in e.from + [e.to, e.hostFrom, e.hostTo].compactMap({ $0 }) { names[r] = baseInventory.name(of: r) }
        }
        return DryRunPlan(entries: entries, settled: settled, names: names)
    }
}
