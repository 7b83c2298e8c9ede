import Foundation
import VCenterModel

extension Scheduler {
    // MARK: Building the resource table

    func buildResources() throws {
        try applyVCenterLimits()
        vcenterResource = addResource(.vcenterJobs, nil, capacity: baseLimits.vcenterMaxJobs, owner: -1)
        holdResource = addResource(.strategyHold, nil, capacity: .max, owner: -1)
        windowResource = addResource(.changeWindow, nil, capacity: .max, owner: -1)
        var clusterLimits: [MoRef: Limits] = [:]
        for cluster in baseInventory.clusters {
            let overrides: LimitOverrides
            do {
                overrides = try strategy.limits(cluster)
            } catch {
                throw EngineError.hookFailed(hook: "limits", message: "cluster \(cluster.name): \(error)")
            }
            let limits = baseLimits.applying(overrides)
            clusterLimits[cluster.ref] = limits
            let c = Int32(clusterSlots.count)
            let jobsRes = limits.clusterMaxJobs.map { addResource(.clusterJobs, cluster.ref, capacity: $0, owner: c) } ?? -1
            let waitRes = addResource(.hostWait, cluster.ref, capacity: .max, owner: c)
            clusterSlots.append(ClusterSlot(ref: cluster.ref, jobs: jobsRes, hostWait: waitRes, hosts: [], limits: limits))
            clusterIndex[cluster.ref] = c
        }
        for host in baseInventory.hosts { _ = addHost(host) }
        for ds in baseInventory.datastores {
            // A datastore shared by several clusters takes the smallest of their limits, and
            // keeps the most free space any of them asks for.
            var limits = baseLimits
            var keep = baseLimits.minFree.bytes(ofCapacity: ds.capacityBytes)
            var seen = Set<Int32>()
            for h in ds.hosts {
                guard let hi = hostIndex[h] else { continue }
                let c = hostSlots[Int(hi)].cluster
                guard c >= 0, seen.insert(c).inserted else { continue }
                let cl = clusterSlots[Int(c)].limits
                let clusterKeep = cl.minFree.bytes(ofCapacity: ds.capacityBytes)
                if seen.count == 1 {
                    limits.datastoreMaxCost = cl.datastoreMaxCost
                    limits.storageMovesPerDatastore = cl.storageMovesPerDatastore
                    keep = clusterKeep
                } else {
                    limits.datastoreMaxCost = min(limits.datastoreMaxCost, cl.datastoreMaxCost)
                    if let n = cl.storageMovesPerDatastore { limits.storageMovesPerDatastore = min(limits.storageMovesPerDatastore ?? n, n) }
                    keep = max(keep, clusterKeep)
                }
            }
            let d = addDatastore(ds, limits: limits)
            dsSlots[Int(d)].keep = keep
        }
        buildPacing()
    }

    /// The per-vCenter cap: `--max-concurrent` (the configuration's override), else the
    /// strategy's `vcenterLimits`, else the engine's limit. Throws for an unusable value.
    func applyVCenterLimits() throws {
        if let forced = configuration.vcenterMaxJobsOverride {
            if let problem = VCenterLimitOverrides.problem(withMaxConcurrent: forced) {
                throw EngineError.badLimit("--max-concurrent: \(problem)")
            }
            baseLimits.vcenterMaxJobs = forced
            return
        }
        let overrides: VCenterLimitOverrides
        do {
            overrides = try strategy.vcenterLimits(baseInventory)
        } catch {
            throw EngineError.hookFailed(hook: "vcenter_limits", message: String(describing: error))
        }
        if let value = overrides.maxConcurrent {
            if let problem = VCenterLimitOverrides.problem(withMaxConcurrent: value) {
                throw EngineError.hookFailed(hook: "vcenter_limits", message: "max_concurrent: \(problem)")
            }
            baseLimits.vcenterMaxJobs = value
        }
    }

