import Foundation
import LuaHost
import VCenterModel

/// An argument that names an object: a userdata (already a reference) or text to resolve
/// against the inventory (a name, or a moref such as `datastore-12`).
enum ObjectArgument: Sendable {
    case ref(MoRef)
    case text(String)

    /// Reads argument/field at `slot`; nil when absent.
    static func read(_ call: LuaCall, at slot: Int32, kind: InventoryObjectKind, what: String) throws -> ObjectArgument? {
        if call.isNoneOrNil(slot) { return nil }
        if let (k, ref) = InventoryObjectKind.object(at: slot, access: call) {
            guard k == kind else { throw LuaFailure("\(what) must be a \(kind.typeName) or its name, not a \(call.typeName(slot))") }
            return .ref(ref)
        }
        guard let text = call.string(at: slot) else {
            throw LuaFailure("\(what) must be a \(kind.typeName) or its name, not a \(call.typeName(slot))")
        }
        return .text(text)
    }

    var needsInventory: Bool { if case .text = self { true } else { false } }

    /// The reference, resolving text in `inventory`; throws a clear error when unknown.
    func resolve(_ kind: InventoryObjectKind, in inventory: Inventory?, what: String) throws -> MoRef {
        switch self {
        case .ref(let ref): return ref
        case .text(let text):
            guard let inventory else { throw VCenterFault(type: "NotFound", message: "\(what) '\(text)': no inventory to look it up in") }
            let view = InventoryLookup(inventory)
            if let ref = try view.lookup(kind, text) { return ref }
            // A datastore may be named by a pattern, as jobs accept it, when it matches exactly
            // one: `datastore = "new-0*"` on an array with one new datastore per host.
            if kind == .datastore, Glob.isPattern(text) {
                let glob = Glob(text)
                let matches = inventory.datastores.filter { glob.matches($0.name) }
                if matches.count == 1 { return matches[0].ref }
                if matches.count > 1 {
                    let names = matches.prefix(5).map(\.name).joined(separator: ", ") + (matches.count > 5 ? ", …" : "")
                    throw VCenterFault(.ambiguousName, "'\(text)' (\(what)) matches \(matches.count) datastores (\(names)); a move needs exactly one: name it, or let a strategy's target hook choose")
                }
                throw VCenterFault(type: "NotFound", message: "no datastore matches '\(text)' (\(what))")
            }
            throw VCenterFault(type: "NotFound", message: "no \(kind.typeName.lowercased()) named '\(text)' (\(what))")
        }
    }
}

/// Name and moref lookups on an `Inventory` value (off the executor).
struct InventoryLookup {
    let inventory: Inventory
    init(_ inventory: Inventory) { self.inventory = inventory }

    /// A name several objects share throws `AmbiguousNameError`.
    func lookup(_ kind: InventoryObjectKind, _ text: String) throws -> MoRef? {
        if let byName = try inventory.uniqueRef(kind, named: text) { return byName }
        guard var ref = MoRef(parsing: text) else { return nil }
        if !text.contains(":") { ref.type = kind.managedType }
        let known: Bool = switch kind {
        case .vm: inventory.vm(ref) != nil
        case .host: inventory.host(ref) != nil
        case .datastore: inventory.datastore(ref) != nil
        case .cluster: inventory.cluster(ref) != nil
        }
        return known ? ref : nil
    }
}

/// A task that ended in error, raised by the synchronous forms (`conn:moveVM` without
/// `async`): `task-12 (RelocateVM_Task on db-01) failed: FileLocked: …`.
struct TaskFailedError: Error, CustomStringConvertible {
    let info: TaskInfo
    var description: String {
        let fault = info.error.map(\.description) ?? "it ended in error"
        let on = info.entityName ?? info.entity?.value
        return "\(info.ref.value) (\(info.name)\(on.map { " on \($0)" } ?? "")) failed: \(fault)"
    }
}

