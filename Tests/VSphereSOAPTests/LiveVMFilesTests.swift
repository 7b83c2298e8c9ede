import Foundation
import Logging
import Testing
import TestSupport
import VCenterModel
@testable import VSphereSOAP

/// A VM's files, datastore clusters and Storage DRS against the project's test vCenter.
///
/// `disksOfATestVCenterThatGeneratesThem` needs a test vCenter that gives VMs files (`-disks`,
/// `-rdm-physical`, `-pod`, …; govmomi's simulator alone gives none); it cancels itself, saying
/// why, against one that does not. To
/// run it against another build of the server, point `VCSIM_BIN` at a copy of that binary
/// newer than this checkout's `scripts/vcsim` sources (then `build.sh` uses it as it is):
///
///     cp /path/to/other/.build-vcsim/vcsim /tmp/vcsim-disks/vcsim
///     VCSIM_BIN=/tmp/vcsim-disks/vcsim swift test --filter LiveVMFilesTests
@Suite(.timeLimit(.minutes(5))) struct LiveVMFilesTests {
    static let logger = Logger(label: "test.soap.files")

    static func connect(_ server: TestVCenter) async throws -> SOAPVCenter {
        try await SOAPVCenter.connect(config: try LiveVCenterTests.config(server), logger: Self.logger)
    }

    /// Checks every invariant of a VM's files that holds whatever the server generated.
    static func checkFiles(_ inventory: Inventory) {
        for vm in inventory.vms where vm.connectionState == "connected" {
            #expect(!vm.vmPathName.isEmpty, "\(vm.name)")
            // The home: the datastore the path names, one of the VM's own.
            let home = InventoryDecoding.datastoreName(inPath: vm.vmPathName).map(String.init)
            if let ds = vm.configDatastore {
                #expect(inventory.datastore(ds)?.name == home, "\(vm.name): \(vm.vmPathName)")
                #expect(vm.datastores.contains(ds), "\(vm.name)")
            } else {
                Issue.record("\(vm.name): home \(vm.vmPathName) not resolved among \(vm.datastores)")
            }
            for disk in vm.disks {
                #expect(disk.key >= 2000 && !disk.label.isEmpty && disk.capacityBytes > 0, "\(vm.name) \(disk)")
                if let ds = disk.datastore {
                    #expect(InventoryDecoding.datastoreName(inPath: disk.fileName).map(String.init) == inventory.datastore(ds)?.name, "\(vm.name) \(disk)")
                    #expect(vm.datastores.contains(ds), "\(vm.name) \(disk)")
                } else {
                    Issue.record("\(vm.name): disk \(disk.key) without a datastore")
                }
                if disk.backing == .flat {
                    #expect(disk.usedBytes > 0, "\(vm.name) \(disk)")
                }
            }
            for image in vm.media {
                #expect(InventoryDecoding.datastoreName(inPath: image.fileName).map(String.init) == image.datastore.flatMap { inventory.datastore($0)?.name },
                        "\(vm.name) \(image)")
            }
        }
    }

    @Test func filesOfTodaysTestVCenter() async throws {
        let server = try await TestVCenter.start(.init(clusters: 2, hosts: 2, vms: 4, datastores: "legacy:2,new:2", snapshotFraction: 0.5))
        defer { server.stop() }
        let vc = try await Self.connect(server)
        try await server.resetStats()
        let inventory = try await vc.inventory()
        let stats = try await server.stats(includeTasks: false)
        try await server.resetStats()
        let refs = inventory.vms.prefix(3).map(\.ref)
        let fresh = try await vc.refreshVMs(refs)
        let refreshStats = try await server.stats(includeTasks: false)
        await vc.close()

        #expect(inventory.vms.count == 8)
        Self.checkFiles(inventory)
        // The home is on the VM's first datastore (a legacy one).
        #expect(inventory.vms.allSatisfy { $0.configDatastore.flatMap { inventory.datastore($0)?.name.hasPrefix("legacy") } == true })
        // Still one batched retrieval per object type (the VMs' after a light read of the view's
        // members) and one of the custom attribute names; a refresh is still one call.
        #expect(stats.calls("RetrievePropertiesEx") == 6)
        #expect(refreshStats.soapCallsTotal == 1)
        #expect(fresh == Array(inventory.vms.prefix(3)))
        #expect(inventory.datastoreClusters.isEmpty)
    }

    @Test func datastoreClusterAndStorageDRS() async throws {
        let server = try await TestVCenter.start(.init(clusters: 1, hosts: 2, vms: 2, datastores: "legacy:2,new:2"))
        defer { server.stop() }
        let vc = try await Self.connect(server)
        let before = try await vc.inventory()
        let dc = try #require(before.datacenters.first).ref
        var folder: MoRef?
        try await vc.collector.retrieve([PropertySpec(type: "Datacenter", paths: ["datastoreFolder"])], of: .objects([dc])) { object in
            object.forEachProperty { _, val in folder = val.moRef }
        }
        let datastoreFolder = try #require(folder)
        // A datastore cluster of the two `new` datastores, made as an administrator would.
        guard case .value(.moRef(let pod)) = try await vc.invoke("CreateStoragePod", on: datastoreFolder, arguments: [.init("name", .string("new-pod"))]) else {
            Issue.record("CreateStoragePod returned no pod")
            return
        }
        let members = before.datastores.filter { $0.name.hasPrefix("new") }.map(\.ref).sorted()
        guard case .task(let move) = try await vc.invoke("MoveIntoFolder_Task", on: pod, arguments: [.init("list", .array(members.map(PropertyValue.moRef)))]) else {
            Issue.record("MoveIntoFolder_Task returned no task")
            return
        }
        #expect(try await LiveTaskTests.finish(move, within: 30).state == .success)

        let inventory = try await vc.inventory()
        let cluster = try #require(inventory.datastoreCluster(pod))
        #expect(cluster.name == "new-pod")
        #expect(cluster.datastores.sorted() == members)
        #expect(cluster.sdrsEnabled)
        // Every datastore, the pod's members included (govmomi's view does not enter pods).
        #expect(inventory.datastores.count == before.datastores.count)
        for ds in inventory.datastores {
            #expect(ds.datastoreCluster == (members.contains(ds.ref) ? pod : nil), "\(ds.name)")
        }

        // govmomi 0.24's RecommendDatastores answers a relocation with no recommendation (it
        // places only new disks): the request is well-formed. A test vCenter with its own Storage
        // DRS may refuse a pod it did not make (InvalidArgument); either way a vSphere answer, no
        // unreadable one. An unknown recommendation key is a fault too.
        let vm = try #require(inventory.vms.first)
        do {
            let recommendations = try await vc.recommendDatastores(vm.ref, pod: pod, spec: RelocateSpec(host: vm.host))
            #expect(recommendations.isEmpty)
        } catch let fault as VCenterFault {
            #expect(fault.type == "InvalidArgument" && fault.message.contains("storagePod"), "\(fault)")
        }
        do {
            _ = try await vc.applyStorageRecommendation("no-such-key", vm: vm.ref)
            Issue.record("an unknown recommendation key must be refused")
        } catch let fault as VCenterFault {
            #expect(fault.type != "InvalidResponse", "\(fault)")
        }
        await vc.close()
    }

    /// Flags of a test vCenter that generates VMs' files (disks on several datastores, RDMs,
    /// multi-writer disks, images, Fault Tolerance, orphans, templates, a datastore cluster).
    static let diskFlags = [
        "-disks", "1-4", "-spread", "0.6", "-disk-prefixes", "legacy,new", "-rdm-physical", "0.15", "-rdm-virtual", "0.15",
        "-multiwriter", "0.1", "-iso", "0.3", "-ft", "0.1", "-orphaned", "0.05", "-template-fraction", "0.1", "-pod", "new",
    ]

    @Test func disksOfATestVCenterThatGeneratesThem() async throws {
        let options = TestVCenter.Options(clusters: 2, hosts: 2, vms: 10, datastores: "legacy:3,new:2", snapshotFraction: 0.3, rateMBps: 1_000_000, extraArgs: Self.diskFlags)
        let server: TestVCenter
        do {
            server = try await TestVCenter.start(options)
        } catch let error as TestVCenterError {
            let why = "\(error)".split(separator: "\n").first { $0.contains("flag provided but not defined") }.map(String.init) ?? "\(error)".prefix(300).description
            try Self.skip("the test vCenter does not generate VMs' files (\(why))")
        }
        defer { server.stop() }
        let vc = try await Self.connect(server)
        let inventory = try await vc.inventory()
        guard inventory.vms.contains(where: { !$0.disks.isEmpty }) else {
            await vc.close()
            try Self.skip("the test vCenter (\(options.arguments().joined(separator: " "))) gives its VMs no disks")
        }
        Self.checkFiles(inventory)
        let disks = inventory.vms.flatMap(\.disks)
        print("LiveVMFilesTests: \(inventory.vms.count) VMs, \(disks.count) disks "
            + "(\(disks.filter(\.thinProvisioned).count) thin, \(disks.filter(\.eagerlyScrub).count) eager, "
            + "\(disks.filter { $0.backing == .rdmPhysical }.count) physical RDM, \(disks.filter { $0.backing == .rdmVirtual }.count) virtual RDM, "
            + "\(disks.filter(\.isMultiWriter).count) multi-writer, \(disks.filter(\.isIndependent).count) independent), "
            + "\(inventory.vms.flatMap(\.media).count) images, \(inventory.vms.filter { $0.faultToleranceRole != nil }.count) FT, "
            + "\(inventory.vms.filter { $0.connectionState != "connected" }.count) not connected, \(inventory.datastoreClusters.count) datastore clusters")
        #expect(disks.contains { $0.backing == .rdmPhysical } && disks.contains { $0.backing == .rdmVirtual })
        #expect(disks.contains(where: \.isMultiWriter) && disks.contains(where: \.thinProvisioned) && disks.contains(where: \.eagerlyScrub))
        #expect(inventory.vms.contains { !$0.media.isEmpty } && inventory.vms.contains { $0.faultToleranceRole == 1 })
        // Some VM keeps disks on more than one datastore.
        #expect(inventory.vms.contains { Set($0.disks.compactMap(\.datastore)).count > 1 })
        for vm in inventory.vms where vm.hasFileLayout {
            #expect(vm.configBytes > 0, "\(vm.name)")
            // Every datastore holding a file is among the VM's datastores.
            let holding = Set(vm.files.compactMap(\.datastore) + vm.media.compactMap(\.datastore))
            #expect(holding.isSubset(of: Set(vm.datastores)), "\(vm.name)")
        }
        let pod = try #require(inventory.datastoreClusters.first)
        #expect(pod.sdrsEnabled && pod.datastores.count == 2 && pod.capacityBytes > 0, "\(pod)")
        #expect(inventory.datastores.filter { $0.datastoreCluster == pod.ref }.map(\.ref).sorted() == pod.datastores.sorted())

        // A move that places each disk: the home to a `new` datastore, the first disk stays, the
        // others follow the home, converted to thin.
        let movable = inventory.vms.filter {
            $0.connectionState == "connected" && $0.faultToleranceRole == nil && $0.disks.count >= 2
                && $0.disks.allSatisfy { $0.backing == .flat && !$0.isMultiWriter } && $0.configDatastore.map { inventory.datastore($0)?.datastoreCluster == nil } == true
        }
        let vm = try #require(movable.first, "no VM with two plain disks outside the pod")
        let target = try #require(pod.datastores.first)
        let stay = vm.disks[0]
        let spec = RelocateSpec(datastore: target, disks: [DiskLocator(diskKey: stay.key, datastore: try #require(stay.datastore))]
            + vm.disks.dropFirst().map { DiskLocator(diskKey: $0.key, datastore: target, format: .thin) })
        let move = try await vc.relocateVM(vm.ref, spec: spec, priority: .defaultPriority)
        let moved = try await LiveTaskTests.finish(move, within: 60)
        #expect(moved.state == .success, "\(moved)")
        let after = try #require(try await vc.refreshVMs([vm.ref]).first)
        #expect(after.configDatastore == target)
        #expect(after.disks[0].datastore == stay.datastore && after.disks[0].format == stay.format)
        for disk in after.disks.dropFirst() {
            #expect(disk.datastore == target && disk.thinProvisioned, "\(disk)")
        }

        // Storage DRS: a recommendation for another VM into the pod, applied.
        let candidate = try #require(movable.dropFirst().first, "no second VM to place with Storage DRS")
        let recommendations = try await vc.recommendDatastores(candidate.ref, pod: pod.ref, spec: RelocateSpec())
        let best = try #require(recommendations.first, "Storage DRS recommended nothing")
        #expect(pod.datastores.contains(best.destination), "\(best)")
        #expect(best.disks.allSatisfy { pod.datastores.contains($0.datastore) }, "\(best)")
        let applied = try await vc.applyStorageRecommendation(best.key, vm: candidate.ref)
        let done = try await LiveTaskTests.finish(applied, within: 60)
        #expect(done.state == .success, "\(done)")
        let placed = try #require(try await vc.refreshVMs([candidate.ref]).first)
        #expect(placed.configDatastore == best.destination)
        #expect(placed.disks.allSatisfy { $0.datastore.map(pod.datastores.contains) == true }, "\(placed.disks)")
        await vc.close()
    }

    /// Cancels the running test (reported as skipped), printing why.
    static func skip(_ reason: String, function: String = #function) throws -> Never {
        print("LiveVMFilesTests.\(function): skipped: \(reason); point VCSIM_BIN at a build that generates them")
        try Test.cancel(Comment(rawValue: reason))
    }
}
