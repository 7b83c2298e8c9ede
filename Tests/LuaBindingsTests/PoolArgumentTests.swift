import Testing
import VCenterModel
@testable import LuaBindings

/// `pool=` of `conn:moveVM` by name: looked up in the destination host's cluster, else the VM's.
@Suite struct PoolArgumentTests {
    static let c1 = MoRef("ClusterComputeResource", "domain-c1")
    static let c2 = MoRef("ClusterComputeResource", "domain-c2")
    static let inventory = Inventory(
        clusters: [ClusterInfo(ref: c1, name: "prod"), ClusterInfo(ref: c2, name: "test")],
        hosts: [HostInfo(ref: MoRef("HostSystem", "host-1"), name: "esx-1", cluster: c1),
                HostInfo(ref: MoRef("HostSystem", "host-2"), name: "esx-2", cluster: c2)],
        datastores: [],
        vms: [VMInfo(ref: MoRef("VirtualMachine", "vm-1"), name: "db-01", host: MoRef("HostSystem", "host-1"))],
        resourcePools: [
            ResourcePoolInfo(ref: MoRef("ResourcePool", "resgroup-1"), name: "Resources", owner: c1),
            ResourcePoolInfo(ref: MoRef("ResourcePool", "resgroup-2"), name: "Resources", owner: c2),
            ResourcePoolInfo(ref: MoRef("ResourcePool", "resgroup-3"), name: "Gold", owner: c2, parent: MoRef("ResourcePool", "resgroup-2")),
            ResourcePoolInfo(ref: MoRef("ResourcePool", "resgroup-4"), name: "Gold", owner: c2, parent: MoRef("ResourcePool", "resgroup-3")),
        ])
    static let vm = MoRef("VirtualMachine", "vm-1")

    @Test func nameResolvesInTheDestinationHostsClusterElseTheVMs() throws {
        #expect(try PoolArgument("Resources").resolve(in: Self.inventory, vm: Self.vm, host: nil) == MoRef("ResourcePool", "resgroup-1"))
        #expect(try PoolArgument("Resources").resolve(in: Self.inventory, vm: Self.vm, host: MoRef("HostSystem", "host-2"))
            == MoRef("ResourcePool", "resgroup-2"))
    }

    @Test func morefsNeedNoInventory() throws {
        #expect(!PoolArgument("resgroup-12").needsInventory)
        #expect(try PoolArgument("resgroup-12").resolve(in: nil, vm: Self.vm, host: nil) == MoRef("ResourcePool", "resgroup-12"))
        #expect(try PoolArgument("ResourcePool:resgroup-7").resolve(in: nil, vm: Self.vm, host: nil) == MoRef("ResourcePool", "resgroup-7"))
        #expect(PoolArgument("Resources").needsInventory)
    }

    @Test func unknownAndAmbiguousNamesAreClearErrors() {
        #expect(throws: VCenterFault(type: "NotFound", message: "no resource pool named 'Gold' in cluster prod (its pools: Resources)")) {
            try PoolArgument("Gold").resolve(in: Self.inventory, vm: Self.vm, host: nil)
        }
        #expect(throws: VCenterFault(type: "AmbiguousName", message: "2 resource pools are named 'Gold' in cluster test: resgroup-3, resgroup-4; give the moref instead")) {
            try PoolArgument("Gold").resolve(in: Self.inventory, vm: Self.vm, host: MoRef("HostSystem", "host-2"))
        }
    }
}