    func addResource(_ kind: ResourceKind, _ object: MoRef?, capacity: Int, owner: Int32) -> Int32 {
        let r = ledger.add(kind, object, capacity: capacity)
        ledgerOwner.append(owner)
        return r
    }

    func addHost(_ host: HostInfo) -> Int32 {
        let h = Int32(hostSlots.count)
        let c = host.cluster.flatMap { clusterIndex[$0] } ?? -1
        let limits = c >= 0 ? clusterSlots[Int(c)].limits : baseLimits
        let cost = addResource(.hostCost, host.ref, capacity: limits.hostMaxCost, owner: h)
        let net = addResource(.hostNetwork, host.ref, capacity: limits.networkMaxCost(linkSpeedMbps: host.vmotionLinkSpeedMbps), owner: h)
        let count = limits.storageMovesPerHost.map { addResource(.hostStorageMoves, host.ref, capacity: $0, owner: h) } ?? -1
        hostSlots.append(HostSlot(ref: host.ref, cluster: c, usable: host.isUsable, cost: cost, network: net, storageMoves: count))
        hostIndex[host.ref] = h
        if c >= 0 { clusterSlots[Int(c)].hosts.append(h) }
        return h
    }

    func addDatastore(_ ds: DatastoreInfo, limits: Limits) -> Int32 {
        let d = Int32(dsSlots.count)
        let cost = addResource(.datastoreCost, ds.ref, capacity: limits.datastoreMaxCost, owner: d)
        let count = limits.storageMovesPerDatastore.map { addResource(.datastoreStorageMoves, ds.ref, capacity: $0, owner: d) } ?? -1
        let mounts: Set<Int32>? = ds.hosts.isEmpty ? nil : Set(ds.hosts.compactMap { hostIndex[$0] })
        dsSlots.append(DatastoreSlot(ref: ds.ref, info: ds, cost: cost, storageMoves: count, free: ds.freeBytes, capacity: ds.capacityBytes,
                                     accessible: ds.accessible, mounts: mounts))
        dsIndex[ds.ref] = d
        return d
    }

    /// The host slot for `ref`, created with the engine's limits when the inventory lacks it.
    func hostSlot(_ ref: MoRef) -> Int32 {
        if let h = hostIndex[ref] { return h }
        return addHost(HostInfo(ref: ref, name: ref.value))
    }

    /// The datastore slot for a VM's datastore, created (unlimited space) when the inventory lacks it.
    func datastoreSlot(_ ref: MoRef) -> Int32 {
        if let d = dsIndex[ref] { return d }
        return addDatastore(DatastoreInfo(ref: ref, name: ref.value, capacityBytes: .max, freeBytes: .max), limits: baseLimits)
    }

    /// The VM slot for `ref`, created from the inventory (or empty) on first use.
    func vmSlot(_ ref: MoRef, name: String) -> Int32 {
        if let v = vmIndex[ref] { return v }
        return vmSlot(ref, name: name, info: baseInventory.vm(ref))
    }

    /// The new VM slot for `ref`, from its inventory record `info` (nil: not in the inventory).
    func vmSlot(_ ref: MoRef, name: String, info: VMInfo?) -> Int32 {
        let v = Int32(vmSlots.count)
        var slot = VMSlot(
            ref: ref, name: info?.name ?? name, cluster: info?.cluster, host: info?.host.map { hostSlot($0) } ?? -1,
            datastores: (info?.datastores ?? []).map { datastoreSlot($0) },
            committed: info?.committedBytes ?? 0, memoryBytes: Int64(info?.memoryMB ?? 0) * 1_048_576)
        if let info { fillFiles(&slot, info) }
        vmSlots.append(slot)
        vmIndex[ref] = v
        return v
    }

