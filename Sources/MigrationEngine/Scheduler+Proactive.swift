import Foundation
import VCenterModel

// The classic pro-active vMotion, under vSphere's cost limits.
//
// A storage move that cannot start only because of its VM's host (the host's cost or
// its count of Storage vMotions is full; the cluster, the datastores and a target have
// room) while another host of the cluster could take the VM (room for the vMotion and,
// after it, for the storage move) asks `Strategy.onBlocked`, once per job and host (the
// answer is cached until the VM changes host or the job fails).
//
// `.vmotion` inserts a pending host-move job ahead of the storage move in the VM's
// queue. It does not need the source host to have room now: a host running two
// Storage vMotions has spent its 8 cost units, and the classic script's vMotion would
// only queue in vCenter. Instead the vMotion has the first claim on everything it
// waits for (its rank comes before every strategy rank), so the source host's next
// freed unit goes to it before the host's own next Storage vMotion. Its destination is
// chosen when it dispatches (the host of the cluster with the most room then), and it
// is charged there for the larger of the vMotion and the Storage vMotion that follows,
// plus one Storage vMotion count: the destination's room for the storage move is kept.
// When the vMotion ends, the storage move is examined at once, before the freed room
// goes to anyone else. Its cost counts like any job's: both hosts, both vMotion
// networks, the VM's datastores, the cluster's and vCenter's job slots.
//
// A pending vMotion that is no longer useful is skipped: the VM left the host, its
// storage move no longer waits (resume found it done), or no host can take the VM while
// its own host has room for the storage move again.
extension Scheduler {
    /// What `hostBlocked` did with a storage move blocked only by its VM's host.
    enum HostBlocked {
        /// A pro-active vMotion now precedes the job.
        case inserted
        /// The strategy's hook failed; the job failed.
        case failed
        /// The strategy said wait (now or earlier, about this host).
        case wait
        /// No other host of the cluster could take the VM now; the strategy was not asked.
        case noRoomElsewhere
    }

    /// The rank of a pro-active vMotion: before every strategy rank (which are ≥ 0), in
    /// the order of the storage moves they serve.
    static func proactiveRank(parentRank: Int) -> Int { Int.min + max(parentRank, 0) }

    /// A storage move is blocked only by its VM's host `h` (`blocker`): ask the strategy,
    /// unless it already answered wait about this host, or no other host could take the VM.
    func hostBlocked(_ j: Int32, host h: Int32, blocker: Charge, now: Date) -> HostBlocked {
        let i = Int(j)
        if meta[i].blockedHost == h, meta[i].blockedAnswer == .wait { return .wait }
        let hosts = destinationHosts(forMove: j, leaving: h)
        guard let best = hosts.first else { return .noRoomElsewhere }
        let hs = hostSlots[Int(h)]
        let info = BlockedInfo(
            host: hs.ref, hostName: baseInventory.name(of: hs.ref), reason: "\(describe(blocker.resource)); needs \(blocker.cost)",
            candidateHosts: hosts.map { hostSlots[Int($0)].ref }, runningOnHost: hs.running)
        let decision: BlockedDecision
        do {
            decision = try strategy.onBlocked(jobs[i], info)
        } catch {
            failPending(j, "the strategy's on_blocked hook failed: \(error)", now: now)
            return .failed
        }
        meta[i].blockedAnswer = decision
        meta[i].blockedHost = h
        guard decision == .vmotion else { return .wait }
        insertProactive(before: j, from: h, provisional: best, now: now)
        return .inserted
    }

    /// Hosts of `h`'s cluster that could take the VM of storage move `j` now: usable, room
    /// for a vMotion and, after it, the storage move (cost, count, vMotion network),
    /// mounting the VM's datastores and one of the move's targets. Most cost room first.
    func destinationHosts(forMove j: Int32, leaving h: Int32) -> [Int32] {
        let c = hostSlots[Int(h)].cluster
        guard c >= 0 else { return [] }
        let i = Int(j)
        let v = meta[i].vm
        let costs = configuration.costs
        let need = max(costs.vmotionHost, costs.storageVMotionHost)
        var hosts: [(host: Int32, room: Int)] = []
        for h2 in clusterSlots[Int(c)].hosts where h2 != h {
            let s = hostSlots[Int(h2)]
            guard s.usable else { continue }
            let room = ledger.room(s.cost)
            guard room >= need, ledger.room(s.network) >= costs.vmotionNetwork,
                  s.storageMoves < 0 || ledger.room(s.storageMoves) >= 1 else { continue }
            guard vmSlots[Int(v)].datastores.allSatisfy({ dsSlots[Int($0)].mounts?.contains(h2) ?? true }),
                  meta[i].candidates.contains(where: { dsSlots[Int($0)].mounts?.contains(h2) ?? true }) else { continue }
            hosts.append((h2, room))
        }
        hosts.sort { $0.room != $1.room ? $0.room > $1.room : $0.host < $1.host }
        return hosts.map(\.host)
    }

