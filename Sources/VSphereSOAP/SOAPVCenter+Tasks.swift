import Foundation
import VCenterModel
import VimXML

extension SOAPVCenter {
    /// The connection's poller, started on first use.
    var poller: TaskPoller {
        pollerBox.withLock { box in
            if let existing = box { return existing }
            let maxWait = max(1, min(config.pollerMaxWaitSeconds, Int(config.readTimeout) - 5))
            let settings = TaskPoller.Settings(
                maxWaitSeconds: maxWait, coalesceSeconds: config.pollerCoalesceSeconds, removeThreshold: 500,
                paceSeconds: config.pollerPaceSeconds, addIntervalSeconds: config.pollerAddIntervalSeconds,
                addBurst: config.pollerAddBurst, addDelaySeconds: config.pollerAddDelaySeconds,
                reconcileSeconds: config.pollerReconcileSeconds > 0 ? config.pollerReconcileSeconds : Double(maxWait),
                progressSeconds: config.pollerProgressSeconds)
            let poller = TaskPoller(session: session, content: content, book: taskBook, settings: settings, logger: logger)
            session.addReloginHook { [weak poller] in poller?.requestRebuild() }
            poller.start()
            box = poller
            return poller
        }
    }

    /// What the poller has done so far (waits, reconciles, rebuilds), for tests and benchmarks.
    public var pollerCounters: (waits: Int, emptyWaits: Int, reconciles: Int, rebuilds: Int, viewChanges: Int) {
        guard let p = pollerBox.withLock({ $0 }) else { return (0, 0, 0, 0, 0) }
        let c = p.counters
        return (c.waits, c.emptyWaits, c.reconciles, c.rebuilds, c.viewChanges)
    }

    /// Tracks a task the server just returned and hands back its live record.
    func trackNew(_ ref: MoRef, name: String, entity: MoRef?) -> LiveTask {
        let (task, isNew) = taskBook.track(TaskInfo(ref: ref, name: name, entity: entity, state: .queued, queueTime: Date()))
        if isNew { poller.track(ref) }
        return task
    }

    /// Calls a `…_Task` method and tracks the task it returns, as a task on `entity` (the
    /// object called, unless the method acts for another: Storage DRS moves a VM).
    func startTask(
        _ method: String, on object: MoRef, entity: MoRef? = nil, body: @Sendable @escaping (inout XMLWriter) -> Void = { _ in }
    ) async throws -> LiveTask {
        let returned = try await session.call(method, on: object, body: body)
        guard let ref = returned.first?.moRef, ref.type == "Task" else {
            throw VCenterFault(.invalidResponse, "\(method) on \(object) returned no task")
        }
        return trackNew(ref, name: method, entity: entity ?? object)
    }

    /// `RelocateVM_Task` (Storage vMotion, vMotion or both, with a locator per placed disk);
    /// the task is tracked by the poller.
    public func relocateVM(_ vm: MoRef, spec: RelocateSpec, priority: MovePriority) async throws -> LiveTask {
        guard !spec.isEmpty else {
            throw VCenterFault(.invalidArgument, "relocate \(vm.value): give a datastore, a host, a pool or disk locators")
        }
        let modes = spec.disks.contains { $0.format != nil } ? diskModes.withLock { $0[vm] ?? [:] } : [:]
        return try await startTask("RelocateVM_Task", on: vm) { w in
            OperationEncoding.relocateSpec(&w, "spec", spec, diskModes: modes)
            w.element("priority", priority.rawValue)
        }
    }

    /// `MigrateVM_Task` (vMotion to `host`); the task is tracked by the poller.
    public func migrateVM(_ vm: MoRef, host: MoRef, pool: MoRef?, priority: MovePriority) async throws -> LiveTask {
        try await startTask("MigrateVM_Task", on: vm) { w in
            if let pool { w.moRef("pool", pool) }
            w.moRef("host", host)
            w.element("priority", priority.rawValue)
        }
    }

    /// `ConsolidateVMDisks_Task`; the task is tracked by the poller.
    public func consolidateDisks(_ vm: MoRef) async throws -> LiveTask {
        try await startTask("ConsolidateVMDisks_Task", on: vm)
    }