    /// The slot's files, images and power from a VM record.
    func fillFiles(_ slot: inout VMSlot, _ info: VMInfo) {
        slot.hasLayout = info.hasFileLayout
        slot.cold = info.isCold
        if info.hasFileLayout {
            let home = info.configDatastore ?? info.datastores.first
            var files: [FileSlot] = []
            files.reserveCapacity(1 + info.disks.count)
            files.append(FileSlot(id: .config, label: "config", ds: home.map { datastoreSlot($0) } ?? -1, bytes: info.configBytes, disk: nil))
            for d in info.disks {
                files.append(FileSlot(id: .disk(d.key), label: d.label, ds: d.datastore.map { datastoreSlot($0) } ?? -1, bytes: d.usedBytes, disk: d))
            }
            slot.files = files
            slot.media = info.media.compactMap { $0.datastore.map { datastoreSlot($0) } }
        } else {
            slot.files = [FileSlot(id: .config, label: "config", ds: slot.datastores.first ?? -1, bytes: info.committedBytes, disk: nil)]
            slot.media = []
        }
    }

    func applyLocation(_ v: Int32, _ info: VMInfo) {
        vmSlots[Int(v)].host = info.host.map { hostSlot($0) } ?? -1
        vmSlots[Int(v)].datastores = info.datastores.map { datastoreSlot($0) }
        vmSlots[Int(v)].committed = info.committedBytes
        fillFiles(&vmSlots[Int(v)], info)
        vmSlots[Int(v)].locationDirty = false
        baseInventory.update(info)
    }

    /// Records that a finished job moved the VM (written to the inventory lazily): its host,
    /// and where each copied file is now (in its new format).
    func moved(_ v: Int32, host: Int32?, files placed: [PlacedFile], format: DiskFormat?) {
        if let host { vmSlots[Int(v)].host = host }
        if !placed.isEmpty {
            if !vmSlots[Int(v)].hasLayout {
                // One piece: the whole VM is where its home went.
                vmSlots[Int(v)].files[0].ds = placed[0].to
                vmSlots[Int(v)].datastores = [placed[0].to]
            } else {
                for p in placed {
                    guard let k = vmSlots[Int(v)].files.firstIndex(where: { $0.id == p.id }) else { continue }
                    vmSlots[Int(v)].files[k].ds = p.to
                    vmSlots[Int(v)].files[k].bytes = p.space
                    // Changed in place: a copy of the disk's record (a dozen retains) per file
                    // of every finished move, written back, was what this cost.
                    if let format, let backing = vmSlots[Int(v)].files[k].disk?.backing, backing != .rdmPhysical {
                        vmSlots[Int(v)].files[k].disk?.backing = .flat
                        vmSlots[Int(v)].files[k].disk?.thinProvisioned = format == .thin
                        vmSlots[Int(v)].files[k].disk?.eagerlyScrub = format == .eager
                        vmSlots[Int(v)].files[k].disk?.usedBytes = p.space
                    }
                }
                // Files, then images, first seen first: without the two arrays a map and a
                // concatenation built per finished move.
                var seen: [Int32] = []
                var committed: Int64 = 0
                for k in vmSlots[Int(v)].files.indices {
                    let d = vmSlots[Int(v)].files[k].ds
                    committed += vmSlots[Int(v)].files[k].bytes
                    if d >= 0, !seen.contains(d) { seen.append(d) }
                }
                for d in vmSlots[Int(v)].media where d >= 0 && !seen.contains(d) { seen.append(d) }
                vmSlots[Int(v)].datastores = seen
                vmSlots[Int(v)].committed = committed
            }
        }
        if !vmSlots[Int(v)].locationDirty {
            vmSlots[Int(v)].locationDirty = true
            movedVMs.append(v)
        }
    }

    /// Fills the job's resolved move, candidates, target group and destination host.
    func resolveKind(_ kind: JobKind, into m: inout JobMeta) {
        if let move = kind.storage {
            let entry = resolvedMove(move)
            m.move = entry.move
            m.candidates = entry.slots
            m.group = entry.group
        }
        if let h = kind.destinationHost { m.destHost = hostSlot(h) }
    }

