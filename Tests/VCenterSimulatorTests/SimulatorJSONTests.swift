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

    /// `inventory --json` writes the document in pieces; the pieces are `jsonData()`'s bytes,
    /// for VMs with every kind of file, snapshots, folders, attributes and guests, and for an
    /// inventory without VMs.
    @Test func writtenInPiecesIsTheWholeDocument() throws {
        let spec = "clusters=2,hosts=3,vms=120,disks=1-4,flash=1,rdm=0.1,vrdm=0.1,iso=0.2,pods=1,snapshots=0.3,consolidate=0.1,"
            + "off=0.2,folders=prod|prod/db|test,attr.wave=1|2|3,attr.owner=fin|hr,guests=windows2019srv_64Guest|rhel9_64Guest,seed=7"
        let full = try InventoryGenerator.generate(try GenerateSpec(parsing: spec), referenceDate: Fixtures.start)
        let none = try InventoryGenerator.generate(try GenerateSpec(parsing: "clusters=1,hosts=2,vms=0"), referenceDate: Fixtures.start)
        for inv in [full, none] {
            var pieces: [Data] = []
            try inv.writeJSON(chunk: 4096) { pieces.append($0) }
            #expect(pieces.reduce(Data(), +) == (try inv.jsonData()))
            if !inv.vms.isEmpty {
                #expect(pieces.count > 10)
                #expect(pieces.dropLast().allSatisfy { $0.count >= 4096 && $0.count < 4096 + 8192 })
            }
        }
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
