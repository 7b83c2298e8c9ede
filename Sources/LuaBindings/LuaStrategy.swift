import LuaHost
import MigrationEngine
import VCenterModel

/// A migration strategy written in Lua: the table of hooks a strategy script returns
/// (docs/LUA.md, "Strategies"), as the engine's `Strategy`.
///
/// Every hook runs synchronously on the Lua runtime's executor, through the pcall helper
/// (errors carry the script location and a traceback): run the `MigrationRunner` on that
/// executor (`makeRunner`). Missing hooks use the engine's defaults without calling Lua, and
/// so do the stdlib functions that give the same answers (`LuaStrategyNative`).
/// What the hooks see:
///
/// * `select(inv)`: an `Inventory` userdata over the engine's inventory; the jobs it returns
///   become `JobRequest`s (`LuaStrategyJobParser`).
/// * per-job hooks: a job table (`id, kind, size, attempts, label, state, error, vm_name`,
///   and lazily `vm, cluster, host, target, to_host` objects); the same table for the same
///   job while the strategy keeps a reference to it.
/// * `target(job, candidates)`: Datastore objects whose `free` is the engine's account
///   (moves in flight deducted).
/// * `on_failure(job, err)`: every failure, with what the retry rule would do
///   (`LuaStrategy+Failures.swift`); the table's `retries` and `backoff` settings are the run's
///   retry policy (`LuaStrategyRetries`).
///
/// `select`, `order` and `limits` errors stop the run before anything moves; a failing
/// per-job hook fails that job only (the engine records the error and its traceback).
/// Not thread-safe: only the runtime's executor may call it (each hook checks).
public final class LuaStrategy: Strategy, @unchecked Sendable {
    // @unchecked: every member is touched only on the runtime's executor (checked by
    // `assumeOnExecutor` in each hook); the runner that calls the hooks runs there.

    /// The runtime whose executor every hook runs on.
    public let runtime: LuaRuntime
    /// The strategy's name in messages and the journal (the script path).
    public let name: String

    let hooks: [LuaStrategyHook: LuaRef]
    /// The `checks` functions, in order.
    let checks: [(function: LuaRef, location: String)]
    /// Hooks that are stdlib functions answered in Swift (`LuaStrategyNative`); not in `hooks`.
    let natives: [LuaStrategyHook: LuaStrategyNative]
    /// `file.lua:12` of each hook, for messages about what it returned.
    let locations: [LuaStrategyHook: String]
    let sorter: LuaRef
    /// The `retries` and `backoff` fields: changes to the engine's retry policy.
    let retrySettings: LuaStrategyRetries
    /// The metatable of `on_failure`'s error tables (`tostring(err)`, protected).
    var errorMetatable: LuaRef?
    /// Job tables by job id + 1, weak values.
    let jobCache: LuaRef
    var jobMetatable: LuaRef?
    /// The inventory the hooks' objects come from (set by `select` or `prepare`).
    var view: LuaInventoryView?
    /// What the lazy fields of each job table resolve, by job id.
    var records: [JobRecord] = []

