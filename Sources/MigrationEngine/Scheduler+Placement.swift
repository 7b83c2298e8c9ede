import Foundation
import VCenterModel

// Per-file placement of a storage move.
//
// A storage move copies only the files its `StorageMove` covers that are not yet on a
// datastore allowed for them (`movingFiles`). At dispatch those files are grouped — one group
// per set of allowed datastores when the move keeps a VM's files together (vSphere's
// intra-VM affinity, the default), one group per file otherwise — and each group gets a
// destination among its allowed datastores that the VM's host mounts, with room for one more
// Storage vMotion and free space for what lands there plus the datastore's kept share
// (`Limits.minFree`). The strategy chooses among those (`Strategy.place`, by default its
// `target` hook); groups placed earlier in the same dispatch count against the free space of
// later ones. Every datastore the copy touches — the sources of the moving files and the
// destinations — is charged once (`charges(kind:vm:destHost:sources:targets:)`).
extension Scheduler {
    /// A file the storage move of a job would copy now.
    struct MovingFile {
        var id: VMFileID
        var label: String
        var from: Int32
        var allowed: [Int32]
        var written: Int64
        var space: Int64
        var leaves: Int64
    }

    /// The files of job `j`'s VM its storage move copies, given where they are now.
    func movingFiles(_ j: Int32) -> [MovingFile] {
        let i = Int(j)
        guard let move = meta[i].move else { return [] }
        // Fields of the slot, not a copy of it.
        let v = Int(meta[i].vm)
        let format = move.move.format
        guard vmSlots[v].hasLayout else {
            // One piece on all its datastores, as before files were known.
            let ds = vmSlots[v].datastores
            guard !ds.isEmpty else { return [] }
            let source: Int32
            if let sources = move.sources {
                guard let s = ds.first(where: sources.contains) else { return [] }
                source = s
            } else {
                source = ds[0]
            }
            let allowed = move.map[source] ?? move.targets
            if ds.allSatisfy(allowed.contains) { return [] }
            let bytes = vmSlots[v].committed
            return [MovingFile(id: .config, label: "VM", from: source, allowed: allowed, written: bytes, space: bytes, leaves: bytes)]
        }
        var out: [MovingFile] = []
        let files = vmSlots[v].files
        out.reserveCapacity(files.count)
        // By index, reading fields: `for f in files` copied each file slot (its label and its
        // disk's record) for every examined job.
        for k in files.indices {
            let id = files[k].id, ds = files[k].ds, bytes = files[k].bytes
            guard let allowed = move.allowed(id, on: ds), !(ds >= 0 && allowed.contains(ds)) else { continue }
            let copy: (written: Int64, space: Int64) = files[k].disk?.copy(to: format) ?? (bytes, bytes)
            out.append(MovingFile(id: id, label: files[k].label, from: ds, allowed: allowed, written: copy.written, space: copy.space, leaves: bytes))
        }
        return out
    }

    /// The source datastores a set of moving files leaves (nil for a VM without a layout:
    /// all its datastores count, as vSphere sees one piece).
    func sources(of files: [MovingFile], vm v: Int32) -> [Int32]? {
        guard vmSlots[Int(v)].hasLayout else { return nil }
        var out: [Int32] = []
        for f in files where f.from >= 0 && !out.contains(f.from) { out.append(f.from) }
        return out
    }

    /// The moving files in groups that each land on one datastore.
    func groups(_ files: [MovingFile], keepTogether: Bool) -> [[MovingFile]] {
        guard keepTogether else { return files.map { [$0] } }
        // Usually every file may go to the same list (one array, shared: equal at once).
        if let first = files.first, files.allSatisfy({ $0.allowed == first.allowed }) { return [files] }
        var out: [[MovingFile]] = []
        var keys: [[Int32]] = []
        for f in files {
            let key = f.allowed.sorted()
            if let k = keys.firstIndex(of: key) { out[k].append(f) } else {
                keys.append(key)
                out.append([f])
            }
        }
        return out
    }

    /// Bytes the groups placed so far in one dispatch take on each destination: a few
    /// destinations at most, so a list (a dictionary cost an allocation per placed job).
    struct PlannedSpace {
        var entries: [(slot: Int32, bytes: Int64)] = []

