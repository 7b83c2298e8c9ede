import Foundation
import LuaBindings
import LuaHost
import Testing
import VCenterModel
import VCenterSimulator

/// What a strategy selects VMs by (folder, custom attributes, guest OS), the checked `power`
/// filter, and the "did you mean" of unknown fields and filters (issue 13, point 5).
@Suite(.timeLimit(.minutes(2))) struct VMSelectionBindingTests {
    static let spec = "clusters=2,hosts=3,vms=24,datastores=2,off=0.3,folders=prod|prod/db|test,attr.wave=1|2,attr.owner=fin,"
        + "guests=windows2019srv_64Guest|rhel9_64Guest"

    @Test func vmFieldsForFolderAttributesAndGuestOS() async throws {
        let sim = try smallSimulator(spec: Self.spec)
        let vm = try #require(sim.inventorySnapshot.vms.first { $0.folderPath == "/dc-sim/vm/prod/db" })
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local conn = require("moonmotion").connect()
            local vm = conn:vm("\(vm.name)")
            local a = vm.attributes
            a.wave = "changed"  -- a copy: the inventory keeps its value
            return vm.folder, vm.attributes.wave, vm.attributes.owner, vm.guest_os, vm.guest_id, type(vm.attributes)
            """)
        #expect(values == [.string("/dc-sim/vm/prod/db"), .string(vm.customAttributes["wave"]!), "fin",
                           .string(vm.guestOS!), .string(vm.guestId!), "table"])
        await h.shutdown()
    }

    @Test func filtersByFolderAttributeAndGuestOS() async throws {
        let sim = try smallSimulator(spec: Self.spec)
        let vms = sim.inventorySnapshot.vms
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local conn = require("moonmotion").connect()
            return #conn:vms{folder = "/dc-sim/vm/prod/*"}, #conn:vms{folder = "/dc-sim/vm/prod"},
                   #conn:vms{attribute = {wave = "1"}}, #conn:vms{attribute = {wave = 2, owner = "f*"}},
                   #conn:vms{attribute = {missing = "*"}}, #conn:vms{guest_os = "*Windows*"},
                   #conn:vms{guest_os = "rhel*", folder = "/dc-sim/vm/test"}
            """)
        let prodTree = vms.filter { $0.folderPath == "/dc-sim/vm/prod" || $0.folderPath == "/dc-sim/vm/prod/db" }
        let expected: [Int] = [
            prodTree.count, vms.filter { $0.folderPath == "/dc-sim/vm/prod" }.count,
            vms.filter { $0.customAttributes["wave"] == "1" }.count, vms.filter { $0.customAttributes["wave"] == "2" }.count,
            0, vms.filter { $0.guestOS?.contains("Windows") == true }.count,
            vms.filter { $0.guestId == "rhel9_64Guest" && $0.folderPath == "/dc-sim/vm/test" }.count,
        ]
        #expect(values == expected.map { .integer($0) })
        #expect(expected[0] > expected[1] && expected[1] > 0 && expected[2] > 0 && expected[5] > 0 && expected[6] > 0)
        await h.shutdown()
    }

    @Test func powerFilterAcceptsEverySpellingAndRejectsUnknownStates() async throws {
        let sim = try smallSimulator(spec: Self.spec)
        let off = sim.inventorySnapshot.vms.filter { $0.powerState == "poweredOff" }.count
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local conn = require("moonmotion").connect()
            local ok, err = pcall(function() return conn:vms{power = "down"} end)
            local ok2, err2 = pcall(function() return conn:vms{power = "x*"} end)
            return #conn:vms{power = "poweredOff"}, #conn:vms{power = "PoweredOff"}, #conn:vms{power = "off"},
                   #conn:vms{power = "OFF"}, #conn:vms{power = "powered*"}, ok, err, ok2
            """)
        #expect(off > 0)
        #expect(Array(values.prefix(4)) == Array(repeating: .integer(off), count: 4))
        #expect(values[4] == .integer(sim.inventorySnapshot.vms.count))
        #expect(values[5] == false && values[7] == false)
        let message = values[6].stringValue ?? ""
        #expect(message.contains("unknown power state 'down'") && message.contains("poweredOff") && message.contains("\"off\""), "\(message)")
        await h.shutdown()
    }

    @Test func unknownFieldsAndFiltersSuggestTheRightName() async throws {
        let sim = try smallSimulator(spec: Self.spec)
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local conn = require("moonmotion").connect()
            local vm = conn:vms()[1]
            local function err(f) local ok, e = pcall(f); return ok and "no error" or e end
            return err(function() return vm.size end), err(function() return vm.powerState end),
                   err(function() return vm.comitted end), err(function() return vm.host.in_maintenance_mode end),
                   err(function() return vm.datastores[1].free_space end), err(function() return conn:vms{power_state = "on"} end),
                   err(function() return conn:vms{atribute = {}} end), err(function() return vm.xyzzy end)
            """)
        let m = values.map { $0.stringValue ?? "" }
        #expect(m[0].contains("has no field or method 'size' (did you mean 'committed'?)"), "\(m[0])")
        #expect(m[1].contains("(did you mean 'power'?)"), "\(m[1])")
        #expect(m[2].contains("(did you mean 'committed'?)"), "\(m[2])")
        #expect(m[3].contains("(did you mean 'maintenance'?)"), "\(m[3])")
        #expect(m[4].contains("(did you mean 'free'?)"), "\(m[4])")
        #expect(m[5].contains("unknown filter 'power_state' (did you mean 'power'?)"), "\(m[5])")
        #expect(m[6].contains("(did you mean 'attribute'?)"), "\(m[6])")
        #expect(m[7].contains("no field or method 'xyzzy'") && !m[7].contains("did you mean"), "\(m[7])")
        await h.shutdown()
    }

    static let tagSpec = "clusters=2,hosts=3,vms=24,datastores=2,tag.migration-wave=wave-1|wave-2|wave-3,tag.team=fin"

    @Test func vmTagsReadAsCategoryTagStringsAndByCategory() async throws {
        let sim = try smallSimulator(spec: Self.tagSpec)
        let vm = try #require(sim.inventorySnapshot.vms.first)
        #expect(vm.tags?.map(\.description) == ["migration-wave:wave-1", "team:fin"])
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local conn = require("moonmotion").connect()
            local vm = conn:vm("\(vm.name)")
            local t = vm.tags
            t[1] = "changed"  -- a copy: the inventory keeps its tags
            return #vm.tags, vm.tags[1], vm.tags[2], vm.tag["migration-wave"], vm.tag.team, vm.tag.missing, conn:inventory().tags_unread
            """)
        #expect(values == [2, "migration-wave:wave-1", "team:fin", "wave-1", "fin", .nil, .nil])
        await h.shutdown()
    }

    @Test func filtersByTag() async throws {
        let sim = try smallSimulator(spec: Self.tagSpec)
        let vms = sim.inventorySnapshot.vms
        func count(_ wave: String) -> Int { vms.filter { $0.tags?.contains(VMTag(category: "migration-wave", name: wave)) == true }.count }
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local conn = require("moonmotion").connect()
            local function err(f) local ok, e = pcall(f); return ok and "no error" or e end
            return #conn:vms{tag = "migration-wave:wave-1"}, #conn:vms{tag = "migration-wave:wave-*"},
                   #conn:vms{tag = {"migration-wave:wave-1", "migration-wave:wave-3"}},
                   #conn:vms{tag = {["migration-wave"] = "wave-2", team = "fin"}}, #conn:vms{tag = {team = "hr"}},
                   #conn:vms{tag = "*:wave-3"}, #conn:vms{tag = "migration-wave:wave-9"}, #conn:vms{tag = {}},
                   err(function() return conn:vms{tag = "wave-1"} end), err(function() return conn:vms{tags = "a:b"} end),
                   err(function() return conn:vm("\(vms[0].name)").labels end)
            """)
        #expect(Array(values.prefix(8)) == [count("wave-1"), vms.count, count("wave-1") + count("wave-3"), count("wave-2"), 0, count("wave-3"), 0, vms.count]
            .map { .integer($0) })
        #expect(count("wave-1") > 0 && count("wave-2") > 0 && count("wave-1") < vms.count)
        let m = values.suffix(3).map { $0.stringValue ?? "" }
        #expect(m[0].contains("'wave-1' names no category") && m[0].contains("migration-wave:wave-1"), "\(m[0])")
        #expect(m[1].contains("unknown filter 'tags' (did you mean 'tag'?)"), "\(m[1])")
        #expect(m[2].contains("(did you mean 'tags'?)"), "\(m[2])")
        await h.shutdown()
    }

    /// Tags that were not read are nil — not an empty list that reads as "no tags" — and a
    /// filter on them is an error saying why, never a silently empty wave.
    @Test func unreadTagsAreNilAndTheirFilterSaysWhy() async throws {
        let generated = try smallSimulator(spec: Self.tagSpec).inventorySnapshot
        func withoutTags(_ why: String?) throws -> SimulatedVCenter {
            var vms = generated.vms
            for i in vms.indices { vms[i].tags = nil }
            var inventory = Inventory(about: generated.about, datacenters: generated.datacenters, clusters: generated.clusters, hosts: generated.hosts,
                                      datastores: generated.datastores, vms: vms, resourcePools: generated.resourcePools)
            inventory.tagsUnread = why
            return try SimulatedVCenter(inventory: inventory)
        }
        let why = "tags were not read: the vCenter's Automation REST API (/rest) is not there (HTTP 404)"
        for (sim, expected) in [(try withoutTags(why), why), (try withoutTags(nil), "this inventory has none")] {
            let h = try BindingsHarness(backend: sim)
            let values = try await h.run("""
                local conn = require("moonmotion").connect()
                local vm = conn:vms()[1]
                local ok, e = pcall(function() return conn:vms{tag = "migration-wave:wave-1"} end)
                return vm.tags, vm.tag, conn:inventory().tags_unread, ok, e, #conn:vms{name = "*"}
                """)
            #expect(values[0] == .nil && values[1] == .nil && values[3] == false)
            #expect(values[2].stringValue?.contains(expected) == true, "\(values[2])")
            #expect(values[4].stringValue?.contains("filter 'tag': tags were not read") == true && values[4].stringValue?.contains(expected) == true, "\(values[4])")
            #expect(values[5] == .integer(generated.vms.count))
            await h.shutdown()
        }
    }
}
