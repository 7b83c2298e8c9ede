import Foundation
import Logging
import Testing
import TestSupport
import VCenterModel
@testable import VSphereSOAP

/// Tasks against the test vCenter: operations start tasks, the one poller keeps every
/// `LiveTask` current, and nothing is lost across a terminated session.
@Suite(.timeLimit(.minutes(5))) struct LiveTaskTests {
    static let logger = Logger(label: "test.soap.tasks")

    /// A connected client and its server; `speed` compresses simulated time.
    static func connect(_ options: TestVCenter.Options,
                        configure: (inout ConnectionConfig) -> Void = { _ in }) async throws -> (TestVCenter, SOAPVCenter, Inventory) {
        let server = try await TestVCenter.start(options)
        do {
            var config = try ConnectionConfig(url: server.url.absoluteString, username: server.username, password: server.password)
            config.readTimeout = 20
            config.pollerMaxWaitSeconds = 3
            config.pollerCoalesceSeconds = 0.05
            configure(&config)
            let vc = try await SOAPVCenter.connect(config: config, logger: logger)
            return (server, vc, try await vc.inventory())
        } catch {
            server.stop()
            throw error
        }
    }

    /// Waits for `task` with a deadline, so a lost update fails the test instead of hanging it.
    static func finish(_ task: LiveTask, within seconds: Double = 60) async throws -> TaskInfo {
        try await withThrowingTaskGroup(of: TaskInfo?.self) { group in
            group.addTask { try await task.completion() }
            group.addTask { try await Task.sleep(for: .seconds(seconds)); return nil }
            let first = try await group.next()!
            group.cancelAll()
            guard let info = first else { throw VCenterFault(type: "Timeout", message: "\(task.ref) not done after \(seconds) s: \(task.info)") }
            return info
        }
    }

    static func newDatastore(_ inventory: Inventory) throws -> DatastoreInfo {
        try #require(inventory.datastores.first { $0.name.hasPrefix("new") })
    }

    @Test func relocationsCompleteAndAreReported() async throws {
        // Every VM goes to one datastore: room for all of them (the test vCenter refuses a copy that does not fit).
        let (server, vc, inventory) = try await Self.connect(.init(clusters: 2, hosts: 4, vms: 20, datastoreCapacityGB: 100_000, speed: 20_000, progressSteps: 2))
        defer { server.stop() }
        let target = try Self.newDatastore(inventory)
        let vms = Array(inventory.vms.prefix(40))
        try await server.resetStats()
        let tasks = try await withThrowingTaskGroup(of: LiveTask.self) { group in
            for vm in vms { group.addTask { try await vc.relocateVM(vm.ref, spec: RelocateSpec(datastore: target.ref), priority: .defaultPriority) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var infos: [TaskInfo] = []
        for task in tasks { infos.append(try await Self.finish(task)) }
        let stats = try await server.stats(includeTasks: false)
        let fresh = try await vc.refreshVMs(vms.map(\.ref))
        await vc.close()

        for info in infos {
            #expect(info.state == .success, "\(info)")
            #expect(info.name == "RelocateVM_Task" && info.descriptionId == "VirtualMachine.relocate")
            // (startTime is not checked: the test vCenter sometimes leaves it unset for tasks that were queued.)
            #expect(info.entity != nil && info.queueTime != nil && info.completeTime != nil, "\(info)")
        }
        #expect(fresh.allSatisfy { $0.datastores == [target.ref] })
        // Monitoring: a handful of calls for forty tasks, never one per task.
        let monitoring = ["WaitForUpdatesEx", "ModifyListView", "CreatePropertyCollector", "CreateListView", "CreateFilter", "RetrievePropertiesEx"]
            .reduce(0) { $0 + stats.calls($1) }
        #expect(monitoring <= 20, "\(stats.soapCalls)")
        #expect(stats.calls("RelocateVM_Task") == 40)
    }

    @Test func thousandConcurrentTasksAreAllObservedCheaply() async throws {
        let (server, vc, inventory) = try await Self.connect(.init(
            clusters: 10, hosts: 8, vms: 100, datastores: "legacy:8,new:8", speed: 50_000, progressSteps: 1))
        defer { server.stop() }
        let targets = inventory.datastores.filter { $0.name.hasPrefix("new") }
        try await server.resetStats()
        let tasks = try await withThrowingTaskGroup(of: LiveTask.self) { group in
            for (i, vm) in inventory.vms.enumerated() {
                group.addTask {
                    try await vc.relocateVM(vm.ref, spec: RelocateSpec(datastore: targets[i % targets.count].ref), priority: .defaultPriority)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(tasks.count == 1000)
        let infos = try await withThrowingTaskGroup(of: TaskInfo.self) { group in
            for task in tasks { group.addTask { try await Self.finish(task, within: 120) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let stats = try await server.stats(includeTasks: false)
        let counters = vc.pollerCounters
        await vc.close()
        #expect(infos.filter { $0.state == .success }.count == 1000)
        let monitoring = ["WaitForUpdatesEx", "ModifyListView", "CreatePropertyCollector", "CreateListView", "CreateFilter", "RetrievePropertiesEx", "CancelWaitForUpdates"]
            .reduce(0) { $0 + stats.calls($1) }
        print("1,000 relocations: \(monitoring) monitoring calls (\(stats.soapCalls.filter { !$0.key.hasPrefix("Relocate") }.mapValues(\.calls))), poller \(counters)")
        #expect(Double(monitoring) / 1000 <= 0.25, "monitoring calls \(monitoring): \(stats.soapCalls) poller \(counters)")
    }

    @Test func aFailedTaskCarriesItsFault() async throws {
        let (server, vc, inventory) = try await Self.connect(.init(clusters: 1, hosts: 2, vms: 3, speed: 20_000))
        defer { server.stop() }
        let vm = inventory.vms[0]
        try await server.injectFault(.failTask(vm: vm.name, fault: "FileLocked", message: "Unable to access file [legacy-01] \(vm.name)/\(vm.name).vmdk since it is locked"))
        let task = try await vc.relocateVM(vm.ref, spec: RelocateSpec(datastore: try Self.newDatastore(inventory).ref), priority: .highPriority)
        let info = try await Self.finish(task)
        await vc.close()
        #expect(info.state == .error)
        #expect(info.error?.type == "FileLocked", "\(info)")
        #expect(info.error?.message.contains("locked") == true, "\(info)")
    }

    @Test func cancelEndsARunningTask() async throws {
        let (server, vc, inventory) = try await Self.connect(.init(clusters: 1, hosts: 2, vms: 3, speed: 1))
        defer { server.stop() }
        let task = try await vc.relocateVM(inventory.vms[0].ref, spec: RelocateSpec(datastore: try Self.newDatastore(inventory).ref), priority: .defaultPriority)
        try await vc.cancelTask(task.ref)
        let info = try await Self.finish(task)
        await vc.close()
        #expect(info.state == .error)
        #expect(info.error?.type == "RequestCanceled", "\(info)")
    }

    @Test func progressIsReadByTimeAndNeverWakesTheWait() async throws {
        // Two 6-second copies with 50 progress steps each; progress read every 2 s.
        let (server, vc, inventory) = try await Self.connect(
            .init(clusters: 1, hosts: 2, vms: 4, speed: 200, progressSteps: 50, minTaskSeconds: 1200)) { config in
            config.pollerProgressSeconds = 2
            config.pollerPaceSeconds = 0.05
        }
        defer { server.stop() }
        let target = try Self.newDatastore(inventory)
        try await server.resetStats()
        var tasks: [LiveTask] = []
        for vm in inventory.vms.prefix(2) {
            tasks.append(try await vc.relocateVM(vm.ref, spec: RelocateSpec(datastore: target.ref), priority: .defaultPriority))
        }
        // Progress shows while the copies run (read by the periodic reconcile)...
        var seen: Set<Int> = []
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while !tasks.allSatisfy(\.isDone) && clock.now < deadline {
            for task in tasks { if let p = task.info.progress, p > 0, p < 100, task.info.state == .running { seen.insert(p) } }
            try await Task.sleep(for: .milliseconds(100))
        }
        var infos: [TaskInfo] = []
        for task in tasks { infos.append(try await Self.finish(task)) }
        let stats = try await server.stats(includeTasks: false)
        await vc.close()
        #expect(!seen.isEmpty, "no progress between 0 and 100 was seen while the tasks ran")
        #expect(infos.allSatisfy { $0.state == .success && $0.progress == 100 }, "\(infos)")
        // ...but never wakes the long poll: 100 progress changes cost a few waits, not one each.
        #expect(stats.calls("WaitForUpdatesEx") <= 10, "\(stats.soapCalls)")
        #expect(stats.calls("RetrievePropertiesEx") >= 2, "\(stats.soapCalls)")
    }

    @Test func terminatedSessionMidWaitLosesNoTask() async throws {
        // Slow enough that the tasks are still running when the session dies.
        let (server, vc, inventory) = try await Self.connect(.init(clusters: 2, hosts: 4, vms: 10, speed: 200, progressSteps: 1, minTaskSeconds: 3600))
        defer { server.stop() }
        let target = try Self.newDatastore(inventory)
        var tasks: [LiveTask] = []
        for vm in inventory.vms.prefix(8) {
            tasks.append(try await vc.relocateVM(vm.ref, spec: RelocateSpec(datastore: target.ref), priority: .defaultPriority))
        }
        // The session dies while the poller waits on its collector (the tasks take 18 s; they
        // must still be running then, and 6 s was once not enough under load for the poller to
        // reach its wait first). Real time: the test vCenter runs on its own clock.
        #expect(try await PollerFixtureTests.until(within: 10) { vc.poller.phase == .waiting })
        #expect(tasks.allSatisfy { !$0.isDone })
        try await server.terminateSessions()
        for task in tasks {
            let info = try await Self.finish(task, within: 90)
            #expect(info.state == .success, "\(info)")
        }
        let counters = vc.pollerCounters
        await vc.close()
        #expect(counters.rebuilds >= 2, "\(counters)")
    }

    @Test func existingTasksInvokeAndRecentTasks() async throws {
        let (server, vc, inventory) = try await Self.connect(.init(clusters: 1, hosts: 2, vms: 4, speed: 20_000))
        defer { server.stop() }
        let target = try Self.newDatastore(inventory)
        // invoke: a method without a binding; its task comes back live.
        let result = try await vc.invoke("RelocateVM_Task", on: inventory.vms[1].ref, arguments: [
            .init("spec", .object(type: "VirtualMachineRelocateSpec", fields: [.init("datastore", .moRef(target.ref))])),
        ])
        guard case .task(let invoked) = result else { Issue.record("expected a task, got \(result)"); return }
        let info = try await Self.finish(invoked)
        #expect(info.state == .success, "\(info)")
        // The same task by reference is the same live object.
        let again = try await vc.task(invoked.ref)
        #expect(again === invoked)
        // recentTask lists it, for the VM and for the whole vCenter.
        let forVM = try await vc.recentTasks(TaskQuery(entity: inventory.vms[1].ref))
        #expect(forVM.contains { $0.ref == invoked.ref && $0.state == .success }, "\(forVM)")
        let all = try await vc.recentTasks(TaskQuery(states: [.success]))
        #expect(all.contains { $0.ref == invoked.ref })
        // A task that does not exist is a clear fault.
        await #expect(throws: VCenterFault.self) { _ = try await vc.task(MoRef("Task", "task-999999")) }
        // A plain value comes back as a value.
        let time = try await vc.invoke("CurrentTime", on: MoRef("ServiceInstance", "ServiceInstance"), arguments: [])
        guard case .value(.string(let text)) = time else { Issue.record("expected a value, got \(time)"); return }
        #expect(text.hasPrefix("20"))
        await vc.close()
    }

    @Test func snapshotsAndConsolidation() async throws {
        let (server, vc, inventory) = try await Self.connect(.init(clusters: 1, hosts: 2, vms: 6, snapshotFraction: 1, consolidateFraction: 1, speed: 20_000))
        defer { server.stop() }
        let vm = try #require(inventory.vms.first { $0.snapshots.count >= 1 })
        await #expect(throws: VCenterFault.self) {
            _ = try await vc.removeSnapshot(vm.ref, .named("no-such-snapshot"), removeChildren: false, consolidate: true)
        }
        let first = try #require(vm.snapshots.last)
        let removed = try await Self.finish(try await vc.removeSnapshot(vm.ref, .named(first.name), removeChildren: false, consolidate: true))
        #expect(removed.state == .success, "\(removed)")
        let all = try await Self.finish(try await vc.removeSnapshot(vm.ref, .all, removeChildren: true, consolidate: true))
        #expect(all.state == .success, "\(all)")
        let consolidated = try await Self.finish(try await vc.consolidateDisks(vm.ref))
        #expect(consolidated.state == .success, "\(consolidated)")
        let fresh = try #require(try await vc.refreshVMs([vm.ref]).first)
        await vc.close()
        #expect(fresh.snapshots.isEmpty)
        #expect(!fresh.consolidationNeeded)
    }
}
