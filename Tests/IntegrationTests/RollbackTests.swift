import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `moonmotion rollback JOURNAL` against the test vCenter: a run moves multi-disk VMs (files
/// off legacy-*, the others staying; some VMs to another host, some host only), then the
/// rollback puts every file and host back where the run's journal recorded them, judged by
/// the test vCenter's own inventory and accounting.
///
/// Time compression 500×, 2 clusters × 4 hosts × 12 VMs: each run takes a few seconds.
@Suite("rollback on the test vCenter")
struct RollbackTests {
    static let fileFlags = ["-datastores", "legacy:2,flash:1,new:2", "-disks", "1-3", "-disk-prefixes", "legacy,flash,new"]

    /// A VM as `GET /_mm/vms` lists it.
    struct VM: Decodable, Equatable {
        struct Home: Decodable, Equatable { var datastore: String }
        struct Disk: Decodable, Equatable { var key: Int; var datastore: String }
        var host: String
        var home: Home
        var disks: [Disk]
    }

    static func vms(_ vc: TestVCenter) async throws -> [String: VM] {
        struct Listing: Decodable { var vms: [String: VM] }
        return try JSONDecoder().decode(Listing.self, from: try await vc.control("GET", "vms")).vms
    }

    /// Every third VM moves its files off legacy-* and to another host of its cluster at once,
    /// every third its files only (each file on its own), every third its host only.
    static let forward = """
        return {
          select = function(inv)
            local jobs = {}
            for i, vm in ipairs(inv.vms) do
              local other
              for _, h in ipairs(vm.cluster.hosts) do if h ~= vm.host then other = h; break end end
              if i % 3 == 0 then
                jobs[#jobs + 1] = { vm = vm, datastore = "new-*", from = "legacy-*", host = other }
              elseif i % 3 == 1 then
                jobs[#jobs + 1] = { vm = vm, datastore = "new-*", from = "legacy-*", keep_together = false }
              else
                jobs[#jobs + 1] = { vm = vm, host = other }
              end
            end
            return jobs
          end,
        }
        """

    /// Moves one VM (params.vm) to a third host of its cluster (neither its host nor
    /// params.avoid, where it was before the run): "moved again since".
    static let moveAgain = """
        local mm = require "moonmotion"
        local conn = mm.connect()
        local vm = conn:vm(params.vm)
        for _, h in ipairs(vm.cluster.hosts) do
          if h ~= vm.host and h.name ~= params.avoid then conn:moveVM(vm, { host = h }); break end
        end
        """

    @Test("files (per disk and home) and hosts go back where the journal recorded them, one relocation per VM, 0 limit violations; --dry-run moves nothing; a VM moved again since is left alone")
    func rollbackRestoresEveryVM() async throws {
        let vc = try await TestVCenter.start(.init(clusters: 2, hosts: 4, vms: 12, tls: false, speed: 500, extraArgs: Self.fileFlags))
        defer { vc.stop() }
        let dir = try scriptDirectory(["forward.lua": Self.forward, "again.lua": Self.moveAgain])
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = vc.urlWithCredentials.absoluteString
        let journal = dir.appendingPathComponent("run.journal").path
        let before = try await Self.vms(vc)
        #expect(before.count == 24)

        let run = try await runMoonmotion(["run", "--url", url, "forward.lua", "--journal", journal], directory: dir, timeout: 300)
        #expect(run.status == 0, "\(run.stdout.suffix(2000))\n\(run.stderr)")
        let moved = try await Self.vms(vc)
        let changed = before.keys.filter { moved[$0] != before[$0] }
        #expect(changed.count == 24, "every VM moved something: \(before.keys.filter { moved[$0] == before[$0] }.sorted())")
        #expect(before.contains { name, vm in moved[name]?.host != vm.host && moved[name]?.home.datastore != vm.home.datastore })
        #expect(before.contains { name, vm in vm.disks.contains { $0.datastore.hasPrefix("flash") || $0.datastore.hasPrefix("new") } },
                "some disks were not on legacy-* and stay")

        // One VM moved again by someone else since.
        let again = before.keys.sorted().first { moved[$0]?.host != before[$0]?.host }!
        let other = try await runMoonmotion(["run", "--url", url, "again.lua", "vm=\(again)", "avoid=\(before[again]!.host)"], directory: dir, timeout: 120)
        #expect(other.status == 0, "\(other.stderr)")
        let againHost = try #require(try await Self.vms(vc)[again]?.host)
        try await vc.resetStats()

        let dry = try await runMoonmotion(["rollback", "--url", url, journal, "--dry-run"], directory: dir, timeout: 120)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("23 VM(s) to move back"), "\(dry.stdout)")
        #expect(dry.stdout.contains(try Regex(#"\n    disk \d+ \([0-9.]+ [KMGT]iB\) new-0\d → legacy-0\d\n"#)), "\(dry.stdout)")
        #expect(dry.stdout.contains(try Regex(#"\n    host \S+ → \S+\n"#)), "\(dry.stdout)")
        #expect(dry.stdout.contains("1 VM(s) the run moved are left alone:\n  \(again): moved again since: on host "), "\(dry.stdout)")
        #expect(dry.stdout.contains("dry run: nothing was moved"))
        #expect(try await vc.stats(includeTasks: false).moves.isEmpty, "--dry-run moved nothing")
        #expect(!FileManager.default.fileExists(atPath: journal + ".rollback"), "--dry-run journals nothing")

        let back = try await runMoonmotion(["rollback", "--url", url, journal], directory: dir, timeout: 300)
        #expect(back.status == 0, "\(back.stdout.suffix(3000))\n\(back.stderr)")
        let after = try await Self.vms(vc)
        for (name, vm) in before where name != again {
            #expect(after[name] == vm, "\(name): before \(vm), after \(String(describing: after[name]))")
        }
        #expect(after[again]?.host == againHost, "the VM moved again since stays where it was moved")
        let stats = try await vc.stats(includeTasks: false)
        #expect(stats.moves.count == 23 && stats.moves.values.allSatisfy { $0 == 1 }, "one relocation per VM: \(stats.moves)")
        #expect(stats.limitViolations.isEmpty, "\(stats.limitViolations)")
        #expect(stats.limitQueuedTotal == 0)

        // The rollback's own journal: `status` reads it, and a second rollback finds nothing to move.
        let status = try await runMoonmotion(["status", journal + ".rollback"], directory: dir, timeout: 60)
        #expect(status.stdout.contains("status: done"), "\(status.stdout)")
        let twice = try await runMoonmotion(["rollback", "--url", url, journal, "--dry-run"], directory: dir, timeout: 120)
        #expect(twice.stdout.contains("0 VM(s) to move back") && twice.stdout.contains("already back where it came from"), "\(twice.stdout)")
    }

    @Test("refused: another vCenter than the run's, and a run that is still running; nothing moves")
    func refusals() async throws {
        let dir = try scriptDirectory(["forward.lua": Self.forward])
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("run.journal").path
        let first = try await TestVCenter.start(.init(clusters: 1, hosts: 2, vms: 3, tls: false, instanceUUID: "11111111-aaaa-4aaa-8aaa-000000000001",
                                                      speed: 500, extraArgs: Self.fileFlags))
        let run = try await runMoonmotion(["run", "--url", first.urlWithCredentials.absoluteString, "forward.lua", "--journal", journal],
                                          directory: dir, timeout: 120)
        first.stop()
        #expect(run.status == 0, "\(run.stderr)")

        let second = try await TestVCenter.start(.init(clusters: 1, hosts: 2, vms: 3, tls: false, instanceUUID: "22222222-bbbb-4bbb-8bbb-000000000002",
                                                       speed: 500, extraArgs: Self.fileFlags))
        defer { second.stop() }
        let url = second.urlWithCredentials.absoluteString
        let refused = try await runMoonmotion(["rollback", "--url", url, journal], directory: dir, timeout: 60)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("instanceUuid 11111111-aaaa-4aaa-8aaa-000000000001") && refused.stderr.contains("nothing was moved"), "\(refused.stderr)")
        #expect(try await second.stats(includeTasks: false).moves.isEmpty)

        // A run still going: its journal is locked by a live process.
        try await second.injectFault(.delayTasks(method: "RelocateVM_Task", seconds: 600))
        let live = dir.appendingPathComponent("live.journal").path
        let going = try BackgroundMoonmotion(["run", "--url", url, "forward.lua", "--journal", live], directory: dir)
        let deadline = Date().addingTimeInterval(60)
        while !(try await journalHoldsRun(live)), Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let busy = try await runMoonmotion(["rollback", "--url", url, live], directory: dir, timeout: 60)
        going.signal(SIGKILL)
        _ = await going.finish(timeout: 30)
        #expect(busy.status == 1)
        #expect(busy.stderr.contains("is still running (PID \(going.pid) on "), "\(busy.stderr)")
    }
}