extension LuaConnection {
    static func describeTaskMethods(_ type: inout LuaTypeBuilder<LuaConnection>) {
        type.method("moveVM") { call, conn in try conn.moveVM(call) }
        type.method("consolidateDisks") { call, conn in
            let vm = try conn.vmArgument(call, at: 2)
            let options = try TaskOptions(call, at: 3)
            return try conn.startTask(call, options: options, needsInventory: vm.needsInventory) { vcenter, inventory in
                try await vcenter.consolidateDisks(try vm.resolve(.vm, in: inventory, what: "vm"))
            }
        }
        type.method("removeSnapshot") { call, conn in
            let vm = try conn.vmArgument(call, at: 2)
            let which: SnapshotSelector
            switch call.type(3) {
            case .string:
                let text = try call.string(3)
                if text == "all" {
                    which = .all
                } else if text.hasPrefix("snapshot-") || text.hasPrefix("VirtualMachineSnapshot:"), let ref = MoRef(parsing: text) {
                    which = .ref(ref)
                } else {
                    which = .named(text)
                }
            default:
                throw LuaArgumentError(3, expected: "snapshot name, snapshot moref or \"all\"", actual: call.typeName(3))
            }
            var consolidate = true
            var children = false
            if call.type(4) == .table {
                for key in try call.stringKeys(of: 4) where key != "consolidate" && key != "children" {
                    throw LuaArgumentError(4, "unknown option '\(key)' (removeSnapshot takes consolidate, children)")
                }
                call.withRawField("consolidate", of: 4) { if !call.isNoneOrNil($0) { consolidate = call.boolean($0) } }
                call.withRawField("children", of: 4) { if !call.isNoneOrNil($0) { children = call.boolean($0) } }
            } else if !call.isNoneOrNil(4) {
                throw LuaArgumentError(4, expected: "table of options", actual: call.typeName(4))
            }
            let options = try TaskOptions(call, at: 5)
            return try conn.startTask(call, options: options, needsInventory: vm.needsInventory) { [which, consolidate, children] vcenter, inventory in
                try await vcenter.removeSnapshot(try vm.resolve(.vm, in: inventory, what: "vm"), which, removeChildren: children, consolidate: consolidate)
            }
        }
        type.method("getTask") { call, conn in
            try conn.checkOpen()
            let ref: MoRef
            if let t = call.object(at: 2, as: LuaTaskObject.self) {
                ref = t.live.ref
            } else {
                let text = try call.string(2)
                guard let parsed = MoRef(parsing: text.contains(":") ? text : (text.hasPrefix("task-") ? text : "Task:" + text)) else {
                    throw LuaArgumentError(2, "'\(text)' is not a task id such as task-123")
                }
                ref = parsed.type == "Task" || text.contains(":") ? parsed : MoRef("Task", text)
            }
            let vcenter = conn.vcenter
            let object = ExecutorBound(conn)
            return try call.suspend { completion in
                let task = Task {
                    do {
                        let live = try await vcenter.task(ref)
                        completion.resume(pushing: { call in
                            call.push(object.value.taskObject(for: live))
                            return .values(1)
                        })
                    } catch {
                        completion.resume(throwing: error)
                    }
                }
                return { task.cancel() }
            }
        }
        type.method("tasks") { call, conn in try conn.recentTasks(call) }
        type.method("invoke") { call, conn in try conn.invoke(call) }
    }

    /// The one task userdata for `live` on this connection.
    func taskObject(for live: LiveTask) -> LuaTaskObject {
        if let existing = taskObjects[live.ref], existing.live === live { return existing }
        return taskObjects.insert(LuaTaskObject(live, connection: self), for: live.ref)
    }

    func vmArgument(_ call: LuaCall, at index: Int32) throws -> ObjectArgument {
        guard let vm = try ObjectArgument.read(call, at: index, kind: .vm, what: "argument #\(index - 1) (vm)") else {
            throw LuaArgumentError(index, expected: "VM or its name", actual: call.typeName(index))
        }
        return vm
    }