    /// `RemoveAllSnapshots_Task`, or `RemoveSnapshot_Task` on the snapshot chosen by reference or by name
    /// (the first match in the tree; a missing name is a `NotFound` fault listing the VM's snapshots).
    public func removeSnapshot(_ vm: MoRef, _ which: SnapshotSelector, removeChildren: Bool, consolidate: Bool) async throws -> LiveTask {
        switch which {
        case .all:
            return try await startTask("RemoveAllSnapshots_Task", on: vm) { w in
                w.element("consolidate", consolidate ? "true" : "false")
            }
        case .ref(let snapshot):
            return try await removeSnapshot(snapshot, vm: vm, removeChildren: removeChildren, consolidate: consolidate)
        case .named(let name):
            guard let record = try await refreshVMs([vm]).first else {
                throw VCenterFault(.managedObjectNotFound, "VM \(vm.value) not found")
            }
            guard let snapshot = record.snapshots.first(where: { $0.name == name }) else {
                let names = record.snapshots.map(\.name)
                throw VCenterFault(.notFound, "VM \(record.name) has no snapshot named '\(name)'"
                    + (names.isEmpty ? " (it has none)" : " (it has: \(names.joined(separator: ", ")))"))
            }
            return try await removeSnapshot(snapshot.ref, vm: vm, removeChildren: removeChildren, consolidate: consolidate)
        }
    }

    private func removeSnapshot(_ snapshot: MoRef, vm: MoRef, removeChildren: Bool, consolidate: Bool) async throws -> LiveTask {
        let task = try await startTask("RemoveSnapshot_Task", on: snapshot) { w in
            w.element("removeChildren", removeChildren ? "true" : "false")
            w.element("consolidate", consolidate ? "true" : "false")
        }
        return task
    }

    /// Calls `method` on `object` with `arguments` written as vim25 XML (objects with their
    /// `xsi:type`); a returned task comes back live, anything else as a `PropertyValue`.
    public func invoke(_ method: String, on object: MoRef, arguments: [PropertyValue.Field]) async throws -> InvokeResult {
        let returned = try await session.call(method, on: object) { w in
            for argument in arguments { w.value(argument.name, argument.value) }
        }
        if returned.count == 1, let ref = returned[0].moRef, ref.type == "Task" {
            return .task(trackNew(ref, name: method, entity: object))
        }
        switch returned.count {
        case 0: return .value(.null)
        case 1: return .value(returned[0].propertyValue)
        default: return .value(.array(returned.map(\.propertyValue)))
        }
    }

    /// The live task for `ref`: the tracked one, or one read now (`info`) and tracked until it ends.
    public func task(_ ref: MoRef) async throws -> LiveTask {
        if let existing = taskBook.task(ref) { return existing }
        var found: TaskInfo?
        try await collector.retrieve([PropertySpec(type: "Task", paths: ["info"])], of: .objects([ref])) { object in
            object.forEachProperty { path, value in
                if path == "info" { found = TaskDecoding.info(value, ref: ref) }
            }
        }
        guard let info = found else {
            throw VCenterFault(.managedObjectNotFound, "task \(ref.value) not found")
        }
        let (task, isNew) = taskBook.track(info)
        if isNew, !info.state.isTerminal { poller.track(ref) }
        return task
    }

    /// `CancelTask`; the task then ends in error (`RequestCanceled`) through the poller.
    public func cancelTask(_ ref: MoRef) async throws {
        try await session.call("CancelTask", on: ref)
    }

    /// `TaskManager.recentTask`, or an entity's `recentTask`, with each task's `info`, in
    /// one `RetrievePropertiesEx` (a traversal from the owner to its tasks).
    public func recentTasks(_ query: TaskQuery) async throws -> [TaskInfo] {
        let owner: MoRef
        let ownerType: String
        if let entity = query.entity {
            owner = entity
            ownerType = "ManagedEntity"
        } else {
            guard let taskManager = content.taskManager else {
                throw VCenterFault(.notSupported, "this endpoint has no TaskManager")
            }
            owner = taskManager
            ownerType = "TaskManager"
        }
        var infos: [TaskInfo] = []
        try await collector.retrieve([PropertySpec(type: "Task", paths: ["info"])], of: .traverse(owner, type: ownerType, path: "recentTask")) { object in
            object.forEachProperty { path, value in
                if path == "info", let info = TaskDecoding.info(value, ref: object.ref) { infos.append(info) }
            }
        }
        if !query.states.isEmpty { infos = infos.filter { query.states.contains($0.state) } }
        return infos.sorted { ($0.queueTime ?? .distantPast) > ($1.queueTime ?? .distantPast) }
    }
}
