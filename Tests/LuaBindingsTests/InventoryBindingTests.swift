import Foundation
import LuaBindings
import LuaHost
import Testing
import VCenterModel
import VCenterSimulator

/// Inventory objects, filters and lookups against the in-process simulator.
@Suite(.timeLimit(.minutes(2))) struct InventoryBindingTests {
    @Test func filtersWithGlobsMatchTheInventory() async throws {
        let sim = try smallSimulator()
        let inventory = sim.inventorySnapshot
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local all = conn:vms()
            local c1 = conn:vms{cluster = "cluster-1"}
            local legacy1 = conn:vms{datastore = "legacy-01"}
            local byName = conn:vms{name = "app-c2-*"}
            local both = conn:vms{cluster = "cluster-2", name = "*[13]"}
            local hosts = conn:hosts{cluster = "cluster-1"}
            local ds = conn:datastores{name = "new-*"}
            return #all, #c1, #legacy1, #byName, #both, #hosts, #ds, #conn:clusters(), conn.simulated, conn.url
            """)
        let vms = inventory.vms
        let c1 = inventory.cluster(named: "cluster-1")!.ref
        let c2 = inventory.cluster(named: "cluster-2")!.ref
        let legacy1 = inventory.datastores.filter { $0.name == "legacy-01" }.map(\.ref)
        #expect(values[0] == .integer(vms.count))
        #expect(values[1] == .integer(vms.filter { $0.cluster == c1 }.count))
        #expect(values[2] == .integer(vms.filter { $0.datastores.contains(where: legacy1.contains) }.count))
        #expect(values[3] == .integer(vms.filter { $0.name.hasPrefix("app-c2-") }.count))
        #expect(values[4] == .integer(vms.filter { $0.cluster == c2 && "13".contains($0.name.last!) }.count))
        #expect(values[5] == 3)
        #expect(values[6] == .integer(inventory.datastores.filter { $0.name.hasPrefix("new-") }.count))
        #expect(values[7] == 2)
        #expect(values[8] == true)
        #expect(values[9] == "simulated")
        #expect(values[1] != 0 && values[3] != 0 && values[4] != 0)
        await h.shutdown()
    }

    @Test func vmFieldsAndCrossLinks() async throws {
        let sim = try smallSimulator()
        let inventory = sim.inventorySnapshot
        let vm = inventory.vms.first { $0.hasSnapshots }!
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vm = conn:vm("\(vm.name)")
            assert(conn:vm("\(vm.ref.value)") == vm, "lookup by moref gives the same object")
            assert(vm.host == conn:host(vm.host.name), "cross-links are the same objects")
            assert(vm.cluster == vm.host.cluster)
            local names = {}
            for _, ds in ipairs(vm.datastores) do names[#names + 1] = ds.name end
            local hostvms = 0
            for _, v in ipairs(vm.host:vms()) do if v == vm then hostvms = hostvms + 1 end end
            return vm.name, vm.id, vm.moref, vm.committed, math.type(vm.committed), vm.power, #vm.snapshots,
                   vm.snapshots[1].name, vm.consolidation_needed, table.concat(names, ","), hostvms, tostring(vm),
                   conn:vm("no-such-vm") == nil, vm.memory_mb, vm.template
            """)
        #expect(values[0] == .string(vm.name))
        #expect(values[1] == .string(vm.ref.value))
        #expect(values[2] == .string("VirtualMachine:\(vm.ref.value)"))
        #expect(values[3] == .integer(Int(vm.committedBytes)))
        #expect(values[4] == "integer")
        #expect(values[5] == .string(vm.powerState))
        #expect(values[6] == .integer(vm.snapshots.count))
        #expect(values[7] == .string(vm.snapshots[0].name))
        #expect(values[8] == .boolean(vm.consolidationNeeded))
        #expect(values[9] == .string(vm.datastores.map { inventory.datastore($0)!.name }.joined(separator: ",")))
        #expect(values[10] == 1)
        let hostName = inventory.host(vm.host!)!.name
        #expect(values[11].stringValue?.hasPrefix("VM \(vm.name) (\(vm.ref.value)) on \(hostName), ") == true, "\(values[11])")
        #expect(values[12] == true)
        #expect(values[13] == .integer(vm.memoryMB))
        #expect(values[14] == false)
        await h.shutdown()
    }

    @Test func inventoryViewIsCallableAndIndexable() async throws {
        let sim = try smallSimulator()
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local inv = mm.connect():inventory()
            local n = 0
            for i = 1, #inv.vms do if inv.vms[i].cluster.name == "cluster-1" then n = n + 1 end end
            local ok, err = pcall(function() return inv.vms{cluster = "x"} end)
            return #inv.vms, n, #inv:vms{cluster = "cluster-1"}, #inv.hosts, #inv:hosts{name = "esx-c1-*"},
                   inv:cluster("cluster-2").name, tostring(inv), ok, err
            """)
        #expect(values[0] == 24)
        #expect(values[1] == values[2])
        #expect(values[3] == 6)
        #expect(values[4] == 3)
        #expect(values[5] == "cluster-2")
        #expect(values[6] == "Inventory: 2 clusters, 6 hosts, 8 datastores, 24 VMs")
        #expect(values[7] == false)
        #expect(values[8].stringValue?.contains("with a colon") == true, "\(values[8])")
        await h.shutdown()
    }

    @Test func typeConfusionIsALuaErrorNotACrash() async throws {
        let sim = try smallSimulator()
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vm = conn:vms()[1]
            local host = vm.host
            local results = {}
            local function try(f) local ok, err = pcall(f); results[#results + 1] = ok and "ok" or err end
            try(function() return vm.refresh(host) end)
            try(function() return conn.vms(vm) end)
            try(function() return conn:vms{clustr = "x"} end)
            try(function() return conn:vms{cluster = vm} end)
            try(function() return vm.no_such_field end)
            try(function() vm.name = "x" end)
            try(function() return mm.wait_all({vm}) end)
            return table.unpack(results)
            """)
        let messages = values.compactMap(\.stringValue)
        #expect(messages.count == 7)
        #expect(messages[0].contains("bad argument #1 to 'refresh' (moonmotion.VM expected, got moonmotion.Host)"), "\(messages[0])")
        #expect(messages[1].contains("moonmotion.Connection expected, got moonmotion.VM"), "\(messages[1])")
        #expect(messages[2].contains("unknown filter 'clustr'"), "\(messages[2])")
        #expect(messages[3].contains("must be a name pattern or a Cluster, not moonmotion.VM"), "\(messages[3])")
        #expect(messages[4].contains("has no field or method 'no_such_field'"), "\(messages[4])")
        #expect(messages[5].contains("read-only"), "\(messages[5])")
        #expect(messages[6].contains("not a moonmotion.Task"), "\(messages[6])")
        await h.shutdown()
    }
}
