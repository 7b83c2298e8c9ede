import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

@Suite struct InventoryGeneratorTests {
    static let reference = Date(timeIntervalSince1970: 1_750_000_000)

    static func generate(_ text: String) throws -> Inventory {
        try InventoryGenerator.generate(try GenerateSpec(parsing: text), referenceDate: reference)
    }

    @Test func shapeNamesAndIds() throws {
        let inv = try Self.generate("clusters=3,hosts=8,vms=3000,from=legacy,to=new")
        #expect(inv.clusters.map(\.name) == ["cluster-1", "cluster-2", "cluster-3"])
        #expect(inv.hosts.count == 24)
        #expect(inv.hosts.first?.name == "esx-c1-01")
        #expect(inv.hosts.last?.name == "esx-c3-08")
        #expect(inv.datastores.count == 3 * 4 * 2)
        #expect(inv.datastore(named: "legacy-01") != nil)
        #expect(inv.datastore(named: "legacy-12") != nil)
        #expect(inv.datastore(named: "new-12") != nil)
        #expect(inv.vms.count == 3000)
        #expect(inv.clusters.allSatisfy { $0.ref.value.hasPrefix("domain-c") && $0.hosts.count == 8 })
        #expect(inv.hosts.allSatisfy { $0.ref.value.hasPrefix("host-") && $0.cluster != nil && $0.vmotionLinkSpeedMbps == 10_000 })
        #expect(inv.datastores.allSatisfy { $0.ref.value.hasPrefix("datastore-") && $0.hosts.count == 8 })
        #expect(inv.vms.allSatisfy { $0.ref.value.hasPrefix("vm-") })
        // Every id is unique across object types, as in vCenter.
        let ids = inv.clusters.map(\.ref.value) + inv.hosts.map(\.ref.value) + inv.datastores.map(\.ref.value) + inv.vms.map(\.ref.value)
        #expect(Set(ids).count == ids.count)
        #expect(MoRef(parsing: inv.vms[0].ref.value) == inv.vms[0].ref)
    }

    @Test func vmsSpreadOverHostsAndSourceDatastoresOfTheirCluster() throws {
        let inv = try Self.generate("clusters=3,hosts=8,vms=3000")
        for cluster in inv.clusters {
            let vms = inv.vms.filter { $0.cluster == cluster.ref }
            #expect(vms.count == 1000)
            let perHost = Dictionary(grouping: vms, by: { $0.host! }).mapValues(\.count)
            #expect(perHost.count == 8)
            #expect(perHost.values.allSatisfy { $0 == 125 })
            let datastores = Set(vms.flatMap(\.datastores))
            #expect(datastores.count == 4)
            for ds in datastores {
                let info = try #require(inv.datastore(ds))
                #expect(info.name.hasPrefix("legacy-"))
                #expect(Set(info.hosts) == Set(cluster.hosts))
            }
        }
    }

    @Test func freeSpaceIsConsistent() throws {
        let inv = try Self.generate("clusters=2,hosts=4,vms=400,datastores=3")
        for ds in inv.datastores {
            let used = inv.vms.filter { $0.datastores.contains(ds.ref) }.reduce(Int64(0)) { $0 + $1.committedBytes }
            #expect(ds.capacityBytes - ds.freeBytes == used)
            #expect(ds.freeBytes >= 0)
            if ds.name.hasPrefix("new-") { #expect(used == 0) }
        }
        // Default capacity: the fullest source datastore is at most 75% full.
        let fullest = inv.datastores.map { Double($0.capacityBytes - $0.freeBytes) / Double($0.capacityBytes) }.max()!
        #expect(fullest <= 0.75)
        #expect(fullest > 0.3)
    }

    @Test func sameSeedSameInventoryOtherSeedOther() throws {
        let a = try Self.generate("clusters=2,hosts=3,vms=200,seed=9")
        let b = try Self.generate("clusters=2,hosts=3,vms=200,seed=9")
        let c = try Self.generate("clusters=2,hosts=3,vms=200,seed=10")
        #expect(a.vms == b.vms)
        #expect(a.datastores == b.datastores)
        #expect(try a.jsonData() == b.jsonData())
        #expect(a.vms.map(\.committedBytes) != c.vms.map(\.committedBytes))
    }

    @Test func sizesAreHeavyTailedWithTheRequestedMean() throws {
        let inv = try Self.generate("clusters=3,hosts=8,vms=3000")
        let sizes = inv.vms.map { Double($0.committedBytes) }.sorted()
        let tib = Double(GenerateSpec.tib), gib = Double(GenerateSpec.gib)
        let total = sizes.reduce(0, +)
        // 3,000 VMs ≈ 500 TB by default.
        #expect(total / tib > 450 && total / tib < 550, "total \(total / tib) TiB")
        let mean = total / Double(sizes.count)
        let median = sizes[sizes.count / 2]
        #expect(median < mean * 0.8, "heavy tail: median \(median / gib) GiB, mean \(mean / gib) GiB")
        #expect(sizes.first! >= 5 * gib)
        #expect(sizes.last! <= 4 * tib)
        #expect(sizes.last! > 5 * mean, "a few very large VMs")
        // A different mean moves the distribution.
        let small = try Self.generate("vms=2000,size=40GB,seed=3")
        let smallMean = small.vms.reduce(0.0) { $0 + Double($1.committedBytes) } / 2000 / gib
        #expect(smallMean > 34 && smallMean < 46, "mean \(smallMean) GiB")
    }

    @Test func snapshotsAndConsolidationFractions() throws {
        let inv = try Self.generate("vms=3000,snapshots=0.1,consolidate=0.05")
        let withSnapshots = inv.vms.filter(\.hasSnapshots)
        #expect(withSnapshots.count > 240 && withSnapshots.count < 360)
        let consolidate = inv.vms.filter(\.consolidationNeeded).count
        #expect(consolidate > 100 && consolidate < 200)
        let ages = withSnapshots.flatMap(\.snapshots).compactMap(\.createTime).map { Self.reference.timeIntervalSince($0) / 86_400 }
        #expect(ages.allSatisfy { $0 >= 0 && $0 <= 60 })
        #expect(ages.max()! > 50 && ages.min()! < 10)
        // Chains: each snapshot's parent is the one before it.
        for vm in withSnapshots {
            #expect(vm.snapshots.first?.parent == nil)
            for (a, b) in zip(vm.snapshots, vm.snapshots.dropFirst()) { #expect(b.parent == a.ref) }
        }
        let none = try Self.generate("vms=500,snapshots=0,consolidate=0")
        #expect(none.vms.allSatisfy { !$0.hasSnapshots && !$0.consolidationNeeded })
    }

    @Test func sharedDatastoresAreMountedEverywhere() throws {
        let inv = try Self.generate("clusters=2,hosts=3,vms=60,datastores=2,shared=true")
        #expect(inv.datastores.map(\.name).sorted() == ["legacy-01", "legacy-02", "new-01", "new-02"])
        #expect(inv.datastores.allSatisfy { $0.hosts.count == 6 })
    }

    @Test func tooSmallCapacityIsAnError() throws {
        #expect(throws: GenerateSpecError.self) { try Self.generate("vms=1000,clusters=1,datastores=1,capacity=1TB") }
    }
}