    /// `move` resolved to slots with its candidates and target group, from the cache when
    /// an earlier job asked for the same move.
    func resolvedMove(_ move: StorageMove) -> ResolvedMoveEntry {
        if moveCacheSlots != dsSlots.count {
            moveCache.removeAll()
            lastMove = nil
            moveCacheSlots = dsSlots.count
        }
        if let last = lastMove, last.move.move == move { return last }
        if let cached = moveCache[move] {
            lastMove = cached
            return cached
        }
        let resolved = ResolvedMove(move, slot: { self.dsIndex[$0] }, sourceSlot: { self.datastoreSlot($0) })
        let slots = move.allTargets.compactMap { dsIndex[$0] }
        let key = Array(Set(slots)).sorted()
        let group: Int32
        if let g = groupIndex[key] {
            group = g
        } else {
            group = addResource(.targetGroup, nil, capacity: .max, owner: -1)
            groupIndex[key] = group
            for d in key { dsSlots[Int(d)].groups.append(group) }
        }
        let entry = ResolvedMoveEntry(move: resolved, slots: slots, group: group)
        // Resolving may have added source slots: the entry is keyed from the count after it.
        if moveCacheSlots != dsSlots.count {
            moveCache.removeAll()
            moveCacheSlots = dsSlots.count
        }
        moveCache[move] = entry
        lastMove = entry
        return entry
    }

    // MARK: Charges

    /// The charges of one attempt, in one array: first the `other` resources (vCenter,
    /// clusters, source datastores, networks, destination host), from `hostStart` the VM's
    /// current host (what a pro-active vMotion can relieve), from `targetStart` the chosen
    /// destination datastores. A storage move touches `sources` (nil: every datastore of the
    /// VM) and `targets`, each charged once; a cold VM's move is a provisioning operation.
    func charges(kind: JobKind, vm v: Int32, destHost h2: Int32, sources: [Int32]? = nil, targets: [Int32] = []) -> ChargeList {
        let costs = configuration.costs
        var list = ChargeList()
        list.all.reserveCapacity(8 + vmSlots[Int(v)].datastores.count * 2)
        let h = vmSlots[Int(v)].host
        let c1 = h >= 0 ? hostSlots[Int(h)].cluster : -1
        let moving = h2 >= 0 && h2 != h
        list.add(vcenterResource, 1)
        if c1 >= 0 { list.add(clusterSlots[Int(c1)].jobs, 1) }
        if moving {
            let c2 = hostSlots[Int(h2)].cluster
            if c2 >= 0, c2 != c1 { list.add(clusterSlots[Int(c2)].jobs, 1) }
        }
        switch kind {
        case .storageMove, .storageAndHostMove:
            let cold = vmSlots[Int(v)].cold
            let hostCost = cold ? costs.coldMigrationHost : costs.storageVMotionHost
            let dsCost = cold ? costs.coldMigrationDatastore : costs.storageVMotionDatastore
            for d in sources ?? vmSlots[Int(v)].datastores {
                list.add(dsSlots[Int(d)].cost, dsCost)
                list.add(dsSlots[Int(d)].storageMoves, 1)
                addPacing(d, to: &list)
            }
            if moving {
                if !cold {
                    list.add(hostSlots[Int(h)].network, costs.vmotionNetwork)
                    list.add(hostSlots[Int(h2)].network, costs.vmotionNetwork)
                }
                list.add(hostSlots[Int(h2)].cost, hostCost)
                list.add(hostSlots[Int(h2)].storageMoves, 1)
            }
            list.hostStart = list.all.count
            if h >= 0 {
                list.add(hostSlots[Int(h)].storageMoves, 1)
                list.add(hostSlots[Int(h)].cost, hostCost)
            }
            list.targetStart = list.all.count
            for t in targets { addTarget(t, to: &list, cold: cold) }
        case .hostMove:
            for d in vmSlots[Int(v)].datastores { list.add(dsSlots[Int(d)].cost, costs.vmotionDatastore) }
            if moving {
                if h >= 0 { list.add(hostSlots[Int(h)].network, costs.vmotionNetwork) }
                list.add(hostSlots[Int(h2)].network, costs.vmotionNetwork)
                list.add(hostSlots[Int(h2)].cost, costs.vmotionHost)
            }
            list.hostStart = list.all.count
            if h >= 0 { list.add(hostSlots[Int(h)].cost, costs.vmotionHost) }
            list.targetStart = list.all.count
        case .consolidate, .removeSnapshot:
            for d in vmSlots[Int(v)].datastores { list.add(dsSlots[Int(d)].cost, costs.snapshotDatastore) }
            list.hostStart = list.all.count
            if h >= 0 { list.add(hostSlots[Int(h)].cost, costs.snapshotHost) }
            list.targetStart = list.all.count
        case .custom(let task):
            for d in vmSlots[Int(v)].datastores { list.add(dsSlots[Int(d)].cost, task.cost.datastore) }
            if h >= 0 { list.add(hostSlots[Int(h)].network, task.cost.network) }
            list.hostStart = list.all.count
            if h >= 0 { list.add(hostSlots[Int(h)].cost, task.cost.host) }
            list.targetStart = list.all.count
        }
        return list
    }

