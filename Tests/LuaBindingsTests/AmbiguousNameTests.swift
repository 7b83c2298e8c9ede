import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// Names several objects share (VM names repeat across folders and datacenters): a lookup
/// that wants one object raises an error naming them all, never picks the first one.
@Suite(.timeLimit(.minutes(2))) struct AmbiguousNameTests {
    /// A generated inventory where the second cluster's first VM is named like the first
    /// cluster's, and a host, a datastore and a cluster share names the same way.
    static func duplicated(_ spec: String = "clusters=2,hosts=2,vms=8,datastores=2") throws -> (SimulatedVCenter, Inventory) {
        let base = try InventoryGenerator.generate(try GenerateSpec(parsing: spec), referenceDate: Date())
        var vms = base.vms, hosts = base.hosts, datastores = base.datastores, clusters = base.clusters
        let c2 = clusters[1].ref
        let second = try #require(vms.firstIndex { $0.cluster == c2 })
        vms[second].name = vms[0].name
        let otherHost = try #require(hosts.firstIndex { $0.cluster == c2 })
        hosts[otherHost].name = hosts[0].name
        let newDatastores = datastores.indices.filter { datastores[$0].name.hasPrefix("new-") }
        try #require(newDatastores.count >= 2)
        datastores[newDatastores[1]].name = datastores[newDatastores[0]].name
        clusters[1].name = clusters[0].name
        let inventory = Inventory(about: base.about, datacenters: base.datacenters, clusters: clusters, hosts: hosts, datastores: datastores, vms: vms)
        var config = SimulatorConfiguration()
        config.clock = .virtual
        return (try SimulatedVCenter(inventory: inventory, configuration: config), inventory)
    }

    @Test func inventoryLookupsRefuseToGuess() throws {
        let (_, inventory) = try Self.duplicated()
        let name = inventory.vms[0].name
        #expect(inventory.vms(named: name).count == 2)
        do {
            _ = try inventory.uniqueVM(named: name)
            Issue.record("a shared name should be ambiguous")
        } catch {
            let refs = inventory.vms(named: name).map(\.ref.value)
            #expect(error.description == "ambiguous VM name '\(name)': \(refs.joined(separator: ", ")) (use the moref or a userdata)")
        }
        let single = try #require(inventory.vms.first { inventory.vms(named: $0.name).count == 1 })
        #expect(try inventory.uniqueVM(named: single.name)?.ref == single.ref)
        #expect(try inventory.uniqueVM(named: "no-such-vm") == nil)
        // Renaming one of them away makes the name unique again.
        var renamed = inventory
        var vm = inventory.vms(named: name)[1]
        vm.name = "renamed"
        renamed.update(vm)
        #expect(try renamed.uniqueVM(named: name)?.ref == inventory.vms[0].ref)
        #expect(renamed.vm(named: "renamed")?.ref == vm.ref)
    }

    @Test func luaLookupsRaiseAClearError() async throws {
        let (sim, inventory) = try Self.duplicated()
        let vmName = inventory.vms[0].name
        let refs = inventory.vms(named: vmName).map(\.ref.value)
        let host = inventory.hosts[0].name
        let datastore = try #require(inventory.datastores.first { $0.name.hasPrefix("new-") }).name
        let cluster = inventory.clusters[0].name
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local function err(f, ...) local ok, e = pcall(f, ...) assert(not ok, "no error") return e end
            return err(function() return conn:vm("\(vmName)") end), err(conn.host, conn, "\(host)"),
                   err(conn.datastore, conn, "\(datastore)"), err(conn.cluster, conn, "\(cluster)"),
                   err(function() local inv = conn:inventory() return inv:vm("\(vmName)") end),
                   #conn:vms{name = "\(vmName)"}, conn:vm("\(refs[0])").id, conn:vm("\(refs[0])").name,
                   err(function() return conn:moveVM("\(vmName)", { datastore = conn:datastores()[1] }) end)
            """)
        #expect(values[0] == .string("test:4: ambiguous VM name '\(vmName)': \(refs.joined(separator: ", ")) (use the moref or a userdata)"))
        #expect(values[1].stringValue?.contains("ambiguous host name '\(host)': host-") == true, "\(values[1])")
        #expect(values[2].stringValue?.contains("ambiguous datastore name '\(datastore)': ") == true, "\(values[2])")
        #expect(values[3].stringValue?.contains("ambiguous cluster name '\(cluster)': ") == true, "\(values[3])")
        #expect(values[4].stringValue?.contains("ambiguous VM name '\(vmName)'") == true, "\(values[4])")
        #expect(values[5] == 2)  // a listing returns every match
        #expect(values[6] == .string(refs[0]) && values[7] == .string(vmName), "\(values)")
        #expect(values[8].stringValue?.contains("ambiguous VM name '\(vmName)'") == true, "\(values[8])")
        #expect(sim.stats.tasks.isEmpty)
        await h.shutdown()
    }

    @Test func strategyJobsAndTargetsRefuseSharedNames() async throws {
        let (sim, inventory) = try Self.duplicated()
        let vmName = inventory.vms[0].name
        do {
            let harness = try StrategyHarness(simulator: sim)
            defer { harness.shutdown() }
            let strategy = try await harness.strategy(source: """
                return { select = function(inv) return { { vm = "\(vmName)", datastore = "new-*" } } end }
                """)
            do {
                _ = try await harness.run(strategy)
                Issue.record("the run should not start")
            } catch {
                let message = String(describing: error)
                #expect(message.contains("bad job #1: vm = '\(vmName)': ambiguous VM name '\(vmName)'"), "\(message)")
            }
            #expect(sim.stats.tasks.isEmpty)
        }
        let (sim2, inventory2) = try Self.duplicated()
        let shared = try #require(inventory2.datastores.first { $0.name.hasPrefix("new-") }).name
        // A VM of the first cluster, whose hosts mount both datastores of that shared name.
        let unique = try #require(inventory2.vms.first { $0.cluster == inventory2.clusters[0].ref && inventory2.vms(named: $0.name).count == 1 }).name
        let harness = try StrategyHarness(simulator: sim2)
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            return { select = function(inv) return { { vm = "\(unique)", datastore = "new-*" } } end,
                     target = function(job, candidates) return "\(shared)" end }
            """)
        let outcome = try await harness.run(strategy)
        let error = outcome.summary.failed.first?.lastError ?? ""
        #expect(error.contains("returned '\(shared)', but several candidates have that name"), "\(error)")
        #expect(sim2.stats.tasks.isEmpty)
    }
}
