import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

@Suite struct SimulatorJSONTests {
    @Test func generatedInventoryRoundTripsThroughJSONIntoTheSimulator() async throws {
        let original = try InventoryGenerator.generate(try GenerateSpec(parsing: "clusters=2,hosts=3,vms=300,snapshots=0.3,consolidate=0.1,seed=4"),
                                                       referenceDate: Fixtures.start)
        let data = try original.jsonData(pretty: true)
        let decoded = try Inventory(jsonData: data)
        #expect(decoded.vms == original.vms)
        #expect(decoded.hosts == original.hosts)
        #expect(decoded.datastores == original.datastores)
        #expect(decoded.clusters == original.clusters)

        let sim = try SimulatedVCenter(inventory: decoded, configuration: Fixtures.config(), source: "inventory.json")
        #expect(sim.displayName == "simulated vCenter (inventory.json: 2 clusters, 6 hosts, 300 VMs)")
        let vm = decoded.vms[0]
        let target = try #require(decoded.datastores.first { $0.name.hasPrefix("new-") && $0.hosts.contains(vm.host!) })
        let task = try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: target.ref), priority: .defaultPriority)
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        let after = try await sim.inventory()
        #expect(after.vm(vm.ref)?.datastores == [target.ref])
        // The simulator's inventory writes back to JSON and reads again.
        let again = try Inventory(jsonData: try after.jsonData())
        #expect(again.vm(vm.ref)?.datastores == [target.ref])
        #expect(again.datastore(target.ref)?.freeBytes == target.freeBytes - vm.committedBytes)
    }

    @Test func handWrittenJSONWithNamesOnly() async throws {
        let json = """
        {"clusters":[{"name":"c1","moref":"domain-c1","hosts":["esx1","esx2"]}],
         "hosts":[{"name":"esx1","moref":"host-1","cluster":"c1"},{"name":"esx2","moref":"host-2","cluster":"c1"}],
         "datastores":[{"name":"old","moref":"datastore-1","capacity_bytes":10995116277760,"free_bytes":10000000000000,"hosts":["esx1","esx2"]},
                       {"name":"new","moref":"datastore-2","capacity_bytes":10995116277760,"free_bytes":10995116277760,"hosts":["esx1","esx2"]}],
         "vms":[{"name":"db","moref":"vm-1","host":"esx1","datastores":["old"],"committed_bytes":107374182400,"memory_mb":4096}]}
        """
        let sim = try SimulatedVCenter(inventory: try Inventory(jsonData: Data(json.utf8)), configuration: Fixtures.config())
        let task = try await sim.move("db", to: "new")
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(abs(task.seconds(\.completeTime)! - 1034) < 1e-6)
    }
}