    /// Adds a destination datastore's charges unless the move already touches it (as a
    /// source or another destination): vSphere charges a datastore once per migration.
    func addTarget(_ t: Int32, to list: inout ChargeList, cold: Bool) {
        let cost = dsSlots[Int(t)].cost, storageMoves = dsSlots[Int(t)].storageMoves
        guard !list.all.contains(where: { $0.resource == cost || (storageMoves >= 0 && $0.resource == storageMoves) }) else { return }
        let costs = configuration.costs
        list.add(cost, cold ? costs.coldMigrationDatastore : costs.storageVMotionDatastore)
        list.add(storageMoves, 1)
        addPacing(t, to: &list)
    }

    /// What a task started outside the run costs, judged by its name: a relocate is
    /// charged as a Storage vMotion of the whole VM (the costlier case; its destination is
    /// unknown), a migrate as a vMotion, a consolidation or snapshot removal as such;
    /// anything else only keeps the VM busy.
    func externalCharges(name: String, vm v: Int32) -> [Charge] {
        let n = name.lowercased()
        let kind: JobKind
        if n.contains("relocate") || n.contains("applyrecommendation") || n.contains("applystoragedrs") {
            kind = .storageMove(.to([]))
        } else if n.contains("migrate") {
            kind = .hostMove(host: MoRef("HostSystem", "unknown"), pool: nil, method: .migrate)
        } else if n.contains("consolidate") || n.contains("snapshot") {
            kind = .consolidate
        } else {
            return []
        }
        let list = charges(kind: kind, vm: v, destHost: -1)
        // Engine caps (cluster, vCenter jobs) are this run's concurrency policy; only
        // the vSphere resources count for outside tasks.
        return list.all.filter { ledger.kind[Int($0.resource)] != .vcenterJobs && ledger.kind[Int($0.resource)] != .clusterJobs }
    }

    /// Charges a running job found in the journal again (its task is real: no limit check).
    func reattach(_ j: Int32) {
        let job = jobs[Int(j)]
        let v = meta[Int(j)].vm
        // Charge from where the VM was when the attempt was dispatched.
        if let h = job.sourceHost { vmSlots[Int(v)].host = hostSlot(h) }
        if !job.sourceDatastores.isEmpty { vmSlots[Int(v)].datastores = job.sourceDatastores.map { datastoreSlot($0) } }
        var placed: [PlacedFile] = []
        if job.kind.movesStorage {
            if !job.moves.isEmpty {
                for m in job.moves {
                    placed.append(PlacedFile(id: m.file, label: m.label, from: m.from.map { datastoreSlot($0) } ?? -1,
                                             to: datastoreSlot(m.to), written: m.bytes, space: m.bytes, leaves: m.bytes))
                }
            } else if let t = job.target {
                // Journaled before per-file moves: the whole VM to one target.
                placed = [PlacedFile(id: .config, label: "config", from: vmSlots[Int(v)].datastores.first ?? -1, to: datastoreSlot(t),
                                     written: job.size, space: job.size, leaves: job.size)]
            }
        }
        let sources = job.moves.isEmpty ? nil : distinct(placed.map(\.from).filter { $0 >= 0 })
        let all = meta[Int(j)].parentJob >= 0 ? proactiveCharges(j, to: meta[Int(j)].destHost)
            : charges(kind: job.kind, vm: v, destHost: meta[Int(j)].destHost, sources: sources, targets: distinct(placed.map(\.to))).all
        for c in all { ledger.charge(c, external: false) }
        countRunning(all, +1)
        meta[Int(j)].charges = all
        reserve(j, placed: placed)
        vmSlots[Int(v)].active = j
    }

