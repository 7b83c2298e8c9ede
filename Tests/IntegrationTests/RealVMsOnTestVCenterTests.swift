import Foundation
import Testing
import TestSupport

/// Real VMs (issue: disks on several datastores, datastore clusters, VMs that cannot move):
/// `moonmotion run examples/storage-migration.lua from='legacy-*' to=new-pod` on a test vCenter
/// whose VMs have 1–4 disks spread over legacy-*, flash-* and new-*, with a few physical RDM,
/// shared-disk, ISO-backed, Fault Tolerance, powered-off and template VMs, and the new storage
/// as a datastore cluster. Judged by the test vCenter's own per-file accounting.
///
/// Time compression: 500× (as the 3 × 8 × 60 migration test); the run takes about a minute.
@Suite("real VMs on the test vCenter: files on several datastores, a datastore cluster, VMs that cannot move")
struct RealVMsOnTestVCenterTests {
    static let fileFlags = [
        "-datastores", "legacy:4,flash:2,new:4", "-disks", "1-4", "-disk-prefixes", "legacy,flash,new",
        "-rdm-physical", "0.02", "-multiwriter", "0.02", "-iso", "0.03", "-template-fraction", "0.02", "-ft", "0.01",
        "-pod", "new",
    ]

    /// A VM's files as `GET /_mm/vms` lists them.
    struct VMFiles: Decodable {
        struct Home: Decodable { var datastore: String; var bytes: Int64 }
        struct Disk: Decodable { var key: Int; var datastore: String; var bytes: Int64 }
        var home: Home
        var disks: [Disk]
        var datastores: [String]
    }

    /// One copy of a file, from `GET /_mm/stats`'s `file_moves`.
    struct FileMove: Decodable {
        var vm: String
        var file: String
        var from: String
        var to: String
        var source_bytes: Int64
    }

    struct FileStats: Decodable {
        var file_moves: [FileMove]
        var file_copies: [String: [String: Int]]
    }

    static func vmFiles(_ vc: TestVCenter) async throws -> [String: VMFiles] {
        struct Listing: Decodable { var vms: [String: VMFiles] }
        return try JSONDecoder().decode(Listing.self, from: try await vc.control("GET", "vms")).vms
    }

