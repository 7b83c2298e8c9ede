import Foundation
import LuaBindings
import LuaHost
import Testing
import TestSupport
import VCenterModel
import VSphereSOAP

/// The Lua API against the test vCenter (scripts/vcsim): connection, inventory, and live tasks
/// watched by the one poller.
@Suite(.timeLimit(.minutes(5))) struct LiveTaskBindingTests {
    @Test func connectListsAndFiltersTheTestVCenter() async throws {
        let (server, h) = try await SOAPHarness.start(.init(clusters: 2, hosts: 3, vms: 5, datastores: "legacy:2,new:2", snapshotFraction: 0.5))
        defer { server.stop() }
        try await server.resetStats()
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local about = conn:about()
            local c1 = conn:vms{cluster = "cluster-1"}
            local onLegacy1 = conn:vms{datastore = "legacy-01"}
            local named = conn:vms{name = "vm-c2-*"}
            local vm = conn:vm("vm-c1-0002")
            local ds = conn:datastore("new-01")
            assert(vm.host.cluster == conn:cluster("cluster-1"))
            assert(#conn:hosts{cluster = vm.cluster} == 3)
            return about.api_type, #conn:vms(), #c1, #onLegacy1 > 0, #named, vm.name, vm.committed > 0,
                   math.type(ds.capacity), ds.free <= ds.capacity, #ds.hosts, conn.simulated, conn.url
            """)
        let stats = try await server.stats(includeTasks: false)
        await h.shutdown()
        #expect(values[0] == "VirtualCenter")
        #expect(values[1] == 10)
        #expect(values[2] == 5)
        #expect(values[3] == true)
        #expect(values[4] == 5)
        #expect(values[5] == "vm-c1-0002")
        #expect(values[6] == true)
        #expect(values[7] == "integer")
        #expect(values[8] == true)
        #expect(values[9] == 6)
        #expect(values[10] == false)
        #expect(values[11].stringValue?.hasPrefix("http://") == true)
        // The inventory was read once for all those calls: one retrieval per object type, the
        // VM view's members and the custom attribute names.
        #expect(stats.calls("RetrievePropertiesEx") == 6, "\(stats.soapCalls)")
    }

    @Test func httpsWithAPinnedThumbprint() async throws {
        let server = try await TestVCenter.start(.init(clusters: 1, hosts: 1, vms: 2, tls: true))
        defer { server.stop() }
        let h = try BindingsHarness(connect: SOAPHarness.connector(server))
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect{thumbprint = "\(server.thumbprintSHA256)"}
            local n = #conn:vms()
            local bad, err = pcall(mm.connect, {thumbprint = "\(String(repeating: "AB:", count: 31))AB"})
            return conn.url, n, bad, err
            """)
        await h.shutdown()
        #expect(values[0].stringValue?.hasPrefix("https://") == true)
        #expect(values[1] == 2)
        #expect(values[2] == false)
        #expect(values[3].stringValue?.contains("TLS") == true || values[3].stringValue?.contains("humbprint") == true, "\(values[3])")
    }

    @Test func thousandTasksFromThousandCoroutines() async throws {
        let (server, h) = try await SOAPHarness.start(.init(
            clusters: 10, hosts: 8, vms: 100, datastores: "legacy:8,new:8", speed: 50_000, progressSteps: 1))
        defer { server.stop() }
        // Read the inventory first, so what follows counts only starting and watching tasks.
        _ = try await h.run("""
            local mm = require "moonmotion"
            conn = mm.connect()
            assert(#conn:vms() == 1000)
            """)
        try await server.resetStats()
        let values = try await h.run("""
            local mm = require "moonmotion"
            local targets = conn:datastores{name = "new-*"}
            local ok, failed, tasks = 0, 0, {}
            local handles = {}
            for i, vm in ipairs(conn:vms()) do
              handles[i] = mm.spawn(function()
                local t = conn:moveVM(vm, {datastore = targets[i % #targets + 1]}, {async = true})
                tasks[#tasks + 1] = t
                local done, err = t:wait{timeout = 120}
                if done then ok = ok + 1 else failed = failed + 1 end
              end)
            end
            for _, handle in ipairs(handles) do handle:wait() end
            local all, bad = mm.wait_all(tasks, {timeout = 1})
            return ok, failed, #tasks, all, #bad
            """)
        let stats = try await server.stats(includeTasks: false)
        await h.shutdown()
        #expect(values == [1000, 0, 1000, true, 0])
        #expect(stats.calls("RelocateVM_Task") == 1000)
        let monitoring = SOAPHarness.monitoringCalls(stats)
        print("Lua, 1,000 relocations from 1,000 coroutines: \(monitoring) monitoring calls \(stats.soapCalls.mapValues(\.calls))")
        #expect(Double(monitoring) / 1000 <= 0.25, "\(stats.soapCalls)")
    }

    @Test func aFailedTaskWaitsFalseWithItsFault() async throws {
        let (server, h) = try await SOAPHarness.start(.init(clusters: 1, hosts: 2, vms: 3, speed: 20_000))
        defer { server.stop() }
        try await server.injectFault(.failTask(vm: "vm-c1-0001", fault: "FileLocked", message: "Unable to access file vm-c1-0001.vmdk since it is locked"))
        try await server.injectFault(.failTask(vm: "vm-c1-0002", fault: "FileLocked", message: "locked again"))
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local t = conn:moveVM("vm-c1-0001", {datastore = "new-01"}, {async = true})
            local ok, err = t:wait{timeout = 30}
            -- the synchronous form raises
            local raised, message = pcall(conn.moveVM, conn, "vm-c1-0002", {datastore = "new-01"})
            -- a plain success, synchronous: the finished task
            local done = conn:moveVM(conn:vm("vm-c1-0003"), {datastore = conn:datastore("new-01")})
            return ok, err.type, err.message, t.state, t.error.type, t.done, raised, message, done.state, done.progress
            """)
        await h.shutdown()
        #expect(values[0] == false)
        #expect(values[1] == "FileLocked")
        #expect(values[2].stringValue?.contains("locked") == true, "\(values[2])")
        #expect(values[3] == "error")
        #expect(values[4] == "FileLocked")
        #expect(values[5] == true)
        #expect(values[6] == false)
        #expect(values[7].stringValue?.contains("failed: FileLocked: locked again") == true, "\(values[7])")
        #expect(values[8] == "success")
        #expect(values[9] == 100)
    }

    @Test func cancelAndTimeout() async throws {
        let (server, h) = try await SOAPHarness.start(.init(clusters: 1, hosts: 2, vms: 3, speed: 1, minTaskSeconds: 600))
        defer { server.stop() }
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local t = conn:moveVM("vm-c1-0001", {datastore = "new-01"}, {async = true})
            local started = mm.now()
            local ok, err = t:wait{timeout = 0.3}
            local waited = mm.now() - started
            local stillRunning = not t.done
            local cancelled = t:cancel()
            local ok2, err2 = t:wait{timeout = 30}
            local again, againErr = t:cancel()
            return ok, err.type, waited, stillRunning, cancelled, ok2, err2.type, t.state, again, againErr and againErr.type
            """)
        await h.shutdown()
        #expect(values[0] == false)
        #expect(values[1] == "Timeout")
        let waited = try #require(values[2].doubleValue)
        // At least the timeout; far less than the task's 600 s (a wait that ignored its timeout
        // would last that long), with room for a loaded machine.
        #expect(waited >= 0.29 && waited < 60, "\(waited)")
        #expect(values[3] == true)
        #expect(values[4] == true)
        #expect(values[5] == false)
        #expect(values[6] == "RequestCanceled")
        #expect(values[7] == "error")
        #expect(values[8] == false)
        #expect(values[9] == "InvalidState")
    }

    @Test func sessionTerminatedMidWaitEveryTaskStillCompletes() async throws {
        // Speed 1: the tasks take 1,200 real seconds unless sped up below, so the sessions are
        // surely ended while they run, however late this test gets to it on a loaded machine.
        let (server, h) = try await SOAPHarness.start(.init(clusters: 2, hosts: 4, vms: 10, speed: 1, progressSteps: 1, minTaskSeconds: 1200))
        defer { server.stop() }
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("mm-waiting-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: marker) }
        let run = Task {
            try await h.run("""
                local mm = require "moonmotion"
                local conn = mm.connect()
                local tasks = {}
                for i, vm in ipairs(conn:vms{cluster = "cluster-1"}) do
                  tasks[i] = conn:moveVM(vm, {datastore = "new-01"}, {async = true})
                end
                local f = assert(io.open("\(marker.path)", "w")) f:write("waiting") f:close()
                local ok, failed = mm.wait_all(tasks, {timeout = 120})
                local states = {}
                for _, t in ipairs(tasks) do states[t.state] = (states[t.state] or 0) + 1 end
                return ok, #failed, #tasks, states.success
                """)
        }
        // Every session is killed once the script has started its tasks and is about to wait
        // (its marker file): the wait for an observed event, at most 60 s (a bound on a stuck
        // script). Then the tasks are sped up to end in a few seconds, each reported to the
        // waiting script through the poller's new session.
        let start = Date()
        while !FileManager.default.fileExists(atPath: marker.path), Date().timeIntervalSince(start) < 60 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(FileManager.default.fileExists(atPath: marker.path), "the script did not start its tasks")
        #expect(try await server.stats(includeTasks: false).taskCounts["success"] == nil, "a task ended before the sessions did")
        try await server.terminateSessions()
        try await server.setConfig(.init(speed: 400))
        let values = try await run.value
        await h.shutdown()
        #expect(values == [true, 0, 10, 10])
    }

    @Test func severalCoroutinesWaitOnOneTaskAndOnDoneRunsOnce() async throws {
        let (server, h) = try await SOAPHarness.start(.init(clusters: 1, hosts: 2, vms: 3, speed: 1000, minTaskSeconds: 500))
        defer { server.stop() }
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local t = conn:moveVM("vm-c1-0001", {datastore = "new-02"}, {async = true})
            local resumed, callbacks = 0, 0
            t:on_done(function(task) assert(task == t); callbacks = callbacks + 1 end)
            local handles = {}
            for i = 1, 5 do
              handles[i] = mm.spawn(function()
                local ok = t:wait{timeout = 30}
                if ok then resumed = resumed + 1 end
              end)
            end
            local first = mm.wait_any({t}, {timeout = 30})
            for _, h in ipairs(handles) do h:wait() end
            mm.sleep(0.05)
            return resumed, callbacks, first == t, t.progress, tostring(t)
            """)
        await h.shutdown()
        #expect(Array(values.prefix(4)) == [5, 1, true, 100])
        #expect(values[4].stringValue?.hasPrefix("Task task-") == true && values[4].stringValue?.contains("on vm-c1-0001: success") == true, "\(values[4])")
    }

    @Test func getTaskWrapsATaskStartedElsewhere() async throws {
        // The foreign task lasts 10 real seconds so that it still runs when the script reads it
        // (1 s was too short once: a suite run whose process stalled saw it already succeeded).
        let (server, h) = try await SOAPHarness.start(.init(clusters: 1, hosts: 2, vms: 3, speed: 1000, minTaskSeconds: 10_000))
        defer { server.stop() }
        let other = try await SOAPHarness.rawClient(server)
        let inventory = try await other.inventory()
        let target = try #require(inventory.datastores.first { $0.name == "new-01" })
        let vm = try #require(inventory.vm(named: "vm-c1-0002"))
        let foreign = try await other.relocateVM(vm.ref, spec: RelocateSpec(datastore: target.ref), priority: .defaultPriority)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local t = conn:getTask("\(foreign.ref.value)")
            local same = conn:getTask("Task:\(foreign.ref.value)") == t
            local stateBefore = t.state
            local ok, err = t:wait{timeout = 30}
            local recent = conn:tasks{entity = "vm-c1-0002"}
            local found = false
            for _, r in ipairs(recent) do if r.id == t.id then found = true end end
            return t.id, same, stateBefore, ok, t.entity_name, t.name, found, #conn:tasks{state = "running"}
            """)
        await other.close()
        await h.shutdown()
        #expect(values[0] == .string(foreign.ref.value))
        #expect(values[1] == true)
        #expect(values[2] == "running" || values[2] == "queued")
        #expect(values[3] == true)
        #expect(values[4] == "vm-c1-0002")
        #expect(values[5] == "RelocateVM_Task")
        #expect(values[6] == true)
        #expect(values[7] == 0)
    }

    @Test func invokeReturnsALiveTaskOrAValue() async throws {
        let (server, h) = try await SOAPHarness.start(.init(clusters: 1, hosts: 2, vms: 3, speed: 20_000))
        defer { server.stop() }
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vm, ds = conn:vm("vm-c1-0003"), conn:datastore("new-02")
            local t = conn:invoke(vm, "RelocateVM_Task", {
              spec = {_type = "VirtualMachineRelocateSpec", datastore = ds},
              priority = "defaultPriority", _order = {"spec", "priority"}})
            local ok = t:wait{timeout = 30}
            vm:refresh()
            local now = conn:invoke("ServiceInstance:ServiceInstance", "CurrentTime")
            local bad, err = pcall(conn.invoke, conn, vm, "NoSuchMethod_Task")
            return tostring(t):match("^Task"), ok, vm.datastores[1].name, type(now), bad, err
            """)
        await h.shutdown()
        #expect(values[0] == "Task")
        #expect(values[1] == true)
        #expect(values[2] == "new-02")
        #expect(values[3] == "string")
        #expect(values[4] == false)
        #expect(values[5].stringValue?.isEmpty == false)
    }
}