    func distinct(_ slots: [Int32]) -> [Int32] {
        var out: [Int32] = []
        for s in slots where !out.contains(s) { out.append(s) }
        return out
    }

    /// Reserves the destinations' space and counts the move in flight on every datastore it touches.
    func reserve(_ j: Int32, placed: [PlacedFile]) {
        meta[Int(j)].placed = placed
        guard !placed.isEmpty else { return }
        var reserved: [(Int32, Int64)] = []
        var leaving: [(Int32, Int64)] = []
        for p in placed {
            if let k = reserved.firstIndex(where: { $0.0 == p.to }) { reserved[k].1 += p.space } else { reserved.append((p.to, p.space)) }
            guard p.from >= 0 else { continue }
            if let k = leaving.firstIndex(where: { $0.0 == p.from }) { leaving[k].1 += p.leaves } else { leaving.append((p.from, p.leaves)) }
        }
        for (t, bytes) in reserved {
            dsSlots[Int(t)].free -= bytes
            dsSlots[Int(t)].inflightTo += 1
        }
        for (d, _) in leaving { dsSlots[Int(d)].inflightFrom += 1 }
        meta[Int(j)].reserved = reserved
        meta[Int(j)].leaving = leaving
    }

    func countRunning(_ charges: [Charge], _ delta: Int) {
        for c in charges where ledger.kind[Int(c.resource)] == .hostCost {
            hostSlots[Int(ledgerOwner[Int(c.resource)])].running += delta
        }
    }

    /// The inventory record of datastore slot `d` with the scheduler's free space.
    func datastoreInfo(_ d: Int32) -> DatastoreInfo {
        // The record and the free space, not a copy of the whole slot (its mounts and groups).
        var info = dsSlots[Int(d)].info
        info.freeBytes = dsSlots[Int(d)].free
        return info
    }

    /// One line about a resource: `host esx-01: cost 8 of 8`.
    func describe(_ r: Int32) -> String {
        let i = Int(r)
        let name = ledger.object[i].map { baseInventory.name(of: $0) } ?? ""
        let use = ledger.capacity[i] == .max ? "" : ": \(ledger.used[i]) of \(ledger.capacity[i])"
        switch ledger.kind[i] {
        case .hostCost: return "host \(name) migration cost\(use)"
        case .hostNetwork: return "host \(name) vMotion network\(use)"
        case .hostStorageMoves: return "host \(name) Storage vMotions\(use)"
        case .datastoreCost: return "datastore \(name) migration cost\(use)"
        case .datastoreStorageMoves: return "datastore \(name) Storage vMotions\(use)"
        case .clusterJobs: return "cluster \(name) concurrent jobs\(use)"
        case .vcenterJobs: return "vCenter concurrent jobs\(use)"
        case .pacingGroup: return "paced group \(pacing.names[Int(ledgerOwner[i])]) copies at once\(use)"
        case .targetGroup: return "target datastores (none with room or free space)"
        case .hostWait: return "hosts of cluster \(name)"
        case .strategyHold: return "the strategy (held)"
        case .waveGate: return describeWave(r)
        case .changeWindow: return "the next change window"

        }
    }
}
