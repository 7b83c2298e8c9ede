import Foundation
import HeapModule
import Locking
import VCenterModel

/// A small in-test virtual-time vCenter: tasks take size ÷ rate (vMotions a fixed
/// time), report 50% half-way, and move the VM on success. It keeps its own account
/// of vSphere costs per host and datastore (independent of the engine) and counts
/// calls and completed moves per VM. Faults can be injected per call.
final class FakeVCenter: VirtualTimeVCenter {
    struct Event: Comparable {
        var time: Date
        var seq: Int
        var task: MoRef
        var percent: Int?
        static func < (a: Event, b: Event) -> Bool { (a.time, a.seq) < (b.time, b.seq) }
    }

    struct Running {
        var vm: MoRef
        var spec: RelocateSpec?
        var charges: [(MoRef, Int)]
        var external: Bool
    }

    struct State {
        var now: Date
        var inventory: Inventory
        var events = Heap<Event>()
        var seq = 0
        var running: [MoRef: Running] = [:]
        var infos: [MoRef: TaskInfo] = [:]
        var order: [MoRef] = []
        var calls: [String: Int] = [:]
        var storageMoves: [MoRef: Int] = [:]
        var hostMoves: [MoRef: Int] = [:]
        var cost: [MoRef: Int] = [:]
        var peakCost: [MoRef: Int] = [:]
        var startFault: (@Sendable (String, MoRef, Int) -> VCenterFault?)?
        var lostAnswer: (@Sendable (String, MoRef, Int) -> VCenterFault?)?
        var peakOwnRunning = 0
        var hiddenRecentTaskQueries = 0
        var taskFault: (@Sendable (MoRef, Int) -> VCenterFault?)?
        var attempts: [MoRef: Int] = [:]
    }

    let state: Locked<State>
    let book = TaskBook()
    /// Bytes per second of a Storage vMotion.
    let rate: Double
    let vmotionSeconds: TimeInterval
    let displayName: String
    /// Its `about.instanceUuid`.
    let instanceUuid: String

    init(inventory: Inventory, rate: Double = 100_000_000, vmotionSeconds: TimeInterval = 10,
         start: Date = Date(timeIntervalSince1970: 1_700_000_000),
         name: String = "fake vCenter (tests)", instanceUuid: String = "fa4e0000-0000-4000-8000-000000000001") {
        state = Locked(State(now: start, inventory: inventory))
        self.rate = rate
        self.vmotionSeconds = vmotionSeconds
        self.displayName = name
        self.instanceUuid = instanceUuid
    }

    // MARK: Test controls

    /// A fault for the n-th call (1-based, per VM) of `method` on a VM, or nil.
    func failStarts(_ rule: @escaping @Sendable (String, MoRef, Int) -> VCenterFault?) { state.withLock { $0.startFault = rule } }
    /// For the n-th call (1-based, per VM) of `method` on a VM: start its task, then throw
    /// this fault instead of answering (a connection dropped after vCenter got the call).
    func loseAnswers(_ rule: @escaping @Sendable (String, MoRef, Int) -> VCenterFault?) { state.withLock { $0.lostAnswer = rule } }
    /// The next `count` queries of a VM's recent tasks answer nothing (vCenter listing a task late).
    func hideRecentTasks(count: Int) { state.withLock { $0.hiddenRecentTaskQueries = count } }
    /// The most tasks of the run's own (not `startExternalRelocate`'s) running at once.
    var peakOwnRunning: Int { state.withLock { $0.peakOwnRunning } }
    /// A fault for the n-th task (1-based, per VM) ending on a VM, or nil.
    func failTasks(_ rule: @escaping @Sendable (MoRef, Int) -> VCenterFault?) { state.withLock { $0.taskFault = rule } }

    var calls: [String: Int] { state.withLock { $0.calls } }
    var totalCalls: Int { state.withLock { $0.calls.values.reduce(0, +) } }
    var storageMoves: [MoRef: Int] { state.withLock { $0.storageMoves } }
    var hostMoves: [MoRef: Int] { state.withLock { $0.hostMoves } }
    var peakCost: [MoRef: Int] { state.withLock { $0.peakCost } }
    var currentInventory: Inventory { state.withLock { $0.inventory } }
    var runningCount: Int { state.withLock { $0.running.count } }

