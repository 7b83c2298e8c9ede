import LuaHost
import MigrationEngine
import VCenterModel

/// Turns the array of job tables `select(inv)` returned into `JobRequest`s (docs/LUA.md,
/// "Strategies"):
///
/// * `{vm = vm, datastore = "new-*"}`: storage move; the datastore is a name, a glob, a
///   datastore cluster's name, a Datastore object, or a list of those (several candidates:
///   `target` picks at dispatch); `from` (same forms) moves only the files on those
///   datastores, `map = {["legacy-01"] = "new-01", ["legacy-*"] = "new-*"}` sends each source's
///   files to its own targets, `keep_together = false` lets each file go its own way,
///   `format = "thin" | "thick" | "eager"` converts disks, `sdrs = true` asks the datastore
///   cluster's Storage DRS, `disks = {[2001] = "new-02", config = "new-01"}` fixes files;
/// * `{vm = vm, host = "esx-02"}`: vMotion (`method = "migrate"` for `MigrateVM_Task`),
///   optional `pool` (`resgroup-12`); both fields: host and storage at once;
/// * `{vm = vm, action = "consolidate"}`;
/// * `{vm = vm, action = "remove_snapshot", snapshot = "all" | name | vm.snapshots[i],
///   consolidate = true, children = false}`;
/// * `{vm = vm, action = "custom", method = "X_Task", args = {...}, object = obj,
///   cost = {host =, datastore =, network =}}`;
/// * every job: `vm` (object or name) and an optional `label`.
///
/// Names and globs are resolved once each (a glob shared by 100,000 jobs costs one match),
/// and a list table shared by many jobs once. Errors name the job's index and field.
struct LuaStrategyJobParser {
    let view: LuaInventoryView
    let stack: LuaThreadStack
    /// Where the select hook is defined, for messages.
    let location: String
    /// The methods a custom job may call, or nil for any (no sandbox; `SandboxMethods`).
    let allowedMethods: Set<String>?

    private var byText: [String: [MoRef]] = [:]
    private var byList: [UnsafeRawPointer: [MoRef]] = [:]
    /// `map` tables already read (one table is usually shared by every job).
    private var byMap: [UnsafeRawPointer: [SourceMapping]] = [:]

    /// The fields a job table may have.
    static let fields = ["vm", "datastore", "host", "pool", "method", "action", "snapshot", "consolidate", "children",
                         "args", "object", "cost", "label", "from", "map", "keep_together", "format", "sdrs", "disks"]
    /// The values of `action`.
    static let actions = ["move", "consolidate", "remove_snapshot", "custom"]

    init(view: LuaInventoryView, stack: LuaThreadStack, location: String, allowedMethods: Set<String>? = nil) {
        self.view = view
        self.stack = stack
        self.location = location
        self.allowedMethods = allowedMethods
    }

    /// The requests of the array at `index`.
    mutating func parse(at index: Int32) throws -> [JobRequest] {
        guard stack.type(index) == .table else {
            let what = stack.isNoneOrNil(index) ? "nothing" : "a \(stack.typeName(index))"
            throw LuaStrategyError("the select hook (\(location)) returned \(what); it must return an array of jobs such as { {vm = vm, datastore = \"new-*\"}, ... } (an empty array selects nothing)")
        }
        let count = stack.rawLength(index)
        var requests: [JobRequest] = []
        requests.reserveCapacity(count)
        for i in stride(from: 1, through: count, by: 1) {
            try stack.withRawElement(i, of: index) { slot in
                requests.append(try parseJob(at: slot, number: i))
            }
        }
        return requests
    }

    private func bad(_ number: Int, _ message: String) -> LuaStrategyError {
        LuaStrategyError("the select hook (\(location)) returned a bad job #\(number): \(message)")
    }

