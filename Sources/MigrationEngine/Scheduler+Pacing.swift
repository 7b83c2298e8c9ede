import Foundation
import VCenterModel

/// The scheduler's side of pacing by throughput (`max_concurrent = "auto"`): one resource
/// per paced group of datastores, whose capacity is the `AdaptivePacer`'s limit for the group.
struct SchedulerPacing {
    /// The decisions (a value; the scheduler feeds it and applies its limits).
    var pacer = AdaptivePacer()
    /// Per datastore slot: its group's resource, or -1 (not paced). Empty when nothing is paced.
    var dsResource: [Int32] = []
    /// Per group (the resource's owner index): name, resource and datastore slots.
    var names: [String] = []
    var resources: [Int32] = []
    var members: [[Int32]] = []
    /// Jobs the pacer counts as running copies, with the bytes each copies in all.
    var running: [Int32: Int64] = [:]

    /// Per group: the highest limit it has had (what its peak is checked against).
    var highest: [Int] = []

    /// The rank given to the last move pulled forward for a probe (before every strategy rank).
    var promotedRank = Int.min / 4

    /// Whether any cluster is paced.
    var enabled: Bool { !names.isEmpty }
}

extension Scheduler {
    /// The current limit of every paced group (name → copies at once).
    public var pacingLimits: [String: Int] {
        var out: [String: Int] = [:]
        for name in pacing.names { out[name] = pacing.pacer.limit(of: name) }
        return out
    }

    /// What the storage moves not started yet will copy from or to each paced group (name →
    /// bytes): the work a re-probe would pay on. Walks the pending jobs.
    public var pacingBacklog: [String: Int64] {
        var out: [String: Int64] = [:]
        for (g, name) in pacing.names.enumerated() { out[name] = pacingBacklog(g) }
        return out
    }

    /// Creates a pacing resource per group of the datastores mounted by paced clusters.
    /// A datastore mounted by several paced clusters takes the first one's pacing.
    func buildPacing() {
        var groupOf: [String: Int32] = [:]
        for d in dsSlots.indices {
            var adaptive: AdaptivePacing?
            for h in dsSlots[d].info.hosts {
                guard let hi = hostIndex[h] else { continue }
                let c = hostSlots[Int(hi)].cluster
                if c >= 0, let a = clusterSlots[Int(c)].limits.adaptive { adaptive = a; break }
            }
            guard let adaptive else { continue }
            if pacing.dsResource.isEmpty { pacing.dsResource = Array(repeating: -1, count: dsSlots.count) }
            let name = adaptive.group(ofDatastore: dsSlots[d].info.name)
            let g: Int32
            if let known = groupOf[name] {
                g = known
            } else {
                g = Int32(pacing.names.count)
                groupOf[name] = g
                pacing.pacer.addGroup(name, adaptive.configuration)
                pacing.names.append(name)
                pacing.resources.append(addResource(.pacingGroup, nil, capacity: adaptive.configuration.min, owner: g))
                pacing.members.append([])
                pacing.highest.append(adaptive.configuration.min)
            }
            pacing.dsResource[d] = pacing.resources[Int(g)]
            pacing.members[Int(g)].append(Int32(d))
        }
    }

    /// Adds the paced group of datastore `d` to a storage move's charges (once per group:
    /// a copy inside one array is one copy there).
    func addPacing(_ d: Int32, to list: inout ChargeList) {
        guard Int(d) < pacing.dsResource.count else { return }
        let r = pacing.dsResource[Int(d)]
        guard r >= 0, !list.all.contains(where: { $0.resource == r }) else { return }
        list.add(r, 1)
    }

    /// Whether datastore `d`'s paced group has room for one more copy (or is already among
    /// the move's charges, or not paced).
    func pacingRoom(_ d: Int32, touched: [Int32]) -> Bool {
        guard Int(d) < pacing.dsResource.count else { return true }
        let r = pacing.dsResource[Int(d)]
        return r < 0 || touched.contains(r) || ledger.room(r) >= 1
    }

    /// A paced group's limit rose or a copy in it ended: its parked jobs may start, and jobs
    /// waiting for a target among its datastores may find one.
    func pacingFreed(_ g: Int32) {
        guard pacing.members.indices.contains(Int(g)) else { return }
        for d in pacing.members[Int(g)] { datastoreChanged(d) }
    }

    /// The groups a job's charges pace.
    func pacedGroups(_ j: Int32) -> [String] {
        meta[Int(j)].charges.compactMap { c in
            ledger.kind[Int(c.resource)] == .pacingGroup ? pacing.names[Int(ledgerOwner[Int(c.resource)])] : nil
        }
    }