    /// Starts a relocation as if someone else had (not counted as a call).
    @discardableResult
    func startExternalRelocate(_ vm: MoRef, to datastore: MoRef) -> MoRef {
        let (task, _) = startTask(vm: vm, name: "VirtualMachine.relocate", spec: RelocateSpec(datastore: datastore), external: true)
        return task.ref
    }

    // MARK: VirtualTimeVCenter

    var now: Date { state.withLock { $0.now } }
    var nextEventTime: Date? { state.withLock { $0.events.min?.time } }

    func advance(to time: Date) {
        while true {
            let step: (LiveTask, TaskInfo)? = state.withLock { s in
                guard let e = s.events.min, e.time <= time else {
                    if time > s.now { s.now = time }
                    return nil
                }
                s.events.removeMin()
                s.now = max(s.now, e.time)
                guard var info = s.infos[e.task], !info.state.isTerminal else { return nil }
                if let p = e.percent {
                    info.progress = p
                } else {
                    let r = s.running.removeValue(forKey: e.task)!
                    for (obj, c) in r.charges { s.cost[obj, default: 0] -= c }
                    let n = (s.attempts[r.vm] ?? 0)
                    if let fault = s.taskFault?(r.vm, n) {
                        info.state = .error
                        info.error = fault
                    } else {
                        info.state = .success
                        info.progress = 100
                        if let spec = r.spec, var vm = s.inventory.vm(r.vm) {
                            if let d = spec.datastore, !vm.datastores.allSatisfy({ $0 == d }) {
                                vm.datastores = [d]
                                if !r.external { s.storageMoves[r.vm, default: 0] += 1 }
                            }
                            if let h = spec.host, h != vm.host {
                                vm.host = h
                                vm.cluster = s.inventory.host(h)?.cluster
                                if !r.external { s.hostMoves[r.vm, default: 0] += 1 }
                            }
                            s.inventory.update(vm)
                        }
                    }
                    info.completeTime = s.now
                }
                s.infos[e.task] = info
                return (self.book.task(e.task)!, info)
            }
            guard let (task, info) = step else {
                if state.withLock({ $0.events.min.map { $0.time <= time } ?? false }) { continue }
                return
            }
            task.apply(info)
        }
    }

    // MARK: VCenter

    func about() async throws -> AboutInfo {
        AboutInfo(name: "fake", fullName: "fake vCenter", version: "8.0", apiVersion: "8.0", instanceUuid: instanceUuid)
    }

    func inventory() async throws -> Inventory { state.withLock { s in s.calls["inventory", default: 0] += 1; return s.inventory } }

    func refreshVMs(_ refs: [MoRef]) async throws -> [VMInfo] {
        state.withLock { s in
            s.calls["refreshVMs", default: 0] += 1
            return refs.compactMap { s.inventory.vm($0) }
        }
    }

    func relocateVM(_ vm: MoRef, spec: RelocateSpec, priority: MovePriority) async throws -> LiveTask {
        try startCall("RelocateVM_Task", vm: vm, name: "VirtualMachine.relocate", spec: spec)
    }

    func migrateVM(_ vm: MoRef, host: MoRef, pool: MoRef?, priority: MovePriority) async throws -> LiveTask {
        try startCall("MigrateVM_Task", vm: vm, name: "VirtualMachine.migrate", spec: RelocateSpec(host: host, pool: pool))
    }

    func consolidateDisks(_ vm: MoRef) async throws -> LiveTask {
        try startCall("ConsolidateVMDisks_Task", vm: vm, name: "VirtualMachine.consolidateDisks", spec: nil)
    }

    func removeSnapshot(_ vm: MoRef, _ which: SnapshotSelector, removeChildren: Bool, consolidate: Bool) async throws -> LiveTask {
        try startCall("RemoveAllSnapshots_Task", vm: vm, name: "VirtualMachine.removeAllSnapshots", spec: nil)
    }