    private mutating func parseJob(at slot: Int32, number: Int) throws -> JobRequest {
        guard stack.type(slot) == .table else {
            throw bad(number, "it is a \(stack.typeName(slot)), not a table such as {vm = vm, datastore = \"new-*\"}")
        }
        let present = try presentFields(slot, number: number)
        let vm = try stack.withRawField("vm", of: slot) { try vmRef(at: $0, number: number) }
        let label = try stack.withRawField("label", of: slot) { i -> String? in
            if stack.isNoneOrNil(i) { return nil }
            guard stack.type(i) == .string || stack.type(i) == .number, let s = stack.string(at: i) else {
                throw bad(number, "label is a \(stack.typeName(i)), not a string")
            }
            return s
        }
        let action = try stack.withRawField("action", of: slot) { i -> String in
            if stack.isNoneOrNil(i) { return "move" }
            guard stack.type(i) == .string, let a = stack.string(at: i), Self.actions.contains(a) else {
                let shown = stack.type(i) == .string ? "'\(stack.string(at: i) ?? "")'" : "a \(stack.typeName(i))"
                let hint = NameSuggestion.hint(for: stack.string(at: i), among: Self.actions)
                throw bad(number, "action is \(shown)\(hint); valid actions: \(Self.actions.joined(separator: ", ")) (or none, for a move)")
            }
            return a
        }
        func allowOnly(_ allowed: Set<String>) throws {
            let extra = Self.fields.filter { present.contains($0) && !allowed.contains($0) && !["vm", "label", "action"].contains($0) }
            guard extra.isEmpty else {
                throw bad(number, "\(extra.joined(separator: ", ")) \(extra.count == 1 ? "does" : "do") not go with action=\"\(action)\"")
            }
        }
        let kind: JobKind
        switch action {
        case "consolidate":
            try allowOnly([])
            kind = .consolidate
        case "remove_snapshot":
            try allowOnly(["snapshot", "consolidate", "children"])
            let selector = try stack.withRawField("snapshot", of: slot) { try snapshotSelector(at: $0, number: number) }
            let consolidate = try flag("consolidate", of: slot, default: true, number: number)
            let children = try flag("children", of: slot, default: false, number: number)
            kind = .removeSnapshot(selector, removeChildren: children, consolidate: consolidate)
        case "custom":
            try allowOnly(["method", "args", "object", "cost"])
            kind = .custom(try customTask(slot, number: number))
        default:
            try allowOnly(["datastore", "host", "pool", "method", "from", "map", "keep_together", "format", "sdrs", "disks"])
            let storage = try storageMove(slot, present: present, number: number)
            let host = try stack.withRawField("host", of: slot) { i -> MoRef? in
                stack.isNoneOrNil(i) ? nil : try objectRef(.host, at: i, field: "host", number: number)
            }
            let pool = try stack.withRawField("pool", of: slot) { i -> MoRef? in
                if stack.isNoneOrNil(i) { return nil }
                guard let text = stack.string(at: i), var ref = MoRef(parsing: text) else {
                    throw bad(number, "pool must be a resource pool reference such as resgroup-12")
                }
                if !text.contains(":") { ref.type = "ResourcePool" }
                return ref
            }
            let method = try stack.withRawField("method", of: slot) { i -> HostMoveMethod in
                if stack.isNoneOrNil(i) { return .relocate }
                guard let text = stack.string(at: i), let m = HostMoveMethod(rawValue: text) else {
                    throw bad(number, "method of a vMotion must be \"relocate\" (RelocateVM_Task, the default) or \"migrate\" (MigrateVM_Task)")
                }
                return m
            }
            switch (storage, host) {
            case (let m?, nil):
                if pool != nil || present.contains("method") { throw bad(number, "pool and method go with host moves (host = ...)") }
                kind = .storageMove(m)
            case (nil, let h?):
                kind = .hostMove(host: h, pool: pool, method: method)
            case (let m?, let h?):
                if present.contains("method") { throw bad(number, "a move of host and storage at once always uses RelocateVM_Task; leave method out") }
                kind = .storageAndHostMove(m, host: h, pool: pool)
            case (nil, nil):
                throw bad(number, "it has nothing to do: give datastore = ... (Storage vMotion), host = ... (vMotion), both, or an action (consolidate, remove_snapshot, custom)")
            }
        }
        return JobRequest(vm: vm, kind: kind, label: label)
    }