    /// Builds a strategy from the hook table `table` (validated: every key a known hook,
    /// every value a function, `select` present). Executor only.
    init(runtime: LuaRuntime, state: LuaState, table: LuaRef, name: String) throws {
        self.runtime = runtime
        self.name = name
        let slot = LuaThreadStack(state: state)
        let base = slot.top
        defer { slot.setTop(base) }
        try slot.reserveStack(8)
        slot.push(table)
        guard slot.type(-1) == .table else {
            throw LuaStrategyError("\(name): a strategy is a table of hooks (\(LuaStrategyHook.names.joined(separator: ", "))), not a \(slot.typeName(-1))")
        }
        var hooks: [LuaStrategyHook: LuaRef] = [:]
        var locations: [LuaStrategyHook: String] = [:]
        var natives: [LuaStrategyHook: LuaStrategyNative] = [:]
        var checks: [(LuaRef, String)] = []
        var retrySettings = LuaStrategyRetries()
        try slot.forEachRawPair(of: -1) { key, value in
            let keyName = slot.type(key) == .string ? slot.string(at: key) : nil
            if let keyName, LuaStrategyRetries.settingNames.contains(keyName) {
                do throws(LuaStrategyError) {
                    try retrySettings.read(keyName, at: value, on: slot)
                } catch {
                    throw LuaStrategyError("\(name): \(error.message)")
                }
                return
            }
            guard let keyName, let hook = LuaStrategyHook(rawValue: keyName) else {
                let shown = keyName.map { "'\($0)'" } ?? "a \(slot.type(key).name) key"
                let hint = NameSuggestion.hint(for: keyName, among: LuaStrategyHook.names + LuaStrategyRetries.settingNames)
                throw LuaStrategyError("\(name): the strategy table has \(shown)\(hint), which is not a hook; valid hooks: \(LuaStrategyHook.names.joined(separator: ", ")); settings: \(LuaStrategyRetries.settingNames.joined(separator: ", "))")
            }
            if hook == .checks {
                // One function, or an array of them.
                if slot.isCallable(value) {
                    checks.append((slot.reference(value), slot.functionLocation(value) ?? name))
                } else if slot.type(value) == .table {
                    for k in stride(from: 1, through: slot.rawLength(value), by: 1) {
                        try slot.withRawElement(k, of: value) { check in
                            guard slot.isCallable(check) else {
                                throw LuaStrategyError("\(name): checks[\(k)] must be a function(vm, job) returning nil or why the VM cannot move, not a \(slot.typeName(check))")
                            }
                            checks.append((slot.reference(check), slot.functionLocation(check) ?? name))
                        }
                    }
                } else {
                    throw LuaStrategyError("\(name): checks must be a function(vm, job) or a list of them, not a \(slot.typeName(value))")
                }
                return
            }
            guard slot.isCallable(value) else {
                throw LuaStrategyError("\(name): hook '\(keyName)' must be a function, not a \(slot.typeName(value))")
            }
            if let native = LuaStrategyNative.function(at: value, on: slot), native.serves(hook) {
                natives[hook] = native
            } else {
                locations[hook] = slot.functionLocation(value) ?? name
                hooks[hook] = slot.reference(value)
            }
        }
        guard hooks[.select] != nil else {
            throw LuaStrategyError("\(name): the strategy table has no select hook, so it would select nothing; add select = function(inv) return { {vm = ..., datastore = ...}, ... } end")
        }
        self.hooks = hooks
        self.checks = checks
        self.locations = locations
        self.natives = natives
        self.retrySettings = retrySettings
        let sortChunk = try state.load(LuaStrategySort.source, chunkName: "=[moonmotion order]")
        guard let sortFunction = try state.callReturningReferences(sortChunk).first else {
            throw LuaStrategyError("internal error: the sort chunk returned nothing")
        }
        sorter = sortFunction
        try slot.newWeakValuedTable()
        jobCache = slot.popReference()
        jobMetatable = try makeJobMetatable(state: state)
        errorMetatable = try makeErrorMetatable(state: state)
    }

    // MARK: Strategy

    /// Calls `select(inv)` with an `Inventory` over `inventory` (the objects every later hook
    /// receives come from it) and turns its job tables into requests.
    public func select(_ inventory: Inventory) throws -> [JobRequest] {
        let view = LuaInventoryView(inventory)
        self.view = view
        records.removeAll(keepingCapacity: true)
        guard let function = hooks[.select] else { return [] }
        let location = locations[.select] ?? name
        return try callHook(function, arguments: { slot in
            view.pushInventory(on: slot)
            return 1
        }, result: { slot, index in
            var parser = LuaStrategyJobParser(view: view, stack: slot, location: location,
                                              allowedMethods: SandboxMethods.allowed(in: self.runtime))
            return try parser.parse(at: index)
        })
    }

    /// Sorts the jobs with the `order(a, b)` comparator (stable, in Lua, one protected call),
    /// or largest first without one.
    public func order(_ jobs: [Job]) throws -> [Job] {
        if natives[.order] == .smallestFirst { return DefaultOrder.smallestFirst(jobs) }
        guard let function = hooks[.order], !jobs.isEmpty else { return DefaultOrder.largestFirst(jobs) }
        let location = locations[.order] ?? name
        return try runtime.assumeOnExecutor { state in
            let slot = LuaThreadStack(state: state)
            return try slot.preservingTop {
                try slot.reserveStack(8)
                slot.push(sorter)
                try slot.newTable(array: jobs.count)
                for (i, job) in jobs.enumerated() {
                    try pushJob(job, on: slot)
                    slot.setRawElement(i + 1)
                }
                slot.push(jobs.count)
                slot.push(function)
                slot.push(location)
                try slot.protectedCall(argumentCount: 4, resultCount: 1)
                var position: [Int: Int] = [:]
                position.reserveCapacity(jobs.count)
                for (i, job) in jobs.enumerated() { position[job.id.rawValue] = i }
                var ordered: [Job] = []
                ordered.reserveCapacity(jobs.count)
                let sorted = slot.top
                for i in 1...jobs.count {
                    // Raw: a job table's __index raises for unknown fields, and nothing may raise here.
                    let id = slot.withRawElement(i, of: sorted) { job in
                        slot.type(job) == .table ? slot.withRawField("id", of: job) { slot.integer(at: $0) } : nil
                    }
                    guard let id, let p = position[id] else {
                        throw LuaStrategyError("the order hook (\(location)) changed the id of a job table; leave the engine's fields of a job as they are")
                    }
                    ordered.append(jobs[p])
                }
                return ordered
            }
        }
    }