    /// The inventory as a value, read once per connection (waits for the shared retrieval).
    func inventorySnapshot() async throws -> Inventory {
        try await withCheckedThrowingContinuation { continuation in
            executor.execute { [self] in
                if let view {
                    continuation.resume(returning: view.inventory)
                    return
                }
                inventoryWaiters.append { result in continuation.resume(with: result.map(\.inventory)) }
                startInventoryLoad()
            }
        }
    }

    /// Starts a task-returning operation: async → the `Task` at once; sync → waits for the
    /// end and returns the finished `Task`, or raises `TaskFailedError`.
    func startTask(_ call: LuaCall, options: TaskOptions, needsInventory: Bool,
                   _ start: @escaping @Sendable (any VCenter, Inventory?) async throws -> LiveTask) throws -> LuaReturn {
        try checkOpen()
        let vcenter = self.vcenter
        let object = ExecutorBound(self)
        return try call.suspend { completion in
            let task = Task {
                do {
                    let inventory = needsInventory ? try await object.value.inventorySnapshot() : nil
                    let live = try await start(vcenter, inventory)
                    if !options.async {
                        let info = try await live.completion()
                        if info.state == .error { throw TaskFailedError(info: info) }
                    }
                    completion.resume(pushing: { call in
                        call.push(object.value.taskObject(for: live))
                        return .values(1)
                    })
                } catch {
                    completion.resume(throwing: error)
                }
            }
            return { task.cancel() }
        }
    }

    // MARK: moveVM