    /// The fields a job table holds, as a bit set over `fields`.
    struct Present {
        var bits: UInt32 = 0
        func contains(_ name: String) -> Bool {
            guard let i = LuaStrategyJobParser.fields.firstIndex(of: name) else { return false }
            return bits & (1 << UInt32(i)) != 0
        }
    }

    /// The fields present; every key must be a known field (a typo must never silently
    /// change a job).
    private func presentFields(_ slot: Int32, number: Int) throws -> Present {
        var present = Present()
        try stack.forEachRawPair(of: slot) { k, _ in
            let key = stack.type(k) == .string ? stack.string(at: k) : nil
            if let key, let i = Self.fields.firstIndex(of: key) {
                present.bits |= 1 << UInt32(i)
                return
            }
            let shown = key.map { "'\($0)'" } ?? "a \(stack.type(k).name) key (\(stack.string(at: k) ?? "?"))"
            let hint = NameSuggestion.hint(for: key, among: Self.fields)
            throw bad(number, "unknown field \(shown)\(hint); a job takes \(Self.fields.joined(separator: ", "))")
        }
        return present
    }

    private func vmRef(at i: Int32, number: Int) throws -> MoRef {
        if stack.isNoneOrNil(i) { throw bad(number, "it has no vm (give the VM object or its name: {vm = vm, ...})") }
        return try objectRef(.vm, at: i, field: "vm", number: number)
    }

    /// The reference of an inventory object given as the object itself or its name (or moref).
    private func objectRef(_ kind: InventoryObjectKind, at i: Int32, field: String, number: Int) throws -> MoRef {
        if let ref = kind.ref(ofObjectAt: i, access: stack) { return ref }
        if stack.type(i) == .string, let text = stack.string(at: i) {
            let found: MoRef?
            do {
                found = try view.lookup(kind, text)
            } catch let error as AmbiguousNameError {
                throw bad(number, "\(field) = '\(text)': \(error)")
            }
            if let ref = found { return ref }
            throw bad(number, "\(field) = '\(text)': the inventory has no \(kind.typeName.lowercased()) of that name")
        }
        throw bad(number, "\(field) is a \(stack.typeName(i)); give a \(kind.typeName) or its name")
    }

    /// A datastore field: name, glob, Datastore, or a list of those.
    private mutating func datastores(at i: Int32, number: Int) throws -> [MoRef] {
        try datastores(at: i, number: number, named: "datastore")
    }

    /// A field holding datastores (`datastore`, `from`, a map's value): name, glob, datastore
    /// cluster name, Datastore, or a list of those; `field` names it in errors.
    private mutating func datastores(at i: Int32, number: Int, named field: String) throws -> [MoRef] {
        switch stack.type(i) {
        case .string:
            return try resolve(stack.string(at: i) ?? "", number: number, field: field)
        case .table:
            guard let key = stack.identity(at: i) else { return [] }
            if let cached = byList[key] { return cached }
            let count = stack.rawLength(i)
            if count == 0 { throw bad(number, "\(field) is an empty list; give at least one name, glob or Datastore") }
            var refs: [MoRef] = []
            var seen = Set<MoRef>()
            for k in 1...count {
                let more = try stack.withRawElement(k, of: i) { e -> [MoRef] in
                    if let ref = InventoryObjectKind.datastore.ref(ofObjectAt: e, access: stack) { return [ref] }
                    guard stack.type(e) == .string, let text = stack.string(at: e) else {
                        throw bad(number, "\(field)[\(k)] is a \(stack.typeName(e)); give names, globs or Datastore objects")
                    }
                    return try resolve(text, number: number, field: "\(field)[\(k)]")
                }
                for ref in more where seen.insert(ref).inserted { refs.append(ref) }
            }
            byList[key] = refs
            return refs
        default:
            if let ref = InventoryObjectKind.datastore.ref(ofObjectAt: i, access: stack) { return [ref] }
            throw bad(number, "\(field) is a \(stack.typeName(i)); give a name, a glob such as \"new-*\", a Datastore, or a list of those")
        }
    }

