import Foundation
import Logging
import Locking
import Testing
import VCenterModel
import VimXML
@testable import VSphereSOAP

/// The poller against scripted answers in the form a real vCenter sends: whole `info`
/// and partial `info.*` changes, `LocalizedMethodFault` errors, MoRef results.
@Suite struct PollerFixtureTests {
    @Test func taskInfoDecoding() throws {
        let (_, pieces) = try SOAPResponseParser.parse(Fixtures.bytes("wait-for-updates.xml"), granularity: .returnValueMembers)
        #expect(pieces.map(\.name) == ["version", "filterSet", "truncated"])
        let objectSets = pieces[1].children("objectSet")
        let failedVal = try #require(objectSets[0].path("changeSet", "val"))
        let failed = try #require(TaskDecoding.info(failedVal))
        #expect(failed.ref == MoRef("Task", "task-501"))
        #expect(failed.name == "RelocateVM_Task" && failed.descriptionId == "VirtualMachine.relocate")
        #expect(failed.entity == MoRef("VirtualMachine", "vm-101") && failed.entityName == "db-01")
        #expect(failed.state == .error)
        #expect(failed.error == VCenterFault(type: "FileLocked", message: "Unable to access file [legacy-01] db-01/db-01.vmdk since it is locked"))
        #expect(failed.queueTime == Date(timeIntervalSince1970: 1_709_544_000.5))
        #expect(failed.completeTime == Date(timeIntervalSince1970: 1_709_544_060))

        var partial = TaskInfo(ref: MoRef("Task", "task-502"), name: "RelocateVM_Task", state: .queued)
        for change in objectSets[1].children("changeSet") {
            TaskDecoding.apply(path: change.child("name")!.text, value: change.child("val"), to: &partial)
        }
        #expect(partial.state == .running && partial.progress == 42)

        let doneVal = try #require(objectSets[2].path("changeSet", "val"))
        let done = try #require(TaskDecoding.info(doneVal))
        #expect(done.name == "CreateSnapshot_Task" && done.descriptionId == nil)
        #expect(done.result == .moRef(MoRef("VirtualMachineSnapshot", "snapshot-77")))
    }