    /// `conn:moveVM(vm, {datastore=, host=, pool=, priority=, disks=, format=}, {async=, method=})`:
    /// `disks = {[2001] = "new-02"}` places disks by device key (disk locators; a disk not
    /// named follows `datastore` when it is given and stays otherwise, as vSphere does),
    /// `format = "thin" | "thick" | "eager"` converts every disk that moves.
    private func moveVM(_ call: LuaCall) throws -> LuaReturn {
        let vm = try vmArgument(call, at: 2)
        guard call.type(3) == .table else {
            throw LuaArgumentError(3, expected: "table of targets {datastore=, host=, pool=, priority=}", actual: call.typeName(3))
        }
        let targetKeys = ["datastore", "host", "pool", "priority", "disks", "format"]
        for key in try call.stringKeys(of: 3) where !targetKeys.contains(key) {
            let hint = NameSuggestion.hint(for: key, among: targetKeys)
            throw LuaArgumentError(3, "unknown target '\(key)'\(hint) (moveVM takes \(targetKeys.joined(separator: ", ")))")
        }
        let format = try call.withRawField("format", of: 3) { slot -> DiskFormat? in
            if call.isNoneOrNil(slot) { return nil }
            guard let text = call.string(at: slot), let format = DiskFormat(userText: text) else {
                throw LuaArgumentError(3, "format must be \"thin\", \"thick\" or \"eager\" (disk formats vSphere knows), not \(call.string(at: slot).map { "'\($0)'" } ?? "a " + call.typeName(slot))")
            }
            return format
        }
        var diskTargets: [(key: Int, datastore: ObjectArgument)] = []
        try call.withRawField("disks", of: 3) { slot in
            if call.isNoneOrNil(slot) { return }
            guard call.type(slot) == .table else {
                throw LuaArgumentError(3, "disks must be a table {[2001] = \"new-02\"} (disk keys from vm.disks), not a \(call.typeName(slot))")
            }
            try call.forEachRawPair(of: slot) { k, v in
                guard let key = call.integer(at: k) ?? call.string(at: k).flatMap({ VMFileID(parsing: $0)?.diskKey }) else {
                    throw LuaArgumentError(3, "disks is keyed by disk keys (2000, 2001, … from vm.disks), not \(call.string(at: k).map { "'\($0)'" } ?? "a " + call.typeName(k))")
                }
                guard let target = try ObjectArgument.read(call, at: v, kind: .datastore, what: "disks[\(key)]") else {
                    throw LuaArgumentError(3, "disks[\(key)] names no datastore")
                }
                diskTargets.append((key, target))
            }
        }
        diskTargets.sort { $0.key < $1.key }
        let named = diskTargets
        let datastore = try call.withRawField("datastore", of: 3) { try ObjectArgument.read(call, at: $0, kind: .datastore, what: "target datastore") }
        let host = try call.withRawField("host", of: 3) { try ObjectArgument.read(call, at: $0, kind: .host, what: "target host") }
        let pool = try call.withRawField("pool", of: 3) { slot -> PoolArgument? in
            if call.isNoneOrNil(slot) { return nil }
            guard let text = call.string(at: slot), !text.isEmpty else {
                throw LuaArgumentError(3, "target pool must be a resource pool's name (\"Resources\") or moref (resgroup-12), not a \(call.typeName(slot))")
            }
            return PoolArgument(text)
        }
        let priority = try call.withRawField("priority", of: 3) { slot -> MovePriority in
            if call.isNoneOrNil(slot) { return .defaultPriority }
            let text = call.string(at: slot) ?? ""
            switch text.lowercased() {
            case "default", "defaultpriority": return .defaultPriority
            case "high", "highpriority": return .highPriority
            case "low", "lowpriority": return .lowPriority
            default: throw LuaArgumentError(3, "priority must be \"default\", \"high\" or \"low\", not '\(text)'")
            }
        }
        let options = try TaskOptions(call, at: 4, allowsMethod: true)
        if datastore == nil && host == nil && pool == nil && diskTargets.isEmpty {
            throw LuaArgumentError(3, "give a target: datastore=, host=, pool= and/or disks=")
        }
        if format != nil && datastore == nil && diskTargets.isEmpty {
            throw LuaArgumentError(3, "format converts the disks that move: give datastore= or disks= too")
        }
        let migrate = options.method == "migrate"
        if migrate && (host == nil || datastore != nil || !diskTargets.isEmpty) {
            throw LuaArgumentError(4, "method=\"migrate\" (MigrateVM_Task) moves to a host only: give host= and no datastore=")
        }
        let needsInventory = vm.needsInventory || datastore?.needsInventory == true || host?.needsInventory == true
            || pool?.needsInventory == true || format != nil || !named.isEmpty
        return try startTask(call, options: options, needsInventory: needsInventory) { vcenter, inventory in
            let vmRef = try vm.resolve(.vm, in: inventory, what: "vm")
            let hostRef = try host?.resolve(.host, in: inventory, what: "target host")
            let poolRef = try pool?.resolve(in: inventory, vm: vmRef, host: hostRef)
            if migrate, let hostRef {
                return try await vcenter.migrateVM(vmRef, host: hostRef, pool: poolRef, priority: priority)
            }
            var spec = RelocateSpec(datastore: try datastore?.resolve(.datastore, in: inventory, what: "target datastore"), host: hostRef, pool: poolRef)
            if format != nil || !named.isEmpty {
                spec.disks = try Self.diskLocators(vm: vmRef, in: inventory, home: spec.datastore, named: named, format: format)
            }
            return try await vcenter.relocateVM(vmRef, spec: spec, priority: priority)
        }
    }

    /// The locators of a hand-made move: each named disk to its datastore; with a format, also
    /// every disk that follows the home (so it is converted on the way). Unknown keys are an error.
    static func diskLocators(vm: MoRef, in inventory: Inventory?, home: MoRef?, named: [(key: Int, datastore: ObjectArgument)],
                             format: DiskFormat?) throws -> [DiskLocator] {
        guard let info = inventory?.vm(vm) else { throw LuaFailure("moveVM: the VM is not in the connection's inventory; disks= and format= need its disks") }
        let keys = Set(info.disks.map(\.key))
        var locators: [DiskLocator] = []
        for (key, target) in named {
            guard keys.contains(key) else {
                throw LuaFailure("moveVM: VM \(info.name) has no disk \(key) (its disks: \(info.disks.map { "\($0.key) \($0.label)" }.joined(separator: ", ")))")
            }
            locators.append(DiskLocator(diskKey: key, datastore: try target.resolve(.datastore, in: inventory, what: "disks[\(key)]"), format: format))
        }
        if let format, let home {
            for disk in info.disks where !named.contains(where: { $0.key == disk.key }) && disk.datastore != home {
                locators.append(DiskLocator(diskKey: disk.key, datastore: home, format: format))
            }
        }
        return locators.sorted { $0.diskKey < $1.diskKey }
    }