        /// The bytes planned on datastore slot `d` (0 when none).
        subscript(_ d: Int32) -> Int64 { entries.first { $0.slot == d }?.bytes ?? 0 }

        mutating func add(_ bytes: Int64, on d: Int32) {
            if let k = entries.firstIndex(where: { $0.slot == d }) { entries[k].bytes += bytes } else { entries.append((d, bytes)) }
        }
    }

    /// How the destinations of a storage move stand right now.
    enum Candidates {
        /// Per group, the datastores that could take it.
        case ready([[Int32]])
        /// Some group has none now, but one may free room or space later.
        case wait
        /// Some group can never be placed.
        case impossible(String)
    }

    /// For each group, its allowed datastores usable from `mountHost` with room for the copy
    /// and free space for the group plus the datastore's kept share. `touched` are the cost
    /// resources the move already charges (its sources): no further cost is needed there.
    func targetCandidates(_ j: Int32, groups: [[MovingFile]], mountHost: Int32, touched: [Int32],
                          planned: PlannedSpace = PlannedSpace()) -> Candidates {
        let cold = vmSlots[Int(meta[Int(j)].vm)].cold
        let dsCost = cold ? configuration.costs.coldMigrationDatastore : configuration.costs.storageVMotionDatastore
        var all: [[Int32]] = []
        for group in groups {
            let need = group.reduce(Int64(0)) { $0 + $1.space }
            var usable = 0, withSpace = 0
            var prospects = false
            var list: [Int32] = []
            list.reserveCapacity(group[0].allowed.count)
            for d in group[0].allowed where !list.contains(d) {
                // Fields, not a copy of the slot (its record, mounts and groups).
                let k = Int(d)
                guard dsSlots[k].accessible, dsSlots[k].mounts.map({ $0.contains(mountHost) }) ?? true else { continue }
                usable += 1
                if dsSlots[k].inflightTo > 0 || dsSlots[k].inflightFrom > 0 { prospects = true }
                guard dsSlots[k].free - planned[d] >= need &+ dsSlots[k].keep else { continue }
                withSpace += 1
                let cost = dsSlots[k].cost, storageMoves = dsSlots[k].storageMoves
                if !touched.contains(cost) {
                    guard ledger.room(cost) >= dsCost else { continue }
                    if storageMoves >= 0, ledger.room(storageMoves) < 1 { continue }
                }
                guard pacingRoom(d, touched: touched) else { continue }
                list.append(d)
            }
            if list.isEmpty {
                if usable == 0 {
                    let hostName = mountHost >= 0 ? baseInventory.name(of: hostSlots[Int(mountHost)].ref) : "?"
                    return .impossible("no target datastore for \(describeFiles(group)) is usable from host \(hostName) (inaccessible or not mounted)")
                }
                if withSpace > 0 || prospects { return .wait }
                let keepText = group[0].allowed.first.map { dsSlots[Int($0)].keep > 0 } == true ? " plus the free space kept on it" : ""
                return .impossible("no target datastore has \(ProgressRenderer.bytes(need)) free for \(describeFiles(group))\(keepText)")
            }
            all.append(list)
        }
        return .ready(all)
    }

    /// `config and disk 2` — the files of a group, for messages.
    func describeFiles(_ files: [MovingFile]) -> String {
        if files.count == 1, files[0].label == "VM" { return "the VM" }
        let names = files.map { VMFile(id: $0.id, label: $0.label, datastore: nil, bytes: 0).shortName }
        return names.count <= 1 ? (names.first ?? "its files") : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }

    /// What placing the groups of a storage move gave.
    enum Placement {
        case placed([PlacedFile])
        /// Wait on this resource (the job's target group).
        case wait
        /// The strategy holds the job (its target hook answered "wait" with candidates).
        case held
        case failed(String)
    }

