import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// Generated VMs have real files: a home and disks, placed and sized as the spec's file keys ask.
@Suite struct GeneratedFilesTests {
    static func generate(_ text: String) throws -> Inventory { try InventoryGeneratorTests.generate(text) }

    /// Every VM's committed bytes are its files' sum, and every datastore's used space is the sum
    /// of the files on it.
    static func expectConsistent(_ inv: Inventory, sourceLocation: SourceLocation = #_sourceLocation) {
        var used: [MoRef: Int64] = [:]
        for vm in inv.vms {
            #expect(vm.committedBytes == vm.files.reduce(0) { $0 + $1.bytes }, "\(vm.name)", sourceLocation: sourceLocation)
            for f in vm.files { used[f.datastore!, default: 0] += f.bytes }
            var copy = vm
            copy.recomputeDatastores()
            #expect(copy.datastores == vm.datastores, "\(vm.name)", sourceLocation: sourceLocation)
        }
        for ds in inv.datastores {
            #expect(ds.capacityBytes - ds.freeBytes == used[ds.ref] ?? 0, "\(ds.name)", sourceLocation: sourceLocation)
            #expect(ds.freeBytes >= 0, sourceLocation: sourceLocation)
        }
    }

    @Test("by default every VM has one disk on its home datastore holding all but a small home, as sizes were before")
    func defaultsKeepTodaysShape() throws {
        let inv = try Self.generate("clusters=3,hosts=8,vms=3000")
        Self.expectConsistent(inv)
        for vm in inv.vms {
            #expect(vm.disks.count == 1)
            #expect(vm.datastores.count == 1)
            #expect(vm.configDatastore == vm.datastores.first)
            #expect(vm.disks[0].datastore == vm.configDatastore)
            #expect(vm.configBytes > 0 && vm.configBytes <= 2 * GenerateSpec.gib && vm.configBytes * 2 <= vm.committedBytes)
            #expect(vm.disks[0].backing == .flat && !vm.disks[0].isMultiWriter)
            #expect(vm.media.isEmpty && vm.faultToleranceRole == nil && !vm.isTemplate)
            #expect(vm.vmPathName == "[\(inv.datastore(vm.configDatastore!)!.name)] \(vm.name)/\(vm.name).vmx")
        }
        #expect(inv.datastoreClusters.isEmpty)
        #expect(!inv.datastores.contains { $0.name.hasPrefix("flash") })
        // Thin and thick disks about half each; the uncommitted bytes are what thin disks do not use.
        let thin = inv.vms.filter { $0.disks[0].thinProvisioned }.count
        #expect(thin > 1350 && thin < 1650)
        for vm in inv.vms {
            let d = vm.disks[0]
            #expect(vm.uncommittedBytes == (d.thinProvisioned ? d.capacityBytes - d.usedBytes : 0))
            if !d.thinProvisioned { #expect(d.capacityBytes == d.usedBytes) }
        }
        // 5% powered off, as before.
        let off = inv.vms.filter { $0.powerState == "poweredOff" }.count
        #expect(off > 100 && off < 200)
    }

    @Test("the sizes, memory, power states and snapshots do not depend on the file keys")
    func fileKeysDoNotMoveTheSizes() throws {
        let plain = try Self.generate("clusters=2,hosts=3,vms=300,seed=4")
        let files = try Self.generate("clusters=2,hosts=3,vms=300,seed=4,disks=2-5,flash=2,spread=0.8,thin=0.2,rdm=0.1,vrdm=0.1,iso=0.3,ft=0.05")
        #expect(plain.vms.map(\.committedBytes) == files.vms.map(\.committedBytes))
        #expect(plain.vms.map(\.memoryMB) == files.vms.map(\.memoryMB))
        #expect(plain.vms.map(\.powerState) == files.vms.map(\.powerState))
        #expect(plain.vms.map { $0.snapshots.count } == files.vms.map { $0.snapshots.count })
        #expect(plain.vms.reduce(0) { $0 + $1.committedBytes } == files.vms.reduce(0) { $0 + $1.committedBytes })
    }

    @Test("disks=A-B, flash=N and spread=F: counts, names and placement")
    func disksFlashAndSpread() throws {
        let inv = try Self.generate("clusters=2,hosts=4,vms=600,datastores=3,disks=2-4,flash=2,spread=0.5")
        Self.expectConsistent(inv)
        let flash = inv.datastores.filter { $0.name.hasPrefix("flash-") }
        #expect(flash.map(\.name) == ["flash-01", "flash-02", "flash-03", "flash-04"])
        #expect(inv.datastores.count == 2 * (3 + 3 + 2))
        var counts: Set<Int> = []
        var beyond = 0, elsewhere = 0, onFlash = 0
        for vm in inv.vms {
            counts.insert(vm.disks.count)
            let home = try #require(inv.datastore(vm.configDatastore!))
            #expect(home.name.hasPrefix("legacy-"))
            #expect(vm.disks[0].datastore == vm.configDatastore)
            #expect(vm.disks.map(\.key) == Array(2000..<(2000 + vm.disks.count)))
            #expect(vm.disks.map(\.label) == (1...vm.disks.count).map { "Hard disk \($0)" })
            for d in vm.disks.dropFirst() {
                beyond += 1
                let ds = try #require(inv.datastore(d.datastore!))
                // Another source of the VM's cluster, or a flash datastore; never a target.
                #expect(!ds.name.hasPrefix("new-"))
                #expect(Set(ds.hosts) == Set(home.hosts))
                if d.datastore != vm.configDatastore { elsewhere += 1 }
                if ds.name.hasPrefix("flash-") { onFlash += 1 }
            }
        }
        #expect(counts == [2, 3, 4])
        let ratio = Double(elsewhere) / Double(beyond)
        #expect(ratio > 0.45 && ratio < 0.55, "\(ratio)")
        // 2 flash among 4 other choices (2 other sources, 2 flash): about half of the spread disks.
        #expect(onFlash > elsewhere / 3 && onFlash < elsewhere * 2 / 3)
        #expect(inv.datastores.filter { $0.name.hasPrefix("new-") }.allSatisfy { $0.freeBytes == $0.capacityBytes })
        // With spread=0 everything is on the home datastore.
        let together = try Self.generate("clusters=1,hosts=2,vms=50,disks=3,flash=1,spread=0")
        #expect(together.vms.allSatisfy { $0.datastores == [$0.configDatastore!] })
    }

    @Test("rdm, vrdm, multiwriter, iso, templates, off and ft: fractions and shapes")
    func specialVMs() throws {
        let inv = try Self.generate("clusters=2,hosts=4,vms=2000,rdm=0.1,vrdm=0.2,multiwriter=0.05,iso=0.3,templates=0.1,off=0.2,ft=0.05,thin=1")
        Self.expectConsistent(inv)
        func count(_ f: (VMInfo) -> Bool) -> Int { inv.vms.filter(f).count }
        func near(_ n: Int, _ fraction: Double, _ what: String) {
            let expected = fraction * 2000
            #expect(abs(Double(n) - expected) < max(4 * expected.squareRoot(), 10), "\(what): \(n), expected about \(expected)")
        }
        near(count { $0.disks.contains { $0.backing == .rdmPhysical } }, 0.1, "physical RDMs")
        near(count { $0.disks.contains { $0.backing == .rdmVirtual } }, 0.2, "virtual RDMs")
        near(count { $0.disks.contains(where: \.isMultiWriter) }, 0.05, "multi-writer")
        near(count { !$0.media.isEmpty }, 0.3, "ISOs")
        near(count(\.isTemplate), 0.1, "templates")
        near(count { $0.faultToleranceRole != nil }, 0.05, "FT")
        // Powered off: templates and about 20% of the others.
        near(count { !$0.isTemplate && $0.powerState == "poweredOff" }, 0.2 * 0.9, "powered off")
        #expect(inv.vms.filter(\.isTemplate).allSatisfy { $0.powerState == "poweredOff" && $0.isCold })
        for vm in inv.vms {
            for d in vm.disks where d.backing.isRDM {
                #expect(d.usedBytes == InventoryGenerator.rdmMappingBytes)
                #expect(d.capacityBytes >= 100 * GenerateSpec.gib)
                #expect(!d.thinProvisioned)
                #expect(d.diskMode == (d.backing == .rdmPhysical ? "independent_persistent" : "persistent"))
            }
            for d in vm.disks where d.isMultiWriter { #expect(d.eagerlyScrub && !d.thinProvisioned) }
            for d in vm.disks where d.backing == .flat && !d.isMultiWriter { #expect(d.thinProvisioned) }
            for m in vm.media {
                let ds = try #require(inv.datastore(m.datastore!))
                #expect(ds.name.hasPrefix("legacy-"))
                #expect(m.fileName.hasPrefix("[\(ds.name)] iso/") && m.fileName.hasSuffix(".iso"))
                #expect(vm.datastores.contains(m.datastore!))
            }
        }
    }

    @Test("pods=1: each cluster's targets form a datastore cluster with Storage DRS on")
    func datastoreClusters() throws {
        let inv = try Self.generate("clusters=2,hosts=2,vms=40,datastores=3,pods=1")
        #expect(inv.datastoreClusters.map(\.name) == ["new-pod-cluster-1", "new-pod-cluster-2"])
        for (pod, cluster) in zip(inv.datastoreClusters, inv.clusters) {
            #expect(pod.ref.type == "StoragePod" && pod.ref.value.hasPrefix("group-p"))
            #expect(pod.sdrsEnabled)
            let members = pod.datastores.compactMap { inv.datastore($0) }
            #expect(members.count == 3)
            #expect(members.allSatisfy { $0.name.hasPrefix("new-") && $0.datastoreCluster == pod.ref && Set($0.hosts) == Set(cluster.hosts) })
            #expect(pod.capacityBytes == members.reduce(0) { $0 + $1.capacityBytes })
            #expect(pod.freeBytes == members.reduce(0) { $0 + $1.freeBytes })
        }
        #expect(inv.datastores.filter { $0.name.hasPrefix("legacy-") }.allSatisfy { $0.datastoreCluster == nil })
        let shared = try Self.generate("clusters=2,hosts=2,vms=40,datastores=2,shared=true,pods=1,to=gold")
        #expect(shared.datastoreClusters.map(\.name) == ["gold-pod"])
        #expect(shared.datastoreClusters[0].datastores.count == 2)
        // The other objects keep the ids they have without pods.
        let plain = try Self.generate("clusters=2,hosts=2,vms=40,datastores=3")
        #expect(plain.vms.map(\.ref) == inv.vms.map(\.ref))
        #expect(plain.datastores.map(\.ref) == inv.datastores.map(\.ref))
    }

    @Test("same seed, same files")
    func sameSeedSameFiles() throws {
        let text = "clusters=2,hosts=2,vms=100,disks=1-3,flash=1,rdm=0.2,iso=0.2,pods=1,seed=5"
        let a = try Self.generate(text), b = try Self.generate(text)
        #expect(a.vms == b.vms)
        #expect(a.datastoreClusters == b.datastoreClusters)
        #expect(try a.jsonData() == b.jsonData())
        #expect(try Inventory(jsonData: a.jsonData()).vms == a.vms)
    }

    @Test("moving every VM off the sources copies exactly the bytes that were there, no file twice")
    func movingEverythingCopiesEachFileOnce() async throws {
        let spec = "clusters=2,hosts=3,vms=60,datastores=2,disks=1-3,flash=1,spread=0.6,thin=0.5,vrdm=0.2,iso=0.3,off=0.2,size=20GB,sigma=0.5,minsize=5GB,snapshots=0,consolidate=0,capacity=10TB"
        let sim = try SimulatedVCenter(generating: spec, configuration: Fixtures.config())
        let inv = sim.inventorySnapshot
        let sources = inv.datastores.filter { $0.name.hasPrefix("legacy-") }
        let onSources = sources.reduce(Int64(0)) { $0 + $1.capacityBytes - $1.freeBytes }
        #expect(onSources > 0)
        var tasks: [LiveTask] = []
        for vm in inv.vms {
            let cluster = try #require(inv.cluster(vm.cluster!))
            let target = try #require(inv.datastores.first { $0.name.hasPrefix("new-") && Set($0.hosts) == Set(cluster.hosts) })
            // Flash disks stay: a locator naming where they are.
            let keep = vm.disks.filter { inv.datastore($0.datastore!)!.name.hasPrefix("flash-") }
                .map { DiskLocator(diskKey: $0.key, datastore: $0.datastore!) }
            tasks.append(try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: target.ref, disks: keep), priority: .defaultPriority))
        }
        sim.advanceUntilIdle()
        #expect(tasks.allSatisfy { $0.state == .success })
        let stats = sim.stats
        let out = stats.bytesOutByDatastore
        #expect(sources.reduce(Int64(0)) { $0 + (out[$1.ref] ?? 0) } == onSources)
        #expect(stats.maxCopiesPerFile == 1)
        #expect(stats.bytesMoved == stats.fileCopies.reduce(0) { $0 + $1.bytesWritten })
        #expect(inv.datastores.filter { $0.name.hasPrefix("flash-") }.allSatisfy { out[$0.ref] == nil })
        let after = sim.inventorySnapshot
        for ds in after.datastores where ds.name.hasPrefix("legacy-") { #expect(ds.freeBytes == ds.capacityBytes, "\(ds.name)") }
        Self.expectConsistent(after)
        // ISOs stay on their sources, so VMs with one still list it.
        for vm in after.vms where !vm.media.isEmpty { #expect(vm.datastores.contains(vm.media[0].datastore!)) }
    }
}