    /// Calls `target(job, candidates)` with Datastore objects carrying the engine's free space,
    /// or picks the most free space without one.
    public func target(_ job: Job, candidates: [DatastoreInfo]) throws -> MoRef? {
        guard let function = hooks[.target] else { return DefaultOrder.mostFreeSpace(candidates) }
        let view = try requireView()
        for candidate in candidates { view.update(candidate) }
        let location = locations[.target] ?? name
        return try callHook(function, arguments: { slot in
            try pushJob(job, on: slot)
            try slot.pushArray(candidates) { view.push(.datastore, $0.ref, on: slot) }
            return 2
        }, result: { slot, index in
            try LuaStrategyAnswers.target(at: index, on: slot, candidates: candidates, location: location)
        })
    }

    /// Calls `target(job, candidates, files)` for the files of a storage move that land
    /// together (or one file): the answer is a Datastore (or its name) for all of them, a table
    /// `{ config = ds, [2001] = ds }` with one per file, or nil to wait. Without a hook, or with
    /// a native one, the engine's answer.
    public func place(_ job: Job, files: [VMFile], candidates: [DatastoreInfo]) throws -> TargetAnswer {
        guard let function = hooks[.target] else { return DefaultOrder.mostFreeSpace(candidates).map(TargetAnswer.together) ?? .wait }
        let view = try requireView()
        for candidate in candidates { view.update(candidate) }
        let location = locations[.target] ?? name
        return try callHook(function, arguments: { slot in
            try pushJob(job, on: slot)
            try slot.pushArray(candidates) { view.push(.datastore, $0.ref, on: slot) }
            try slot.pushArray(files) { file in try LuaStrategy.pushFile(file, view: view, on: slot) }
            return 3
        }, result: { slot, index in
            try LuaStrategyAnswers.placement(at: index, on: slot, files: files, candidates: candidates, location: location)
        })
    }

    /// Pushes a file table `{ id = "disk 2001", key = 2001, label = "Hard disk 2", datastore = ds,
    /// bytes = n }` (`key` nil for the home).
    static func pushFile(_ file: VMFile, view: LuaInventoryView, on slot: LuaThreadStack) throws {
        try slot.newTable(fields: 5)
        slot.setRawField("id", .string(file.id.description))
        if let key = file.id.diskKey { slot.setRawField("key", .integer(key)) }
        slot.setRawField("label", .string(file.label))
        slot.setRawField("bytes", .integer(Int(file.bytes)))
        if let ds = file.datastore {
            view.push(.datastore, ds, on: slot)
            slot.setRawField("datastore")
        }
    }

    /// Runs the strategy's `checks` on the job's VM: the first reason any of them gives.
    public func check(_ job: Job, vm: VMInfo) throws -> String? {
        guard !checks.isEmpty else { return nil }
        let view = try requireView()
        for (function, location) in checks {
            let reason: String? = try callHook(function, arguments: { slot in
                view.push(.vm, vm.ref, on: slot)
                try pushJob(job, on: slot)
                return 2
            }, result: { slot, index in
                switch slot.type(index) {
                case .nil, .none: return nil
                case .boolean: return slot.boolean(index) ? nil : "the strategy's check (\(location)) said no"
                case .string: return slot.string(at: index)
                default:
                    throw LuaStrategyError("the check (\(location)) returned \(LuaStrategyAnswers.shown(index, on: slot)); return nil when the VM can move, or a string saying why it cannot (and what to do)")
                }
            })
            if let reason { return reason }
        }
        return nil
    }