    /// The fake vCenter's answers every poller test shares: session, task-starting calls (ids
    /// counted from `tasks`), the private collector, its list view and filter, and calls whose
    /// answer does not matter; any other method is a `MethodNotFound` fault.
    static func sessionAndCollector(_ request: FakeSOAPServer.Request, tasks: borrowing Locked<Int>) -> FakeSOAPServer.Response {
        switch request.method {
        case "RetrieveServiceContent": return .fixture("service-content.xml")
        case "Login": return .fixture("login.xml", headers: [FakeServerTests.cookieHeader])
        case "RelocateVM_Task", "CreateSnapshot_Task":
            let id = tasks.withLock { n -> Int in n += 1; return n }
            return .soap(request.method, #"<returnval type="Task">task-\#(id)</returnval>"#)
        case "CreatePropertyCollector": return .soap(request.method, #"<returnval type="PropertyCollector">session[1]pc-1</returnval>"#)
        case "CreateListView": return .soap(request.method, #"<returnval type="ListView">session[1]lv-1</returnval>"#)
        case "CreateFilter": return .soap(request.method, #"<returnval type="PropertyFilter">session[1]f-1</returnval>"#)
        case "ModifyListView", "DestroyPropertyCollector", "DestroyView", "Logout", "CancelWaitForUpdates": return .soap(request.method)
        default: return .fault("MethodNotFound", request.method)
        }
    }

    /// A wait that is never empty: after 0.2 s, a progress change of `task` (version counted by `waits`).
    /// Real time on purpose: these tests drive the poller's shell on its own clock (its rules
    /// are tested on virtual time in TaskPollerStateMachineTests), and 0.2 s is the server's
    /// rate of updates that the shell paces against — not a wait for an event.
    static func progressWait(_ waits: borrowing Locked<Int>, task: String) -> FakeSOAPServer.Response {
        let n = waits.withLock { n -> Int in n += 1; return n }
        Thread.sleep(forTimeInterval: 0.2)
        return .soap("WaitForUpdatesEx", #"<returnval><version>v\#(n)</version><filterSet><filter type="PropertyFilter">session[1]f-1</filter><objectSet><kind>modify</kind><obj type="Task">\#(task)</obj><changeSet><name>info.progress</name><op>assign</op><val xsi:type="xsd:int">\#(n % 100)</val></changeSet></objectSet></filterSet><truncated>false</truncated></returnval>"#)
    }

    @Test func pollerAppliesWholeAndPartialUpdates() async throws {
        let waits = Locked(0)
        let started = Locked(500)
        let server = try FakeSOAPServer { request in
            switch request.method {
            case "RetrievePropertiesEx": return .soap(request.method)
            case "WaitForUpdatesEx":
                let n = waits.withLock { n -> Int in n += 1; return n }
                if n == 1 { return .fixture("wait-for-updates.xml") }
                if n == 2 {
                    // Task 502 finishes in a later update.
                    return .soap("WaitForUpdatesEx", #"<returnval><version>1_3</version><filterSet><filter type="PropertyFilter">session[1]f-1</filter><objectSet><kind>modify</kind><obj type="Task">task-502</obj><changeSet><name>info.state</name><op>assign</op><val xsi:type="TaskInfoState">success</val></changeSet><changeSet><name>info.progress</name><op>assign</op><val xsi:type="xsd:int">100</val></changeSet></objectSet></filterSet><truncated>false</truncated></returnval>"#)
                }
                return .emptyWait(request)
            default: return Self.sessionAndCollector(request, tasks: started)
            }
        }
        defer { server.stop() }
        var config = try ConnectionConfig(url: server.url, username: "admin", password: "pw")
        config.keepAliveInterval = 0
        config.pollerMaxWaitSeconds = 1
        config.pollerCoalesceSeconds = 0
        // New tasks join the view at the next cycle (not in a batch up to 3 s later, which a
        // task this quick would never need): the check below that every task joined holds.
        config.pollerAddIntervalSeconds = 0
        let vc = try await SOAPVCenter.connect(config: config, logger: Logger(label: "test.poller"))
        let vm = MoRef("VirtualMachine", "vm-101")
        let t501 = try await vc.relocateVM(vm, spec: RelocateSpec(datastore: MoRef("Datastore", "datastore-12")), priority: .lowPriority)
        let t502 = try await vc.relocateVM(MoRef("VirtualMachine", "vm-102"), spec: RelocateSpec(host: MoRef("HostSystem", "host-22")), priority: .highPriority)
        guard case .task(let t503) = try await vc.invoke("CreateSnapshot_Task", on: vm, arguments: [
            .init("name", .string("before <upgrade> & more")), .init("memory", .bool(false)), .init("quiesce", .bool(true)),
        ]) else { Issue.record("expected a task"); return }

        let i501 = try await LiveTaskTests.finish(t501, within: 20)
        let i502 = try await LiveTaskTests.finish(t502, within: 20)
        let i503 = try await LiveTaskTests.finish(t503, within: 20)
        await vc.close()

        #expect(i501.state == .error && i501.error?.type == "FileLocked")
        #expect(i502.state == .success && i502.progress == 100)
        #expect(i503.state == .success && i503.result == .moRef(MoRef("VirtualMachineSnapshot", "snapshot-77")))

        // The requests as vim25 wants them.
        let bodies = server.requests
        let relocate = try #require(bodies.first { $0.method == "RelocateVM_Task" }).body
        #expect(relocate.contains(#"<_this type="VirtualMachine">vm-101</_this><spec><datastore type="Datastore">datastore-12</datastore></spec><priority>lowPriority</priority>"#))
        let snapshot = try #require(bodies.first { $0.method == "CreateSnapshot_Task" }).body
        #expect(snapshot.contains("<name>before &lt;upgrade&gt; &amp; more</name><memory>false</memory><quiesce>true</quiesce>"))
        let filter = try #require(bodies.first { $0.method == "CreateFilter" }).body
        // By default progress stays out of the filter (read every 10 s by a reconcile).
        #expect(filter.contains(#"<propSet><type>Task</type><all>false</all><pathSet>info.state</pathSet><pathSet>info.error</pathSet><pathSet>info.result</pathSet>"#))
        #expect(!filter.contains("info.progress") && !filter.contains("<pathSet>info</pathSet>"))
        #expect(filter.contains(#"<selectSet xsi:type="TraversalSpec"><name>traverse</name><type>ListView</type><path>view</path>"#))
        let firstWait = try #require(bodies.first { $0.method == "WaitForUpdatesEx" }).body
        #expect(firstWait.contains("<options><maxWaitSeconds>1</maxWaitSeconds></options>"))
        #expect(!firstWait.contains("<version>"))
        let secondWait = bodies.filter { $0.method == "WaitForUpdatesEx" }[1].body
        #expect(secondWait.contains("<version>1_2</version>"))
        // Every task is in the view, whether it came with CreateListView or ModifyListView.
        let inView = bodies.filter { $0.method == "CreateListView" || $0.method == "ModifyListView" }.map(\.body).joined()
        for id in ["task-501", "task-502", "task-503"] { #expect(inView.contains(">\(id)<"), "\(id)") }
    }

    /// A whole `TaskInfo` of a relocation in `state` (as `RetrievePropertiesEx` or an update carries it).
    static func taskInfo(_ id: String, _ state: String, vm: String) -> String {
        #"<val xsi:type="TaskInfo"><key>\#(id)</key><task type="Task">\#(id)</task><name>RelocateVM_Task</name><descriptionId>VirtualMachine.relocate</descriptionId><entity type="VirtualMachine">\#(vm)</entity><state>\#(state)</state><cancelled>false</cancelled><cancelable>true</cancelable><queueTime>2024-03-04T09:20:00Z</queueTime>"#
            + (state == "success" ? "<completeTime>2024-03-04T09:25:00Z</completeTime>" : "") + "</val>"
    }

    /// The waits never come back empty (another task's progress streams in) and never report
    /// task-601's end, which only a retrieval shows: the periodic reconcile must find it.
    @Test func busyWaitsStillReconcileALostCompletion() async throws {
        let waits = Locked(0)
        let retrieves = Locked(0)
        let started = Locked(600)
        let server = try FakeSOAPServer { request in
            switch request.method {
            case "RetrievePropertiesEx":
                // The first reconcile (when the collector is built) sees both running; later ones see 601 done.
                let n = retrieves.withLock { n -> Int in n += 1; return n }
                var objects = ""
                if request.body.contains(">task-601<") {
                    objects += #"<objects><obj type="Task">task-601</obj><propSet><name>info</name>"# + Self.taskInfo("task-601", n == 1 ? "running" : "success", vm: "vm-101") + "</propSet></objects>"
                }
                if request.body.contains(">task-602<") {
                    objects += #"<objects><obj type="Task">task-602</obj><propSet><name>info</name>"# + Self.taskInfo("task-602", "running", vm: "vm-102") + "</propSet></objects>"
                }
                return .soap(request.method, "<returnval>\(objects)</returnval>")
            case "WaitForUpdatesEx":
                // Never empty: task-602's progress, every 0.2 s; task-601's end is "lost".
                return Self.progressWait(waits, task: "task-602")
            default: return Self.sessionAndCollector(request, tasks: started)
            }
        }
        defer { server.stop() }
        var config = try ConnectionConfig(url: server.url, username: "admin", password: "pw")
        config.keepAliveInterval = 0
        config.pollerMaxWaitSeconds = 2
        config.pollerCoalesceSeconds = 0
        config.pollerPaceSeconds = 0
        let vc = try await SOAPVCenter.connect(config: config, logger: Logger(label: "test.poller.busy"))
        let t601 = try await vc.relocateVM(MoRef("VirtualMachine", "vm-101"), spec: RelocateSpec(datastore: MoRef("Datastore", "datastore-12")), priority: .defaultPriority)
        let t602 = try await vc.relocateVM(MoRef("VirtualMachine", "vm-102"), spec: RelocateSpec(datastore: MoRef("Datastore", "datastore-12")), priority: .defaultPriority)
        let outcome: Result<TaskInfo, any Error>
        do {
            outcome = .success(try await LiveTaskTests.finish(t601, within: 30))
        } catch {
            outcome = .failure(error)
        }
        let counters = vc.pollerCounters
        await vc.close()

        let info = try outcome.get()
        #expect(info.state == .success && info.name == "RelocateVM_Task")
        #expect(!t602.isDone)
        // Found by a reconcile while every wait brought updates.
        #expect(counters.emptyWaits == 0, "\(counters)")
        #expect(counters.reconciles >= 2, "\(counters)")
        // At least one wait came back with updates before the reconcile found the end. The
        // count of waits is the machine's pace, not this rule: it read 2 in two of five suite
        // runs in a row (a stalled process early in the run), where it had read ≥ 3 before.
        // The rule itself is timed on virtual time in TaskPollerStateMachineTests.
        #expect(counters.waits >= 1, "\(counters)")
    }

    /// With batched adds, a task started while another is watched joins the view when its
    /// batch is due — it is not dropped because it was not due at a cycle's start.
    @Test func aTaskTrackedBeforeItsBatchIsDueStillJoinsTheView() async throws {
        let started = Locked(700)
        let waits = Locked(0)
        let server = try FakeSOAPServer { request in
            switch request.method {
            case "RetrievePropertiesEx": return .soap(request.method)
            case "WaitForUpdatesEx":
                // task-701's progress every 0.2 s: the poller cycles without ever going idle.
                return Self.progressWait(waits, task: "task-701")
            default: return Self.sessionAndCollector(request, tasks: started)
            }
        }
        defer { server.stop() }
        var config = try ConnectionConfig(url: server.url, username: "admin", password: "pw")
        config.keepAliveInterval = 0
        config.pollerMaxWaitSeconds = 2
        config.pollerCoalesceSeconds = 0
        config.pollerPaceSeconds = 0
        config.pollerAddIntervalSeconds = 0.8
        let vc = try await SOAPVCenter.connect(config: config, logger: Logger(label: "test.poller.adds"))
        _ = try await vc.relocateVM(MoRef("VirtualMachine", "vm-101"), spec: RelocateSpec(datastore: MoRef("Datastore", "datastore-12")), priority: .defaultPriority)
        // task-702 must come while task-701 is watched (not join with it in the rebuild):
        // once the first wait has begun.
        try await Self.until(within: 10) { server.methods.contains("WaitForUpdatesEx") }
        _ = try await vc.relocateVM(MoRef("VirtualMachine", "vm-102"), spec: RelocateSpec(datastore: MoRef("Datastore", "datastore-12")), priority: .defaultPriority)
        func joined() -> Bool {
            server.requests.contains { ($0.method == "ModifyListView" || $0.method == "CreateListView") && $0.body.contains(">task-702<") }
        }
        try await Self.until(within: 10) { joined() }
        await vc.close()
        #expect(joined(), "task-702 never joined the view: \(server.methods.filter { $0 != "WaitForUpdatesEx" })")
    }

    @Test func keepAliveCallsCurrentTimeWhileIdle() async throws {
        let server = try FakeSOAPServer { request in
            switch request.method {
            case "RetrieveServiceContent": return .fixture("service-content.xml")
            case "Login": return .fixture("login.xml", headers: [FakeServerTests.cookieHeader])
            case "CurrentTime": return .soap("CurrentTime", "<returnval>2024-03-04T09:20:00Z</returnval>")
            default: return .soap(request.method)
            }
        }
        defer { server.stop() }
        var config = try ConnectionConfig(url: server.url, username: "admin", password: "pw")
        config.keepAliveInterval = 0.3
        let clock = ContinuousClock()
        let start = clock.now
        let vc = try await SOAPVCenter.connect(config: config, logger: Logger(label: "test.keepalive"))
        // The keep-alive runs on the session's real clock (it is not the poller's, whose rules
        // are tested on virtual time): wait for its second call, not for a fixed time.
        let keepAlives = { server.methods.filter { $0 == "CurrentTime" }.count }
        let seen = try await Self.until(within: 10) { keepAlives() >= 2 }
        let elapsed = clock.now - start
        await vc.close()
        #expect(seen, "\(server.methods)")
        // Two calls an idle interval (0.3 s) apart at least: the loop does not spin. Load can
        // only make this longer.
        #expect(elapsed >= .seconds(0.6), "\(elapsed): \(server.methods)")
        #expect(server.methods.last == "Logout")
    }

    /// Polls `condition` every 20 ms until it holds or `seconds` pass; whether it held. For
    /// events that happen on real time (the fake server's answers, a real session's loop).
    @discardableResult
    static func until(within seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        while !condition() {
            if clock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// The shell performs the machine's `cancelWait`: a `ModifyListView` that fails during a
    /// wait cancels it (`CancelWaitForUpdates`), and the collector is rebuilt with every
    /// pending task — the one whose add failed included.
    @Test func aViewChangeThatFailsDuringAWaitCancelsItAndRebuilds() async throws {
        let started = Locked(800)
        let waits = Locked(0)
        let server = try FakeSOAPServer { request in
            switch request.method {
            case "RetrievePropertiesEx": return .soap(request.method)
            case "ModifyListView": return .fault("ManagedObjectNotFound", "The object has already been deleted or has not been completely created")
            case "WaitForUpdatesEx":
                let n = waits.withLock { n -> Int in n += 1; return n }
                if n == 1 {
                    // The first wait lasts until it is cancelled, as a real long poll does:
                    // the CancelWaitForUpdates ends the hold (10 s bounds a cancel that never
                    // comes; the test then fails on the order of the calls).
                    return .held(.fault("RequestCanceled", "The task was canceled by a user."), upTo: 10)
                }
                return .emptyWait(request)
            default: return Self.sessionAndCollector(request, tasks: started)
            }
        }
        defer { server.stop() }
        var config = try ConnectionConfig(url: server.url, username: "admin", password: "pw")
        config.keepAliveInterval = 0
        config.pollerMaxWaitSeconds = 5
        config.pollerAddIntervalSeconds = 0.2
        let vc = try await SOAPVCenter.connect(config: config, logger: Logger(label: "test.poller.cancel"))
        _ = try await vc.relocateVM(MoRef("VirtualMachine", "vm-101"), spec: RelocateSpec(datastore: MoRef("Datastore", "datastore-12")), priority: .defaultPriority)
        try await Self.until(within: 10) { server.methods.contains("WaitForUpdatesEx") }
        _ = try await vc.relocateVM(MoRef("VirtualMachine", "vm-102"), spec: RelocateSpec(datastore: MoRef("Datastore", "datastore-12")), priority: .defaultPriority)
        func rebuiltWithBoth() -> Bool {
            server.requests.filter { $0.method == "CreateListView" }.dropFirst().contains { $0.body.contains(">task-801<") && $0.body.contains(">task-802<") }
        }
        // The second rebuild's requests reach the server before it completes: wait for both.
        let rebuilt = try await Self.until(within: 20) { rebuiltWithBoth() && vc.poller.counters.rebuilds >= 2 }
        let counters = vc.poller.counters
        await vc.close()
        #expect(rebuilt, "\(server.methods)")
        let methods = server.methods
        let modify = try #require(methods.firstIndex(of: "ModifyListView"))
        let cancel = try #require(methods.firstIndex(of: "CancelWaitForUpdates"), "\(methods)")
        let secondCollector = try #require(methods.indices.filter { methods[$0] == "CreatePropertyCollector" }.dropFirst().first, "\(methods)")
        #expect(modify < cancel && cancel < secondCollector, "\(methods)")
        #expect(counters.errors == 1 && counters.rebuilds == 2, "\(counters)")
    }
}