    // MARK: tasks, invoke

    /// `conn:tasks{entity=, state=}`: recent tasks like Get-Task, each a live `Task`.
    private func recentTasks(_ call: LuaCall) throws -> LuaReturn {
        try checkOpen()
        var entity: ObjectArgument?
        var entityRef: MoRef?
        var states: Set<TaskState> = []
        if call.type(2) == .table {
            for key in try call.stringKeys(of: 2) where key != "entity" && key != "state" {
                throw LuaArgumentError(2, "unknown filter '\(key)' (tasks takes entity, state)")
            }
            try call.withRawField("entity", of: 2) { slot in
                if call.isNoneOrNil(slot) { return }
                if let (_, ref) = InventoryObjectKind.object(at: slot, access: call) {
                    entityRef = ref
                } else if let text = call.string(at: slot) {
                    if text.contains(":"), let ref = MoRef(parsing: text) { entityRef = ref } else { entity = .text(text) }
                } else {
                    throw LuaArgumentError(2, "entity must be an inventory object, its name or its moref")
                }
            }
            try call.withRawField("state", of: 2) { slot in
                func add(_ s: Int32) throws {
                    guard let text = call.string(at: s), let state = TaskState(rawValue: text) else {
                        throw LuaArgumentError(2, "state must be queued, running, success or error (or a list of them)")
                    }
                    states.insert(state)
                }
                switch call.type(slot) {
                case .nil, .none: break
                case .table:
                    for i in stride(from: 1, through: call.rawLength(slot), by: 1) { try call.withRawElement(i, of: slot) { try add($0) } }
                default: try add(slot)
                }
            }
        } else if !call.isNoneOrNil(2) {
            throw LuaArgumentError(2, expected: "table of filters", actual: call.typeName(2))
        }
        let vcenter = self.vcenter
        let object = ExecutorBound(self)
        let query = (entity, entityRef, states)
        return try call.suspend { completion in
            let task = Task {
                do {
                    var ref = query.1
                    if case .text(let name) = query.0 {
                        // A name: a VM first, then any other kind.
                        let lookup = InventoryLookup(try await object.value.inventorySnapshot())
                        for kind in InventoryObjectKind.allCases where ref == nil { ref = try lookup.lookup(kind, name) }
                        guard ref != nil else { throw VCenterFault(type: "NotFound", message: "tasks{entity=}: nothing named '\(name)' in the inventory") }
                    }
                    let infos = try await vcenter.recentTasks(TaskQuery(entity: ref, states: query.2))
                    // Running tasks are tracked so they stay live; ended ones never change.
                    let lives = try await withThrowingTaskGroup(of: (Int, LiveTask).self) { group in
                        for (i, info) in infos.enumerated() {
                            if info.state.isTerminal { continue }
                            group.addTask { (i, try await vcenter.task(info.ref)) }
                        }
                        var result: [Int: LiveTask] = [:]
                        for try await (i, live) in group { result[i] = live }
                        return result
                    }
                    completion.resume(pushing: { call in
                        let conn = object.value
                        try call.pushArray(Array(infos.enumerated())) { i, info in
                            if let live = lives[i] {
                                call.push(conn.taskObject(for: live))
                            } else if let existing = conn.taskObjects[info.ref] {
                                call.push(existing)
                            } else {
                                call.push(conn.taskObject(for: LiveTask(info)))
                            }
                        }
                        return .values(1)
                    })
                } catch {
                    completion.resume(throwing: error)
                }
            }
            return { task.cancel() }
        }
    }