    /// Calls `limits(cluster)` and reads its table, or changes nothing without one.
    public func limits(_ cluster: ClusterInfo) throws -> LimitOverrides {
        guard let function = hooks[.limits] else { return .none }
        let view = try requireView()
        let location = locations[.limits] ?? name
        return try callHook(function, arguments: { slot in
            view.push(.cluster, cluster.ref, on: slot)
            return 1
        }, result: { slot, index in
            try LuaStrategyAnswers.limits(at: index, on: slot, cluster: cluster.name, location: location)
        })
    }

    /// Calls `vcenter_limits(inv)` with the run's `Inventory` and reads its table, or changes
    /// nothing without one.
    public func vcenterLimits(_ inventory: Inventory) throws -> VCenterLimitOverrides {
        guard let function = hooks[.vcenterLimits] else { return .none }
        let view = try requireView()
        let location = locations[.vcenterLimits] ?? name
        return try callHook(function, arguments: { slot in
            view.pushInventory(on: slot)
            return 1
        }, result: { slot, index in
            try LuaStrategyAnswers.vcenterLimits(at: index, on: slot, location: location)
        })
    }

    /// Calls `on_blocked(job, info)`, or waits without one.
    public func onBlocked(_ job: Job, _ info: BlockedInfo) throws -> BlockedDecision {
        guard let function = hooks[.onBlocked] else { return natives[.onBlocked] == .vmotion ? .vmotion : .wait }
        let view = try requireView()
        let location = locations[.onBlocked] ?? name
        return try callHook(function, arguments: { slot in
            try pushJob(job, on: slot)
            try slot.newTable(fields: 5)
            view.push(.host, info.host, on: slot)
            slot.setRawField("host")
            slot.setRawField("host_name", .string(info.hostName))
            slot.setRawField("reason", .string(info.reason))
            slot.setRawField("running_on_host", .integer(info.runningOnHost))
            try slot.pushArray(info.candidateHosts) { view.push(.host, $0, on: slot) }
            slot.setRawField("candidate_hosts")
            return 2
        }, result: { slot, index in
            try LuaStrategyAnswers.blocked(at: index, on: slot, location: location)
        })
    }

    /// Moves the job's VM in the hooks' inventory, then calls `on_done(job)` if there is one.
    public func onDone(_ job: Job) throws {
        recordLocation(of: job)
        guard let function = hooks[.onDone] else { return }
        try callHook(function, arguments: { slot in
            try pushJob(job, on: slot)
            return 1
        }, result: { _, _ in () })
    }

    /// Gives the hooks an inventory when `select` is not called first (a resumed run):
    /// the objects they receive come from it. Keeps the inventory `select` saw, if any.
    public func prepare(_ inventory: Inventory) throws {
        runtime.executor.checkIsolated()
        if view == nil { view = LuaInventoryView(inventory) }
    }

    // MARK: Calling Lua

    /// Calls `function` with the arguments `arguments` pushes (returning their count) and
    /// reads its first result with `result`, through the pcall helper. Executor only.
    func callHook<T>(_ function: LuaRef, arguments: (LuaThreadStack) throws -> Int32,
                     result: (LuaThreadStack, Int32) throws -> T) throws -> T {
        try runtime.assumeOnExecutor { state in
            let slot = LuaThreadStack(state: state)
            return try slot.preservingTop {
                let base = slot.top
                try slot.reserveStack(8)
                slot.push(function)
                let count = try arguments(slot)
                try slot.protectedCall(argumentCount: count, resultCount: 1)
                return try result(slot, base + 1)
            }
        }
    }

    func requireView() throws -> LuaInventoryView {
        guard let view else {
            throw LuaStrategyError("\(name): a hook was called before the strategy saw the inventory (the engine calls select or prepare first)")
        }
        return view
    }

    /// Keeps the hooks' inventory in step with a finished move, so `job.vm.datastores` and
    /// `job.vm.host` tell where the VM is now.
    func recordLocation(of job: Job) {
        guard let view, job.kind.movesStorage || job.kind.movesHost, var info = view.inventory.vm(job.vm) else { return }
        if job.kind.movesStorage {
            if info.hasFileLayout {
                for m in job.moves { info.place(m.file, on: m.to, format: job.kind.storage?.format) }
            } else if let target = job.target {
                info.datastores = [target]
            }
        }
        // A storage move runs from the host the VM had at dispatch, which a pro-active
        // vMotion (not reported to on_done) may have changed.
        if let host = job.kind.destinationHost ?? job.sourceHost, host != info.host {
            info.host = host
            info.cluster = view.inventory.host(host)?.cluster ?? info.cluster
        }
        view.update(info)
    }
}