    /// A group that raised its limit gets, for the copy the raise adds, the smallest move
    /// parked on it that lasts a measurement (else the largest one), pulled ahead of the
    /// strategy's order (see `AdaptivePacer.probeBytes`): if one more copy does not pay, the
    /// copy above the knee ends soon after the pacer knows. Only the copy the raise adds: the
    /// copies that replace ended ones keep the strategy's order — refilling them with short
    /// moves too kept the climb's copies starting and ending, and its figures read a third
    /// low (the fast array's climb: +103 % and −1 % for steps worth +20 % and +3 %). One move
    /// per step: the groups a move touches raise at once when they follow the same copies, and
    /// one copy fills them all.
    func promoteForProbe() {
        var best: (job: Int32, size: Int64)?
        var fallback: (job: Int32, size: Int64)?
        for (g, name) in pacing.names.enumerated() {
            guard let least = pacing.pacer.probeBytes(name) else { continue }
            let r = Int(pacing.resources[g])
            guard ledger.room(Int32(r)) >= 1 else { continue }
            for bucket in ledger.parked[r] {
                for e in bucket.heap.unordered where isValid(e) {
                    let size = jobs[Int(e.job)].size
                    if size >= least {
                        if best.map({ size < $0.size || (size == $0.size && e.job < $0.job) }) ?? true { best = (e.job, size) }
                    } else if fallback.map({ size > $0.size || (size == $0.size && e.job < $0.job) }) ?? true {
                        fallback = (e.job, size)
                    }
                }
            }
        }
        guard let pick = best ?? fallback else { return }
        let i = Int(pick.job)
        take(pick.job)
        pacing.promotedRank += 1
        meta[i].rank = pacing.promotedRank
        meta[i].queued = true
        ready.insert(QueueEntry(rank: meta[i].rank, job: pick.job, token: meta[i].token))
    }

    /// The bytes the storage moves not started yet will copy from or to paced group `g`'s
    /// datastores (a re-probe is worth its cost only when enough of them wait). Walks the
    /// pending jobs: asked only when a group is due to re-probe.
    func pacingBacklog(_ g: Int) -> Int64 {
        let r = pacing.resources[g]
        let inGroup = { (d: Int32) in d >= 0 && Int(d) < self.pacing.dsResource.count && self.pacing.dsResource[Int(d)] == r }
        var total: Int64 = 0
        for j in jobs.indices where jobs[j].state == .pending && jobs[j].kind.movesStorage {
            for f in movingFiles(Int32(j)) where inGroup(f.from) || f.allowed.contains(where: inGroup) {
                total += f.written
            }
        }
        return total
    }

    /// The limit resource `r`'s peak is audited against: its capacity, but for a paced group
    /// the highest limit it has had (after a back-off the copies above the new limit run on
    /// until they end; the scheduler only never starts one above the limit of the moment).
    func auditCapacity(_ r: Int) -> Int {
        guard ledger.kind[r] == .pacingGroup else { return ledger.capacity[r] }
        return pacing.highest[Int(ledgerOwner[r])]
    }

    /// A paced job's task started: the pacer counts its copy.
    func pacingStarted(_ j: Int32, now: Date) {
        guard pacing.enabled else { return }
        let groups = pacedGroups(j)
        guard !groups.isEmpty else { return }
        let job = jobs[Int(j)]
        let bytes = job.moves.isEmpty ? job.size : job.moves.reduce(Int64(0)) { $0 + $1.bytes }
        pacing.running[j] = max(0, bytes)
        pacing.pacer.taskStarted(Int(j), groups: groups, now: now)
    }

    /// A running task reported progress; with pacing, the copy's bytes so far feed the pacer
    /// and a changed limit is applied at once (the actions: what it let start).
    public func taskProgressed(_ id: JobID, percent: Int, now: Date) -> [SchedulerAction] {
        taskProgress(id, percent: percent, now: now)
        let j = Int32(id.rawValue)
        guard pacing.enabled, let total = pacing.running[j] else { return [] }
        pacing.pacer.progress(Int(j), bytes: total * Int64(max(0, min(100, percent))) / 100, now: now)
        return finishStep(now: now)
    }

    /// Before dispatching: copies that ended since the last step leave the pacer (their
    /// bytes counted in full when they succeeded), and the pacer's limits become the
    /// groups' capacities; a raised one wakes what waits for it.
    func pacingStep(now: Date) {
        for (j, total) in pacing.running where !jobs[Int(j)].state.isActive {
            pacing.running[j] = nil
            pacing.pacer.taskEnded(Int(j), bytes: jobs[Int(j)].state == .done ? total : nil, now: now)
        }
        for (g, name) in pacing.names.enumerated() where pacing.pacer.wantsBacklog(name, now: now) {
            pacing.pacer.setBacklog(name, bytes: pacingBacklog(g), now: now)
        }
        let changes = pacing.pacer.drainChanges()
        guard !changes.isEmpty else { return }
        defer {
            // As many short moves as the largest raise added (the groups raise together).
            let added = changes.map { $0.from > 0 ? $0.to - $0.from : 0 }.max() ?? 0
            for _ in 0..<max(0, added) { promoteForProbe() }
        }
        for change in changes {
            emit(.pacingChanged(change), now)
            guard let g = pacing.names.firstIndex(of: change.group) else { continue }
            let r = pacing.resources[g]
            let before = ledger.capacity[Int(r)]
            ledger.capacity[Int(r)] = change.to
            pacing.highest[g] = max(pacing.highest[g], change.to)
            if change.to > before { freed(r) }
        }
    }
}