    /// The datastores a name or glob names (at least one); a datastore cluster's name names
    /// its members.
    private mutating func resolve(_ text: String, number: Int, field: String) throws -> [MoRef] {
        if let cached = byText[text] { return cached }
        if let pod = try podNamed(text, number: number, field: field) {
            guard !pod.datastores.isEmpty else { throw bad(number, "\(field) = '\(text)' is a datastore cluster with no datastore in it") }
            byText[text] = pod.datastores
            return pod.datastores
        }
        let glob = Glob(text)
        var refs = view.inventory.datastores.filter { glob.matches($0.name) }.map(\.ref)
        if refs.isEmpty, let ref = try view.lookup(.datastore, text) { refs = [ref] }
        if refs.isEmpty {
            throw bad(number, "\(field) = '\(text)' matches no datastore of the inventory")
        }
        byText[text] = refs
        return refs
    }

    private func snapshotSelector(at i: Int32, number: Int) throws -> SnapshotSelector {
        switch stack.type(i) {
        case .nil, .none:
            return .all
        case .string:
            let text = stack.string(at: i) ?? ""
            return text == "all" ? .all : .named(text)
        case .table:
            let ref: MoRef? = stack.withRawField("moref", of: i) { m in
                stack.string(at: m).flatMap { text in
                    MoRef(parsing: text).map { r in text.contains(":") ? r : MoRef("VirtualMachineSnapshot", r.value) }
                }
            }
            guard let ref else { throw bad(number, "snapshot is a table without a moref; give an element of vm.snapshots, a name, or \"all\"") }
            return .ref(ref)
        default:
            throw bad(number, "snapshot is a \(stack.typeName(i)); give \"all\", a snapshot name, or an element of vm.snapshots")
        }
    }

    private func flag(_ name: String, of slot: Int32, default value: Bool, number: Int) throws -> Bool {
        try stack.withRawField(name, of: slot) { i in
            if stack.isNoneOrNil(i) { return value }
            guard stack.type(i) == .boolean else { throw bad(number, "\(name) must be true or false, not a \(stack.typeName(i))") }
            return stack.boolean(i)
        }
    }