    /// Asks the strategy where each group goes, among the datastores that can take it now
    /// (recomputed group by group with the space earlier groups take).
    func choosePlacement(_ j: Int32, groups: [[MovingFile]], mountHost: Int32, touched: [Int32]) -> Placement {
        let i = Int(j)
        var planned = PlannedSpace()
        var touched = touched
        var placed: [PlacedFile] = []
        for group in groups {
            guard case .ready(let lists) = targetCandidates(j, groups: [group], mountHost: mountHost, touched: touched, planned: planned),
                  let candidates = lists.first else { return .wait }
            let infos = candidates.map { d -> DatastoreInfo in
                var info = datastoreInfo(d)
                info.freeBytes -= planned[d]
                return info
            }
            let files = group.map { VMFile(id: $0.id, label: $0.label, datastore: $0.from >= 0 ? dsSlots[Int($0.from)].ref : nil, bytes: $0.written) }
            let answer: TargetAnswer
            do {
                answer = try strategy.place(jobs[i], files: files, candidates: infos)
            } catch {
                return .failed("the strategy's target hook failed: \(error)")
            }
            // Each file's destination, in the group's order.
            var destinations: [Int32] = []
            func slot(for ref: MoRef) -> Int32? { candidates.first { dsSlots[Int($0)].ref == ref } }
            func notACandidate(_ ref: MoRef) -> Placement {
                let names = candidates.map { baseInventory.name(of: dsSlots[Int($0)].ref) }.joined(separator: ", ")
                return .failed("the strategy's target hook returned \(baseInventory.name(of: ref)), which is not one of the candidates (\(names))")
            }
            switch answer {
            case .wait:
                return .held
            case .together(let ref):
                guard let d = slot(for: ref) else { return notACandidate(ref) }
                destinations = Array(repeating: d, count: group.count)
            case .perFile(let map):
                destinations.reserveCapacity(group.count)
                for f in group {
                    guard let ref = map[f.id] else {
                        return .failed("the strategy's target hook placed some files but not \(describeFiles([f])); answer a datastore for every file, or one for all")
                    }
                    guard let d = slot(for: ref) else { return notACandidate(ref) }
                    destinations.append(d)
                }
            }
            for (k, f) in group.enumerated() {
                let d = destinations[k]
                // Several files on one destination: they must fit together.
                if dsSlots[Int(d)].free - planned[d] < f.space &+ dsSlots[Int(d)].keep { return .wait }
                planned.add(f.space, on: d)
                let cost = dsSlots[Int(d)].cost
                if !touched.contains(cost) { touched.append(cost) }
                placed.append(PlacedFile(id: f.id, label: f.label, from: f.from, to: d, written: f.written, space: f.space, leaves: f.leaves))
            }
        }
        return .placed(placed)
    }

    /// The `RelocateSpec` of a storage move's current attempt: the home's destination (or its
    /// current datastore when it stays) and, whenever files go apart, some stay or a format
    /// changes, a locator for every disk (vSphere moves a disk without one with the home).
    func relocateSpec(_ j: Int32, host: MoRef?, pool: MoRef?) -> RelocateSpec {
        let i = Int(j)
        let placed = meta[i].placed
        guard !placed.isEmpty else { return RelocateSpec(host: host, pool: pool) }
        let v = Int(meta[i].vm)
        guard vmSlots[v].hasLayout else { return RelocateSpec(datastore: dsSlots[Int(placed[0].to)].ref, host: host, pool: pool) }
        let files = vmSlots[v].files
        // A VM has a few files: a search of `placed` is cheaper than a dictionary per call.
        func destination(_ id: VMFileID) -> Int32? { placed.first { $0.id == id }?.to }
        let homeNow = files.first { $0.id == .config }?.ds ?? -1
        let home = destination(.config) ?? homeNow
        let format = jobs[i].kind.storage?.format
        var apart = format != nil
        for f in files where f.id != .config && (destination(f.id) ?? f.ds) != home { apart = true }
        var locators: [DiskLocator] = []
        if apart {
            for f in files {
                guard case .disk(let key) = f.id else { continue }
                let moved = destination(f.id)
                let d = moved ?? f.ds
                guard d >= 0 else { continue }
                locators.append(DiskLocator(diskKey: key, datastore: dsSlots[Int(d)].ref, format: moved != nil ? format : nil))
            }
        }
        return RelocateSpec(datastore: home >= 0 ? dsSlots[Int(home)].ref : nil, host: host, pool: pool, disks: locators)
    }
}