    func invoke(_ method: String, on object: MoRef, arguments: [PropertyValue.Field]) async throws -> InvokeResult {
        .task(try startCall(method, vm: object, name: method, spec: nil))
    }

    func task(_ ref: MoRef) async throws -> LiveTask {
        try state.withLock { s in
            s.calls["task", default: 0] += 1
            guard s.infos[ref] != nil else { throw VCenterFault(type: "ManagedObjectNotFound", message: "no task \(ref.value)") }
        }
        return book.task(ref)!
    }

    func cancelTask(_ ref: MoRef) async throws {}

    func recentTasks(_ query: TaskQuery) async throws -> [TaskInfo] {
        state.withLock { s in
            s.calls["recentTasks", default: 0] += 1
            if query.entity != nil, s.hiddenRecentTaskQueries > 0 {
                s.hiddenRecentTaskQueries -= 1
                return []
            }
            return s.order.compactMap { s.infos[$0] }.filter { info in
                (query.entity == nil || info.entity == query.entity) && (query.states.isEmpty || query.states.contains(info.state))
            }
        }
    }

    func close() async {}

    // MARK: Internals

    private func startCall(_ method: String, vm: MoRef, name: String, spec: RelocateSpec?) throws -> LiveTask {
        let fault: VCenterFault? = state.withLock { s in
            s.calls[method, default: 0] += 1
            s.attempts[vm, default: 0] += 1
            return s.startFault?(method, vm, s.attempts[vm]!)
        }
        if let fault { throw fault }
        let task = startTask(vm: vm, name: name, spec: spec, external: false).0
        let lost: VCenterFault? = state.withLock { s in s.lostAnswer?(method, vm, s.attempts[vm]!) }
        if let lost { throw lost }
        return task
    }

    private func startTask(vm: MoRef, name: String, spec: RelocateSpec?, external: Bool) -> (LiveTask, TaskInfo) {
        let (info, _) = state.withLock { s -> (TaskInfo, Void) in
            s.seq += 1
            let ref = MoRef("Task", "task-\(s.seq)")
            let vmInfo = s.inventory.vm(vm)
            var duration: TimeInterval = 30
            var charges: [(MoRef, Int)] = []
            if let spec {
                let changesStorage = spec.datastore.map { d in !(vmInfo?.datastores.allSatisfy { $0 == d } ?? true) } ?? false
                let changesHost = spec.host.map { $0 != vmInfo?.host } ?? false
                if changesStorage {
                    duration = Double(vmInfo?.committedBytes ?? 0) / rate
                    if let h = vmInfo?.host { charges.append((h, 4)) }
                    if changesHost, let h = spec.host { charges.append((h, 4)) }
                    for d in vmInfo?.datastores ?? [] { charges.append((d, 16)) }
                    if let d = spec.datastore { charges.append((d, 16)) }
                } else if changesHost {
                    duration = vmotionSeconds
                    if let h = vmInfo?.host { charges.append((h, 1)) }
                    if let h = spec.host { charges.append((h, 1)) }
                    for d in vmInfo?.datastores ?? [] { charges.append((d, 1)) }
                } else {
                    duration = 1
                }
            }
            for (obj, c) in charges {
                s.cost[obj, default: 0] += c
                s.peakCost[obj] = max(s.peakCost[obj] ?? 0, s.cost[obj]!)
            }
            let info = TaskInfo(ref: ref, name: name, entity: vm, entityName: vmInfo?.name, state: .running,
                                queueTime: s.now, startTime: s.now, cancelable: true)
            s.infos[ref] = info
            s.order.append(ref)
            s.running[ref] = Running(vm: vm, spec: spec, charges: charges, external: external)
            s.peakOwnRunning = max(s.peakOwnRunning, s.running.values.filter { !$0.external }.count)
            s.seq += 1
            s.events.insert(Event(time: s.now.addingTimeInterval(duration / 2), seq: s.seq, task: ref, percent: 50))
            s.seq += 1
            s.events.insert(Event(time: s.now.addingTimeInterval(duration), seq: s.seq, task: ref, percent: nil))
            return (info, ())
        }
        return (book.track(info).task, info)
    }
}
