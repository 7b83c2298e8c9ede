import Foundation
@testable import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel

/// Multi-disk VMs as a strategy sees and moves them: `storage_moves` with `from`, `map`,
/// `keep_together`, `format`, `sdrs`; per-file target answers; `checks`; `min_free`.
@Suite("Strategies over real VMs (files on several datastores)")
struct FileMoveStrategyTests {
    static let gib: Int64 = 1 << 30

    /// Two hosts; esx-1 mounts everything, esx-2 only legacy-*/flash-01/pod members new-03;
    /// datastores legacy-01/02, flash-01, new-01..03 (new-01 and new-02 in datastore cluster
    /// new-pod with Storage DRS); VMs: db-01 (home + disk 1 on legacy-01, disk 2 on legacy-02,
    /// disk 3 on flash-01, an ISO on legacy-02), app-01 (everything on flash-01), web-01 on esx-2.
    static func inventory() -> Inventory {
        let cl = MoRef("ClusterComputeResource", "domain-c1")
        let h1 = MoRef("HostSystem", "host-1"), h2 = MoRef("HostSystem", "host-2")
        let pod = MoRef("StoragePod", "group-p1")
        func ds(_ name: String, hosts: [MoRef] = [h1, h2], pod: MoRef? = nil) -> DatastoreInfo {
            DatastoreInfo(ref: MoRef("Datastore", "ds-" + name), name: name, capacityBytes: 1 << 45, freeBytes: 1 << 44, hosts: hosts, datastoreCluster: pod)
        }
        let datastores = [ds("legacy-01"), ds("legacy-02"), ds("flash-01"), ds("new-01", hosts: [h1], pod: pod), ds("new-02", hosts: [h1], pod: pod), ds("new-03")]
        func r(_ name: String) -> MoRef { MoRef("Datastore", "ds-" + name) }
        func vm(_ name: String, _ id: String, host: MoRef, home: String, disks: [(String, Int64)], iso: String? = nil) -> VMInfo {
            var v = VMInfo(ref: MoRef("VirtualMachine", id), name: name, host: host, cluster: cl, memoryMB: 2048,
                           configDatastore: r(home), vmPathName: "[\(home)] \(name)/\(name).vmx", configBytes: gib,
                           disks: disks.enumerated().map { i, d in
                               VirtualDiskInfo(key: 2000 + i, label: "Hard disk \(i + 1)", fileName: "[\(d.0)] \(name)/\(name)_\(i).vmdk",
                                               datastore: r(d.0), capacityBytes: d.1 * 2, usedBytes: d.1, thinProvisioned: true)
                           })
            if let iso { v.media = [VirtualMediaInfo(key: 3000, label: "CD/DVD drive 1", fileName: "[\(iso)] iso/os.iso", datastore: r(iso))] }
            v.recomputeDatastores()
            return v
        }
        let vms = [
            vm("db-01", "vm-1", host: h1, home: "legacy-01", disks: [("legacy-01", 10 * gib), ("legacy-02", 20 * gib), ("flash-01", 30 * gib)], iso: "legacy-02"),
            vm("app-01", "vm-2", host: h1, home: "flash-01", disks: [("flash-01", 5 * gib)]),
            vm("web-01", "vm-3", host: h2, home: "legacy-01", disks: [("legacy-02", 7 * gib)]),
        ]
        return Inventory(clusters: [ClusterInfo(ref: cl, name: "cl-1", hosts: [h1, h2])],
                         hosts: [HostInfo(ref: h1, name: "esx-1", cluster: cl), HostInfo(ref: h2, name: "esx-2", cluster: cl)],
                         datastores: datastores, vms: vms,
                         datastoreClusters: [DatastoreClusterInfo(ref: pod, name: "new-pod", sdrsEnabled: true)])
    }

    static func name(_ inv: Inventory, _ refs: [MoRef]?) -> [String]? { refs.map { $0.map { inv.name(of: $0) }.sorted() } }