    private func customTask(_ slot: Int32, number: Int) throws -> CustomTask {
        let method = try stack.withRawField("method", of: slot) { i -> String in
            guard stack.type(i) == .string, let m = stack.string(at: i), !m.isEmpty,
                  m.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw bad(number, "action=\"custom\" needs method = \"SomeMethod_Task\" (a vSphere method name)")
            }
            if let allowedMethods, !allowedMethods.contains(m) {
                throw bad(number, SandboxMethods.refusal(m, what: "the custom method"))
            }
            return m
        }
        let arguments = try stack.withRawField("args", of: slot) { i -> [PropertyValue.Field] in
            if stack.isNoneOrNil(i) { return [] }
            guard stack.type(i) == .table, stack.rawLength(i) == 0 else {
                throw bad(number, "args must be a table of named arguments such as {spec = {...}}")
            }
            do {
                return try PropertyValueBridge.orderedFields(of: i, keys: try stack.stringKeys(of: i), on: stack, path: "", depth: 0)
            } catch {
                throw bad(number, "args: \(error)")
            }
        }
        let object = try stack.withRawField("object", of: slot) { i -> MoRef? in
            if stack.isNoneOrNil(i) { return nil }
            if let (_, ref) = InventoryObjectKind.object(at: i, access: stack) { return ref }
            guard let text = stack.string(at: i), let ref = MoRef(parsing: text) else {
                throw bad(number, "object must be an inventory object or a reference such as HostSystem:host-12")
            }
            return ref
        }
        let cost = try stack.withRawField("cost", of: slot) { i -> DeclaredCost in
            if stack.isNoneOrNil(i) { return DeclaredCost() }
            guard stack.type(i) == .table else { throw bad(number, "cost must be a table {host =, datastore =, network =}") }
            for key in try stack.stringKeys(of: i) where !["host", "datastore", "network"].contains(key) {
                throw bad(number, "cost has an unknown field '\(key)'; its fields: host, datastore, network (vSphere cost units)")
            }
            func value(_ key: String) throws -> Int {
                try stack.withRawField(key, of: i) { v in
                    if stack.isNoneOrNil(v) { return 0 }
                    guard let n = stack.integer(at: v), n >= 0 else { throw bad(number, "cost.\(key) must be a whole number ≥ 0") }
                    return n
                }
            }
            return DeclaredCost(host: try value("host"), datastore: try value("datastore"), network: try value("network"))
        }
        return CustomTask(method: method, object: object, arguments: arguments, cost: cost)
    }

    // MARK: Storage moves

    /// The datastore cluster called `text`, if there is one (a name two share is an error).
    private func podNamed(_ text: String, number: Int, field: String) throws -> DatastoreClusterInfo? {
        do {
            return try view.inventory.uniqueDatastoreCluster(named: text)
        } catch {
            throw bad(number, "\(field) = '\(text)': \(error)")
        }
    }

    /// The storage part of a move job (nil when it has none: a plain vMotion).
    private mutating func storageMove(_ slot: Int32, present: Present, number: Int) throws -> StorageMove? {
        let storageFields = ["datastore", "from", "map", "keep_together", "format", "sdrs", "disks"]
        guard storageFields.contains(where: present.contains) else { return nil }
        guard present.contains("datastore") || present.contains("map") || present.contains("disks") else {
            throw bad(number, "\(storageFields.filter(present.contains).joined(separator: ", ")) describe a storage move, which needs datastore = ... (or map = ..., or disks = ...)")
        }
        var pod: DatastoreClusterInfo?
        let targets = try stack.withRawField("datastore", of: slot) { i -> [MoRef] in
            if stack.isNoneOrNil(i) { return [] }
            if stack.type(i) == .string, let text = stack.string(at: i) { pod = try podNamed(text, number: number, field: "datastore") }
            return try datastores(at: i, number: number)
        }
        var move = StorageMove(targets: targets)
        move.sources = try stack.withRawField("from", of: slot) { i -> [MoRef]? in
            if stack.isNoneOrNil(i) { return nil }
            return try datastores(at: i, number: number, field: "from")
        }
        move.keepTogether = try flag("keep_together", of: slot, default: true, number: number)
        move.format = try stack.withRawField("format", of: slot) { i -> DiskFormat? in
            if stack.isNoneOrNil(i) { return nil }
            guard stack.type(i) == .string, let text = stack.string(at: i) else {
                throw bad(number, "format is a \(stack.typeName(i)); give \"thin\", \"thick\" or \"eager\"")
            }
            guard let format = DiskFormat(userText: text) else {
                throw bad(number, "format = '\(text)' is not a disk format vSphere knows; give \"thin\", \"thick\" (lazily zeroed) or \"eager\" (eagerly zeroed thick)")
            }
            return format
        }
        if try flag("sdrs", of: slot, default: false, number: number) {
            guard let pod else {
                throw bad(number, "sdrs = true asks a datastore cluster's Storage DRS: datastore must name one datastore cluster (its name), not datastores")
            }
            guard pod.sdrsEnabled else {
                throw bad(number, "sdrs = true, but Storage DRS is not enabled on datastore cluster '\(pod.name)'; enable it, or leave sdrs out and let the strategy's target hook choose among its datastores")
            }
            move.storageDRS = pod.ref
        }
        move.map = try stack.withRawField("map", of: slot) { i -> [SourceMapping] in
            if stack.isNoneOrNil(i) { return [] }
            return try sourceMappings(at: i, number: number)
        }
        move.fixed = try stack.withRawField("disks", of: slot) { i -> [FilePlacement] in
            if stack.isNoneOrNil(i) { return [] }
            return try filePlacements(at: i, number: number)
        }
        return move
    }

    /// A `from` field: the same forms as `datastore`.
    private mutating func datastores(at i: Int32, number: Int, field: String) throws -> [MoRef] {
        try datastores(at: i, number: number, named: field)
    }

    /// `map = {["legacy-01"] = "new-01", ["legacy-*"] = "new-*"}`: every source datastore a key
    /// names (exact names first, then the most specific glob) gets that key's targets.
    private mutating func sourceMappings(at i: Int32, number: Int) throws -> [SourceMapping] {
        guard stack.type(i) == .table else {
            throw bad(number, "map is a \(stack.typeName(i)); give a table such as {[\"legacy-01\"] = \"new-01\", [\"legacy-*\"] = \"new-*\"}")
        }
        let pointer = stack.identity(at: i)
        if let pointer, let cached = byMap[pointer] { return cached }
        let result = try readSourceMappings(at: i, number: number)
        if let pointer { byMap[pointer] = result }
        return result
    }

    private mutating func readSourceMappings(at i: Int32, number: Int) throws -> [SourceMapping] {
        var entries: [(key: String, targets: [MoRef])] = []
        try stack.forEachRawPair(of: i) { k, v in
            guard stack.type(k) == .string, let key = stack.string(at: k) else {
                throw bad(number, "map has a \(stack.typeName(k)) key; its keys are source datastore names or globs")
            }
            entries.append((key, try datastores(at: v, number: number, field: "map[\"\(key)\"]")))
        }
        var bySource: [MoRef: (specificity: Int, targets: [MoRef])] = [:]
        var order: [MoRef] = []
        for entry in entries.sorted(by: { $0.key < $1.key }) {
            let glob = Glob(entry.key)
            var sources = view.inventory.datastores.filter { glob.matches($0.name) }.map(\.ref)
            if sources.isEmpty, let ref = try view.lookup(.datastore, entry.key) { sources = [ref] }
            guard !sources.isEmpty else {
                throw bad(number, "map[\"\(entry.key)\"]: no datastore of the inventory is called '\(entry.key)'\(Glob.isPattern(entry.key) ? " (the glob matches none)" : "")")
            }
            // An exact name beats any glob; a longer glob beats a shorter one.
            let specificity = Glob.isPattern(entry.key) ? entry.key.count : Int.max
            for s in sources {
                if let existing = bySource[s], existing.specificity >= specificity { continue }
                if bySource[s] == nil { order.append(s) }
                bySource[s] = (specificity, entry.targets)
            }
        }
        return order.map { SourceMapping(source: $0, targets: bySource[$0]!.targets) }
    }

    /// `disks = {[2001] = "new-02", config = "new-01"}`: files with a fixed destination.
    private mutating func filePlacements(at i: Int32, number: Int) throws -> [FilePlacement] {
        guard stack.type(i) == .table else {
            throw bad(number, "disks is a \(stack.typeName(i)); give a table such as {[2001] = \"new-02\"} (disk keys from vm.disks)")
        }
        var out: [FilePlacement] = []
        try stack.forEachRawPair(of: i) { k, v in
            let file: VMFileID
            if let key = stack.integer(at: k) {
                file = .disk(key)
            } else if stack.type(k) == .string, let text = stack.string(at: k), let id = VMFileID(parsing: text) {
                file = id
            } else {
                throw bad(number, "disks has a key \(stack.string(at: k).map { "'\($0)'" } ?? stack.typeName(k)); its keys are disk keys (2000, 2001, … from vm.disks) or \"config\"")
            }
            let targets = try datastores(at: v, number: number, field: "disks[\(file)]")
            guard targets.count == 1 else {
                throw bad(number, "disks[\(file)] names \(targets.count) datastores; a fixed file goes to exactly one")
            }
            out.append(FilePlacement(file: file, datastore: targets[0]))
        }
        return out.sorted { $0.file < $1.file }
    }
}
