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
        /// The target the strategy would pick given the free space left by the jobs before it
        /// (storage moves): where the VM's home goes, or the first destination when it stays.
        public var to: MoRef?
        /// Every file the storage move would copy, from where to where (the destinations as
        /// the strategy would pick them).
        public var moves: [FileMove] = []
        /// The VM's files the move leaves where they are (`stays: disk 3 (flash-01)`).
        public var stays: [VMFile] = []
        /// The VM's host now and the destination host (host moves).
        public var hostFrom: MoRef?
        /// The destination host of a host move.
        public var hostTo: MoRef?
        /// Why no target could be predicted, when it could not.
        public var note: String?
    }

    /// Pending jobs in the order they would start: by wave (`Strategy.wave`; jobs in no wave
    /// first), then in the strategy's order.
    public var entries: [Entry]
    /// Where the waves are counted (`Strategy.waveScope`), for the wave headers.
    public var waveScope: WaveScope = .cluster
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

    /// The jobs skipped because their VM cannot move as asked (with the reason and what to do).
    public var cannotMove: [Job] { settled.filter(\.cannotMove) }

    /// The plan as text lines: a header, one line per job (one more line per file when a VM's
    /// files go to several places or some stay), then the VMs that cannot move and the other
    /// settled jobs.
    public func lines() -> [String] {
        func name(_ r: MoRef?) -> String { r.map { names[$0] ?? $0.value } ?? "?" }
        var out = ["\(entries.count) job(s) to run, \(ProgressRenderer.bytes(bytes)) to copy, in this order:"]
        let width = String(entries.count).count
        let pad = String(repeating: " ", count: width + 2)
        // A header per wave when the strategy has waves: the entries are sorted by wave.
        let hasWaves = entries.contains { $0.job.wave != nil }
        var lastWave: Int?? = .none
        for (i, e) in entries.enumerated() {
            if hasWaves, lastWave != .some(e.job.wave) {
                lastWave = .some(e.job.wave)
                let members = entries.filter { $0.job.wave == e.job.wave }
                let bytes = members.filter { $0.job.kind.movesStorage }.reduce(Int64(0)) { $0 + $1.job.size }
                let scope = waveScope == .cluster ? "per cluster" : "across the vCenter"
                let title = e.job.wave.map { "wave \($0) (\(scope))" } ?? "in no wave (not gated)"
                out.append("\(title): \(members.count) job(s), \(ProgressRenderer.bytes(bytes))")
            }
            let n = String(repeating: " ", count: width - String(i + 1).count) + String(i + 1)
            var line = "\(n). \(e.job.vmName)  \(ProgressRenderer.bytes(e.job.size))  \(e.job.kind.name)"
            // One line when the VM's files all go from one datastore to one other and none stays;
            // a line per file when they come from or go to several, or some stay.
            let perFile = !e.stays.isEmpty || Set(e.moves.map(\.from)).count > 1 || Set(e.moves.map(\.to)).count > 1
            if e.job.kind.movesStorage, !perFile {
                let to = e.to.map { name($0) } ?? e.moves.first.map { name($0.to) + " (\(e.note ?? ""))" }
                    ?? (e.note?.hasPrefix("held by the strategy") == true ? e.note! : "(no target: \(e.note ?? "none"))")
                line += "  \(e.from.map { name($0) }.joined(separator: "+")) → \(to)"
            }
            if let format = e.job.kind.storage?.format { line += "  as \(format.rawValue)" }
            if let to = e.hostTo { line += "  host \(name(e.hostFrom)) → \(name(to))" }
            if let label = e.job.label { line += "  [\(label)]" }
            out.append(line)
            if perFile {
                if let note = e.note { out.append("\(pad)(\(note))") }
                for m in e.moves {
                    out.append("\(pad)\(m.shortName) (\(ProgressRenderer.bytes(m.bytes))) \(name(m.from)) → \(name(m.to))")
                }
                if !e.stays.isEmpty {
                    out.append("\(pad)stays: " + e.stays.map { "\($0.shortName) (\(name($0.datastore)))" }.joined(separator: ", "))
                }
            }
        }
        let done = settled.filter { $0.state == .done }
        if !done.isEmpty { out.append("\(done.count) job(s) need nothing: the VM is already on its target") }
        let blocked = cannotMove
        if !blocked.isEmpty {
            out.append("\(blocked.count) VM(s) cannot move as asked and will be skipped:")
            for job in blocked {
                let reason = (job.lastError ?? "").replacingOccurrences(of: "cannot move: ", with: "")
                out.append("  \(job.vmName): \(reason)")
            }
        }
        for job in settled where job.state != .done && !job.cannotMove {
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
        let fresh = try createAndRank(requests, now: now)
        do {
            try assignWaves(fresh)
        } catch {
            throw EngineError.hookFailed(hook: "wave", message: String(describing: error))
        }
        _ = drainEvents()
        var free = dsSlots.map(\.free)
        var entries: [DryRunPlan.Entry] = []
        var settled: [Job] = []
        var names: [MoRef: String] = [:]
        for i in first..<jobs.count where jobs[i].state != .pending { settled.append(jobs[i]) }
        // By wave, then rank: a wave starts only after the one before it (in its scope) ended.
        let pending = (first..<jobs.count).filter { jobs[$0].state == .pending }.sorted {
            let (wa, wb) = (jobs[$0].wave ?? Int.min, jobs[$1].wave ?? Int.min)
            return wa != wb ? wa < wb : meta[$0].rank < meta[$1].rank
        }
        for i in pending {
            let job = jobs[i]
            let v = meta[i].vm
            let slot = vmSlots[Int(v)]
            var entry = DryRunPlan.Entry(job: job, rank: meta[i].rank, from: slot.datastores.map { dsSlots[Int($0)].ref },
                                         hostFrom: slot.host >= 0 ? hostSlots[Int(slot.host)].ref : nil, hostTo: job.kind.destinationHost)
            if let pod = job.kind.storage?.storageDRS {
                entry.note = "Storage DRS of \(baseInventory.name(of: pod)) chooses at dispatch"
                for f in movingFiles(Int32(i)) {
                    entry.moves.append(FileMove(file: f.id, label: f.label, from: f.from >= 0 ? dsSlots[Int(f.from)].ref : nil, to: pod, bytes: f.written))
                }
                names[pod] = baseInventory.name(of: pod)
            } else if job.kind.movesStorage {
                let mount = meta[i].destHost >= 0 ? meta[i].destHost : slot.host
                for group in groups(movingFiles(Int32(i)), keepTogether: meta[i].move?.move.keepTogether ?? true) {
                    let need = group.reduce(Int64(0)) { $0 + $1.space }
                    var infos: [DatastoreInfo] = []
                    for d in group[0].allowed where !infos.contains(where: { $0.ref == dsSlots[Int(d)].ref }) {
                        let ds = dsSlots[Int(d)]
                        guard ds.accessible, ds.mounts.map({ $0.contains(mount) }) ?? true else { continue }
                        guard free[Int(d)] >= need &+ ds.keep else { continue }
                        var info = datastoreInfo(d)
                        info.freeBytes = free[Int(d)]
                        infos.append(info)
                    }
                    guard !infos.isEmpty else {
                        entry.note = "no allowed datastore has room for \(describeFiles(group))"
                        continue
                    }
                    let files = group.map { VMFile(id: $0.id, label: $0.label, datastore: $0.from >= 0 ? dsSlots[Int($0.from)].ref : nil, bytes: $0.written) }
                    let answer: TargetAnswer
                    do {
                        answer = try strategy.place(job, files: files, candidates: infos)
                    } catch {
                        entry.note = "the target hook failed: \(error)"
                        continue
                    }
                    for f in group {
                        let chosen: MoRef?
                        switch answer {
                        case .wait:
                            entry.note = "held by the strategy (its target hook answered nil)"
                            continue
                        case .together(let r): chosen = r
                        case .perFile(let map): chosen = map[f.id]
                        }
                        guard let chosen, infos.contains(where: { $0.ref == chosen }), let t = dsIndex[chosen] else {
                            entry.note = "the strategy chose none of the candidates"
                            continue
                        }
                        free[Int(t)] -= f.space
                        entry.moves.append(FileMove(file: f.id, label: f.label, from: f.from >= 0 ? dsSlots[Int(f.from)].ref : nil, to: chosen, bytes: f.written))
                    }
                }
                entry.to = entry.moves.first { $0.file == .config }?.to ?? entry.moves.first?.to
            }
            if job.kind.movesStorage, slot.hasLayout {
                let moving = Set(movingFiles(Int32(i)).map(\.id))
                entry.stays = slot.files.filter { !moving.contains($0.id) }.map { f in
                    VMFile(id: f.id, label: f.label, datastore: f.ds >= 0 ? dsSlots[Int(f.ds)].ref : nil, bytes: f.bytes)
                }
            }
            entries.append(entry)
        }
        for e in entries {
            for r in e.from + [e.to, e.hostFrom, e.hostTo].compactMap({ $0 }) + e.moves.flatMap({ [$0.from, $0.to].compactMap { $0 } })
                + e.stays.compactMap(\.datastore) {
                names[r] = baseInventory.name(of: r)
            }
        }
        return DryRunPlan(entries: entries, waveScope: strategy.waveScope, settled: settled, names: names)
    }
}