    func select(_ source: String) async throws -> (Inventory, [JobRequest]) {
        let harness = try StrategyHarness()
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: source)
        let inv = Self.inventory()
        let requests = try await harness.runtime.perform { _ in try strategy.select(inv) }
        return (inv, requests)
    }

    func selectError(_ source: String) async -> String {
        do {
            _ = try await select(source)
            return "(selected)"
        } catch {
            return String(describing: error)
        }
    }

    @Test("storage_moves selects VMs with a file on `from` and asks to move only those files; map, keep_together and format pass through")
    func storageMovesOptions() async throws {
        let (inv, requests) = try await select("""
            local strategy = require "moonmotion.strategy"
            return strategy.new { select = function(inv)
              return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*", keep_together = false, format = "thin",
                map = { ["legacy-02"] = "new-03" } })
            end }
            """)
        #expect(requests.map { inv.name(of: $0.vm) } == ["db-01", "web-01"])
        let move = try #require(requests.first?.kind.storage)
        #expect(Self.name(inv, move.sources) == ["legacy-01", "legacy-02"])
        #expect(Self.name(inv, move.targets) == ["new-01", "new-02", "new-03"])
        #expect(move.map.map { inv.name(of: $0.source) } == ["legacy-02"] && Self.name(inv, move.map.first?.targets) == ["new-03"])
        #expect(move.keepTogether == false && move.format == .thin && move.storageDRS == nil)
        // The host mounts only new-03: its VM's targets are narrowed to it.
        #expect(Self.name(inv, requests[1].kind.storage?.targets) == ["new-03"])
        let db = inv.vm(named: "db-01")!
        #expect(move.movingFiles(of: db).map(\.id) == [.config, .disk(2000), .disk(2001)])
    }

    @Test("to may name a datastore cluster (its members; sdrs = true asks Storage DRS); a cluster the VM's host cannot use is an error before anything moves")
    func datastoreClusters() async throws {
        let (inv, requests) = try await select("""
            local strategy = require "moonmotion.strategy"
            return strategy.new { select = function(inv)
              return strategy.storage_moves(inv, { from = "legacy-*", to = "new-pod", filter = function(vm) return vm.name ~= "web-01" end })
            end }
            """)
        #expect(Self.name(inv, requests.first?.kind.storage?.targets) == ["new-01", "new-02"])
        let (inv2, sdrs) = try await select("""
            local strategy = require "moonmotion.strategy"
            return strategy.new { select = function(inv)
              return strategy.storage_moves(inv, { from = "legacy-01", to = "new-pod", sdrs = true, filter = function(vm) return vm.name == "db-01" end })
            end }
            """)
        #expect(sdrs.first?.kind.storage?.storageDRS.map { inv2.name(of: $0) } == "new-pod")
        let noMember = await selectError("""
            local strategy = require "moonmotion.strategy"
            return strategy.new { select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-pod" }) end }
            """)
        #expect(noMember.contains("datastore cluster 'new-pod' has no datastore that host esx-2 mounts (VM web-01)"), "\(noMember)")
        let notPod = await selectError("""
            return { select = function(inv) return { { vm = "db-01", datastore = "new-*", sdrs = true } } end }
            """)
        #expect(notPod.contains("sdrs = true asks a datastore cluster's Storage DRS"), "\(notPod)")
    }

    @Test("bad input is an error before anything moves: a map naming no datastore, a format vSphere does not know, an unknown disk")
    func badInput() async throws {
        let badMap = await selectError("""
            return { select = function(inv) return { { vm = "db-01", datastore = "new-01", from = "legacy-*", map = { ["legcy-01"] = "new-02" } } } end }
            """)
        #expect(badMap.contains("map[\"legcy-01\"]: no datastore of the inventory is called 'legcy-01'"), "\(badMap)")
        let badTarget = await selectError("""
            return { select = function(inv) return { { vm = "db-01", datastore = "new-01", map = { ["legacy-01"] = "nwe-*" } } } end }
            """)
        #expect(badTarget.contains("map[\"legacy-01\"] = 'nwe-*' matches no datastore"), "\(badTarget)")
        let badFormat = await selectError("""
            return { select = function(inv) return { { vm = "db-01", datastore = "new-01", format = "sparse" } } end }
            """)
        #expect(badFormat.contains("format = 'sparse' is not a disk format vSphere knows"), "\(badFormat)")
        let badOption = await selectError("""
            local strategy = require "moonmotion.strategy"
            return strategy.new { select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*", keep_togther = false }) end }
            """)
        #expect(badOption.contains("unknown option 'keep_togther' (did you mean 'keep_together'?)"), "\(badOption)")
        let (inv, fixed) = try await select("""
            return { select = function(inv) return { { vm = "db-01", disks = { [2001] = "new-03", config = "new-01" } } } end }
            """)
        #expect(fixed.first?.kind.storage?.fixed.map { "\($0.file)=\(inv.name(of: $0.datastore))" } == ["config=new-01", "disk 2001=new-03"])
    }

    @Test("a VM's files, disks and images as Lua sees them")
    func vmFiles() async throws {
        let harness = try StrategyHarness()
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            return { select = function(inv)
              local vm = inv:vm "db-01"
              seen = { home = vm.home.name, disks = #vm.disks, files = #vm.files, d2 = vm.disks[2].datastore.name, d2used = vm.disks[2].used,
                       d2thin = vm.disks[2].thin, iso = vm.media[1].file, f1 = vm.files[1].id, f4 = vm.files[4].id,
                       pod = inv:datastore "new-01".datastore_cluster, pods = #inv.datastore_clusters }
              return {}
            end }
            """)
        let inv = Self.inventory()
        _ = try await harness.runtime.perform { _ in try strategy.select(inv) }
        let seen = try await harness.runtime.perform { state in try state.global("seen") }
        guard case .table(let t) = seen else { Issue.record("no table: \(seen)"); return }
        #expect(t["home"] == .string("legacy-01") && t["disks"] == .integer(3) && t["files"] == .integer(4))
        #expect(t["d2"] == .string("legacy-02") && t["d2used"] == .integer(Int(20 * Self.gib)) && t["d2thin"] == .boolean(true))
        #expect(t["iso"] == .string("[legacy-02] iso/os.iso") && t["f1"] == .string("config") && t["f4"] == .string("disk 2002"))
        #expect(t["pod"] == .string("new-pod") && t["pods"] == .integer(1))
    }

    @Test("the target hook gets the files as a third argument and may answer one datastore per file; checks and min_free reach the engine")
    func placeChecksAndMinFree() async throws {
        let harness = try StrategyHarness()
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            return strategy.new {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              target = function(job, candidates, files)
                local out = {}
                for _, f in ipairs(files) do out[f.key or f.id] = (f.key == 2001) and "new-03" or candidates[1] end
                return out
              end,
              checks = { function(vm) if vm.name == "web-01" then return "web tier frozen until Monday — ask the owner" end end },
              limits = strategy.limits { min_free = "20%" },
            }
            """)
        let inv = Self.inventory()
        let cluster = inv.clusters[0]
        let (answer, reason, limits) = try await harness.runtime.perform { _ -> (TargetAnswer, String?, LimitOverrides) in
            let requests = try strategy.select(inv)
            let job = Job(id: JobID(0), vm: inv.vms[0].ref, vmName: "db-01", cluster: cluster.ref, kind: requests[0].kind, size: 0, createdAt: Date())
            let files = inv.vms[0].files.filter { $0.id != .disk(2002) }
            let candidates = inv.datastores.filter { $0.name.hasPrefix("new-") }
            let answer = try strategy.place(job, files: files, candidates: candidates)
            let web = Job(id: JobID(1), vm: inv.vms[2].ref, vmName: "web-01", cluster: cluster.ref, kind: requests[1].kind, size: 0, createdAt: Date())
            return (answer, try strategy.check(web, vm: inv.vms[2]), try strategy.limits(cluster))
        }
        guard case .perFile(let map) = answer else { Issue.record("expected a per-file answer, got \(answer)"); return }
        #expect(map[.disk(2001)].map { inv.name(of: $0) } == "new-03")
        #expect(map[.config].map { inv.name(of: $0) } == "new-01" && map[.disk(2000)].map { inv.name(of: $0) } == "new-01")
        #expect(reason == "web tier frozen until Monday — ask the owner")
        #expect(limits.minFree == .fraction(0.2))
    }
}