    /// Inserts a pending pro-active vMotion of storage move `p`'s VM off host `h`, ahead of
    /// `p` in the VM's queue, and examines it at once.
    func insertProactive(before p: Int32, from h: Int32, provisional h2: Int32, now: Date) {
        let i = Int(p)
        let v = meta[i].vm
        let vj = Int32(jobs.count)
        let slot = vmSlots[Int(v)]
        let job = Job(
            id: JobID(Int(vj)), vm: jobs[i].vm, vmName: jobs[i].vmName, cluster: jobs[i].cluster,
            kind: .hostMove(host: hostSlots[Int(h2)].ref, pool: nil, method: configuration.proactiveMethod),
            label: "pro-active vMotion before \(jobs[i].id)", size: slot.memoryBytes,
            sourceHost: hostSlots[Int(h)].ref, sourceDatastores: slot.datastores.map { dsSlots[Int($0)].ref },
            createdAt: now, parent: jobs[i].id)
        var m = JobMeta(vm: v)
        m.rank = Self.proactiveRank(parentRank: meta[i].rank)
        m.destHost = h2
        m.parentJob = p
        m.fromHost = h
        jobs.append(job)
        meta.append(m)
        pendingCount += 1
        meta[i].proactiveTried = true
        vmSlots[Int(v)].queue.prepend(vj)
        emit(.jobAdded(job), now)
        examine(vj, now: now)
    }

    /// Decides a pending pro-active vMotion: skip it when moot, otherwise choose its
    /// destination (most room now) and dispatch it, or park it on what blocks it.
    func examineProactive(_ j: Int32, now: Date) -> ParkSpot? {
        let i = Int(j)
        let v = meta[i].vm
        let p = meta[i].parentJob
        let h = vmSlots[Int(v)].host
        guard jobs[Int(p)].state == .pending else {
            skipProactive(j, "not needed: \(jobs[Int(p)].id) is \(jobs[Int(p)].state.rawValue)", now: now)
            return nil
        }
        guard h >= 0, h == meta[i].fromHost else {
            let from = meta[i].fromHost >= 0 ? baseInventory.name(of: hostSlots[Int(meta[i].fromHost)].ref) : "its host"
            skipProactive(j, "not needed: the VM is no longer on \(from)", now: now)
            return nil
        }
        guard let h2 = destinationHosts(forMove: p, leaving: h).first else {
            if storageMoveFits(on: h) {
                skipProactive(j, "not needed: no other host has room, and \(baseInventory.name(of: hostSlots[Int(h)].ref)) has room for the storage move again", now: now)
                return nil
            }
            return park(j, clusterSlots[Int(hostSlots[Int(h)].cluster)].hostWait, cost: 0)
        }
        if h2 != meta[i].destHost, case .hostMove(_, let pool, let method) = jobs[i].kind {
            meta[i].destHost = h2
            jobs[i].kind = .hostMove(host: hostSlots[Int(h2)].ref, pool: pool, method: method)
        }
        let list = proactiveCharges(j, to: h2)
        for c in list where !ledger.fits(c) { return parkOrFail(j, c, now: now) }
        if !windowAllowsProactive(j, parent: p, now: now) { return parkForWindow(j) }
        emit(.proactiveVMotion(job: jobs[Int(p)].id, vmotion: jobs[i].id, from: hostSlots[Int(h)].ref, to: hostSlots[Int(h2)].ref), now)
        commit(j, charges: list, now: now)
        return nil
    }

    /// A pro-active vMotion's charges from the VM's current host to `h2`, with the room on
    /// `h2` kept for the storage move after it (the larger of the two host costs, and one
    /// Storage vMotion count).
    func proactiveCharges(_ j: Int32, to h2: Int32) -> [Charge] {
        let costs = configuration.costs
        var list = charges(kind: jobs[Int(j)].kind, vm: meta[Int(j)].vm, destHost: h2)
        if h2 >= 0, h2 != vmSlots[Int(meta[Int(j)].vm)].host {
            list.add(hostSlots[Int(h2)].cost, max(0, costs.storageVMotionHost - costs.vmotionHost))
            list.add(hostSlots[Int(h2)].storageMoves, 1)
        }
        return list.all
    }

    /// Whether host `h` has room for one more Storage vMotion (cost and count).
    func storageMoveFits(on h: Int32) -> Bool {
        let s = hostSlots[Int(h)]
        return ledger.room(s.cost) >= configuration.costs.storageVMotionHost && (s.storageMoves < 0 || ledger.room(s.storageMoves) >= 1)
    }

    /// Ends a pending pro-active vMotion that is no longer useful; its storage move goes on.
    func skipProactive(_ j: Int32, _ reason: String, now: Date) {
        jobs[Int(j)].lastError = reason
        end(j, .skipped, now: now)
    }

    /// A pro-active vMotion ended well: its storage move, next in the VM's queue, is
    /// examined at once, so the room the vMotion kept on the new host goes to it.
    func proactiveDone(_ j: Int32, now: Date) {
        let v = meta[Int(j)].vm
        let p = meta[Int(j)].parentJob
        guard p >= 0, meta[Int(p)].queued, vmSlots[Int(v)].queue.first == p else { return }
        take(p)
        examine(p, now: now)
    }
}