    @Test("only the files on legacy-* move, into the pod; the VMs that cannot move are listed first and left alone; no limit exceeded")
    func migrationIntoAPod() async throws {
        let vc = try await TestVCenter.start(.init(clusters: 3, hosts: 8, vms: 60, poweredOffFraction: 0.05, tls: false, speed: 500,
                                                   extraArgs: Self.fileFlags))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let before = try await Self.vmFiles(vc)
        #expect(before.count == 180)
        let strategy = examplePath("storage-migration.lua")
        let url = vc.urlWithCredentials.absoluteString

        // Before the window: per-file moves and the VMs that cannot move, with their reasons.
        let dry = try await runMoonmotion(["run", "--url", url, strategy, "from=legacy-*", "to=new-pod", "--dry-run"],
                                          directory: dir, timeout: 120)
        #expect(dry.status == 0, "\(dry.stderr)")
        let fileLine = try Regex(#"\n +disk \d+ \([0-9.]+ [KMGTP]?i?B\) legacy-0\d → new-0\d\n"#)
        #expect(dry.stdout.contains(fileLine), "\(dry.stdout.prefix(2000))")
        #expect(dry.stdout.contains("stays: disk"), "a disk on flash-* or new-* stays: \(dry.stdout.prefix(2000))")
        let blockedSection = dry.stdout.components(separatedBy: "cannot move as asked and will be skipped:").last ?? ""
        let blocked = Set(blockedSection.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), let colon = line.firstIndex(of: ":") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 2)..<colon])
        })
        #expect(!blocked.isEmpty && blockedSection.contains("physical-mode RDM") && blockedSection.contains("iso/win2019.iso")
                && blockedSection.contains("Fault Tolerance") && blockedSection.contains("multi-writer"), "\(blockedSection)")
        #expect(dry.stdout.contains("dry run: nothing was started"))
        #expect(try await vc.stats(includeTasks: false).migrationsByVM.isEmpty)

        // The run.
        let run = try await runMoonmotion(["run", "--url", url, strategy, "from=legacy-*", "to=new-pod",
                                           "--journal", dir.appendingPathComponent("run.journal").path],
                                          directory: dir, timeout: 900)
        let context = "exit \(run.status)\n\(run.stdout.suffix(3000))\n\(run.stderr)"
        #expect(run.status == 0, "\(context)")
        #expect(run.stdout.contains("(\(blocked.count) cannot move as asked)"), "\(context)")
        for vm in blocked { #expect(run.stdout.contains("cannot move: \(vm):"), "\(vm): \(context)") }

        // The test vCenter's accounting: exactly the bytes that were on legacy-* of the VMs that
        // could move left, every one into the pod, no file twice, every limit kept counting every
        // datastore a move touched.
        let stats = try await vc.stats()
        #expect(stats.limitViolations.isEmpty, "\(stats.limitViolations)")
        #expect(stats.limitQueuedTotal == 0)
        let files = try JSONDecoder().decode(FileStats.self, from: try await vc.control("GET", "stats?tasks=0"))
        var expected: [String: Int64] = [:]
        for (name, vm) in before where !blocked.contains(name) {
            if globMatches("legacy-*", vm.home.datastore) { expected["\(name) config"] = vm.home.bytes }
            for d in vm.disks where globMatches("legacy-*", d.datastore) { expected["\(name) disk-\(d.key)"] = d.bytes }
        }
        let moved = Dictionary(files.file_moves.map { ("\($0.vm) \($0.file)", $0.source_bytes) }, uniquingKeysWith: +)
        #expect(moved == expected, "moved \(moved.count) files, expected \(expected.count): extra \(Set(moved.keys).subtracting(expected.keys).sorted().prefix(5)), missing \(Set(expected.keys).subtracting(moved.keys).sorted().prefix(5))")
        #expect(moved.values.reduce(0, +) == expected.values.reduce(0, +))
        #expect(files.file_moves.allSatisfy { globMatches("new-0[1-4]", $0.to) }, "every copy lands in the pod")
        #expect(files.file_copies.values.allSatisfy { $0.values.allSatisfy { $0 == 1 } }, "no file copied twice")
        let after = try await Self.vmFiles(vc)
        for name in blocked {
            #expect(after[name]?.datastores == before[name]?.datastores, "\(name) was left where it was")
        }
        for (name, vm) in after where !blocked.contains(name) {
            #expect(!globMatches("legacy-*", vm.home.datastore) && vm.disks.allSatisfy { !globMatches("legacy-*", $0.datastore) },
                    "\(name) still has files on legacy-*: \(vm.datastores)")
        }
    }

    @Test("bad input is refused before anything moves: a map naming no datastore, an unknown format, a pod the hosts cannot use")
    func badInput() async throws {
        // Two datacenters: dc-2's datastores (and its pod, dc2-new-pod) are mounted by dc-2's hosts only.
        let vc = try await TestVCenter.start(.init(datacenters: 2, clusters: 1, hosts: 2, vms: 4, tls: false, extraArgs: Self.fileFlags))
        defer { vc.stop() }
        let dir = try scriptDirectory([
            "map.lua": """
                local strategy = require "moonmotion.strategy"
                return strategy.new { select = function(inv)
                  return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*", map = { ["legacy-09"] = "new-01" } })
                end }
                """,
            "format.lua": """
                local strategy = require "moonmotion.strategy"
                return strategy.new { select = function(inv)
                  return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*", format = "compressed" })
                end }
                """,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = vc.urlWithCredentials.absoluteString
        let map = try await runMoonmotion(["run", "--url", url, dir.appendingPathComponent("map.lua").path, "--no-journal"], directory: dir)
        #expect(map.status != 0 && map.stderr.contains("map[\"legacy-09\"]: no datastore of the inventory is called 'legacy-09'"), "\(map.stderr)")
        let format = try await runMoonmotion(["run", "--url", url, dir.appendingPathComponent("format.lua").path, "--no-journal"], directory: dir)
        #expect(format.status != 0 && format.stderr.contains("format = 'compressed' is not a disk format vSphere knows"), "\(format.stderr)")
        // A pod whose datastores the VMs' hosts do not mount: named in the error, nothing started.
        let pod = try await runMoonmotion(["run", "--url", url, examplePath("storage-migration.lua"), "to=dc2-new-pod", "--no-journal"], directory: dir)
        #expect(pod.status != 0 && pod.stderr.contains("datastore cluster 'dc2-new-pod' has no datastore that host esx-c1-0"), "\(pod.stdout)\n\(pod.stderr)")
        #expect(try await vc.stats(includeTasks: false).migrationsByVM.isEmpty, "nothing moved")
    }
}