    /// `conn:invoke(moref, "Method", {arg=value}, {async=})`: any method; a task result is
    /// a live `Task` (waited for unless `async=true`, like the other operations)… see LUA.md.
    private func invoke(_ call: LuaCall) throws -> LuaReturn {
        try checkOpen()
        let target: MoRef
        if let (_, ref) = InventoryObjectKind.object(at: 2, access: call) {
            target = ref
        } else if let t = call.object(at: 2, as: LuaTaskObject.self) {
            target = t.live.ref
        } else if let text = call.string(at: 2), let ref = MoRef(parsing: text) {
            target = ref
        } else {
            throw LuaArgumentError(2, expected: "inventory object or moref such as VirtualMachine:vm-42", actual: call.typeName(2))
        }
        let method = try call.string(3)
        guard !method.isEmpty, method.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw LuaArgumentError(3, "'\(method)' is not a vSphere method name")
        }
        if let allowed = SandboxMethods.allowed(in: call.runtime), !allowed.contains(method) {
            throw LuaFailure(SandboxMethods.refusal(method, what: "conn:invoke"))
        }
        var arguments: [PropertyValue.Field] = []
        switch call.type(4) {
        case .none, .nil: break
        case .table:
            let keys = try call.stringKeys(of: 4)
            guard call.rawLength(4) == 0 else { throw LuaArgumentError(4, "arguments are named: {spec = {...}, priority = \"defaultPriority\"}") }
            arguments = try PropertyValueBridge.orderedFields(of: 4, keys: keys, on: call, path: "", depth: 0)
        default:
            throw LuaArgumentError(4, expected: "table of named arguments", actual: call.typeName(4))
        }
        let options = try TaskOptions(call, at: 5, defaultAsync: true)
        let vcenter = self.vcenter
        let object = ExecutorBound(self)
        let args = arguments
        return try call.suspend { completion in
            let task = Task {
                do {
                    switch try await vcenter.invoke(method, on: target, arguments: args) {
                    case .task(let live):
                        if !options.async {
                            let info = try await live.completion()
                            if info.state == .error { throw TaskFailedError(info: info) }
                        }
                        completion.resume(pushing: { call in
                            call.push(object.value.taskObject(for: live))
                            return .values(1)
                        })
                    case .value(let value):
                        completion.resume(returning: [PropertyValueBridge.luaValue(value)])
                    }
                } catch {
                    completion.resume(throwing: error)
                }
            }
            return { task.cancel() }
        }
    }
}

/// The trailing options table of a task operation: `{async = true, method = "migrate"}`.
struct TaskOptions: Sendable {
    var async: Bool
    var method: String?

    init(_ call: LuaCall, at index: Int32, allowsMethod: Bool = false, defaultAsync: Bool = false) throws {
        async = defaultAsync
        switch call.type(index) {
        case .none, .nil: return
        case .table: break
        default: throw LuaArgumentError(index, expected: "table of options {async=true}", actual: call.typeName(index))
        }
        let allowed = allowsMethod ? ["async", "method"] : ["async"]
        for key in try call.stringKeys(of: index) where !allowed.contains(key) {
            throw LuaArgumentError(index, "unknown option '\(key)' (allowed: \(allowed.joined(separator: ", ")))")
        }
        call.withRawField("async", of: index) { if !call.isNoneOrNil($0) { async = call.boolean($0) } }
        if allowsMethod {
            method = try call.withRawField("method", of: index) { slot -> String? in
                if call.isNoneOrNil(slot) { return nil }
                guard let m = call.string(at: slot), m == "migrate" || m == "relocate" else {
                    throw LuaArgumentError(index, "method must be \"relocate\" (RelocateVM_Task) or \"migrate\" (MigrateVM_Task)")
                }
                return m
            }
        }
    }
}
