import Foundation
import Testing
import TestSupport

/// Issue 5, point 7: `moonmotion run examples/storage-migration.lua` (the built binary, the
/// real Lua strategy, the real engine and SOAP client) against the test vCenter with
/// 3 clusters × 8 hosts × 60 VMs, judged by the test vCenter's own accounting: moves per VM,
/// peak cost per host and datastore, tasks queued by a limit, every task it ran.
///
/// Time compression: 500 simulated seconds per real second. The VMs copy for 100 to 13,000
/// simulated seconds at 100 MB/s (0.2 to 27 s real), so the run takes about a minute, and
/// a completion seen ~0.2 s late through the collector is small against a copy.
@Suite("storage migration on the test vCenter (3 clusters × 8 hosts × 60 VMs)")
struct MigrationOnTestVCenterTests {
    static let topology = TestVCenter.Options(clusters: 3, hosts: 8, vms: 60, speed: 500)
    static let vmCount = 180

    /// The VMs largest first, as the strategy orders them.
    static func largestFirst(_ inventory: InventoryDocument) -> [InventoryDocument.VM] {
        inventory.vms.sorted { ($0.committedBytes, $1.name) > ($1.committedBytes, $0.name) }
    }

    @Test("every VM moved once within the limits; injected faults retried or skipped as the strategy says")
    func migrationWithInjectedFaults() async throws {
        let vc = try await TestVCenter.start(Self.topology)
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let (before, _) = try await InventoryDocument.fetch(vc, directory: dir)
        #expect(before.vms.count == Self.vmCount)

        // Faults on VMs the strategy dispatches early (largest first), in every cluster's
        // first slots, so that retries happen while the run goes on.
        let order = Self.largestFirst(before).map(\.name)
        let fileLocked = order[1], busy = order[4], configOnce = order[7], noSpace = order[10], configAlways = order[13]
        // Retriable (the engine retries with backoff without asking the strategy):
        try await vc.injectFault(.failTask(vm: fileLocked, method: "RelocateVM_Task", fault: "FileLocked", count: 1))
        try await vc.injectFault(.failTask(vm: busy, method: "RelocateVM_Task", fault: "TaskInProgress", count: 1))
        // Not retriable: storage-migration.lua's on_failure decides. retries=2: one more try, then skip.
        try await vc.injectFault(.failTask(vm: configOnce, method: "RelocateVM_Task", fault: "GenericVmConfigFault", count: 1))
        try await vc.injectFault(.failTask(vm: configAlways, method: "RelocateVM_Task", fault: "GenericVmConfigFault", count: -1))
        // NoDiskSpace: on_failure skips at once.
        try await vc.injectFault(.failTask(vm: noSpace, method: "RelocateVM_Task", fault: "NoDiskSpace", count: -1))

        let events = dir.appendingPathComponent("events.jsonl")
        let journal = dir.appendingPathComponent("migration.journal")
        let outcome = try await runMoonmotion(
            ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"), "retries=2",
             "--journal", journal.path, "--events", events.path],
            directory: dir, timeout: 600)
        let context = "exit \(outcome.status)\n\(outcome.stdout)\n\(outcome.stderr)"
        // Skipping is the strategy's deliberate answer: the run succeeds.
        #expect(outcome.status == 0, "\(context)")
        #expect(outcome.stdout.contains("storage-migration: 180 VMs on legacy-* move to new-*"), "\(context)")
        #expect(outcome.stdout.contains("run completed after"), "\(context)")
        #expect(outcome.stdout.contains("moved 178 VM(s)"), "\(context)")
        #expect(outcome.stdout.contains("0 failed; 2 skipped; 0 pending"), "\(context)")
        #expect(outcome.stdout.contains("skipped: \(noSpace) (storage): NoDiskSpace"), "\(context)")
        #expect(outcome.stdout.contains("skipped: \(configAlways) (storage): GenericVmConfigFault"), "\(context)")

        // The test vCenter's own view.
        let stats = try await vc.stats()
        #expect(stats.limitViolations.isEmpty, "\(stats.limitViolations)")
        #expect(stats.limitQueuedTotal == 0, "tasks queued by a limit: \(stats.tasks.filter { $0.queuedBy?.isEmpty == false }.map { "\($0.vm) by \($0.queuedBy!)" })")
        #expect(stats.taskCounts["running"] == nil && stats.taskCounts["queued"] == nil, "\(stats.taskCounts)")
        // Each VM's storage moved once (skipped ones never); a pro-active vMotion (host only)
        // before a storage move is the strategy's on_blocked answer and counts as a move of its own.
        let skipped: Set = [noSpace, configAlways]
        let datastores = before.datastoreNames
        #expect(stats.moveProblems(datastores: datastores).isEmpty, "\(stats.moveProblems(datastores: datastores))")
        let storageMoves = stats.storageMoves(datastores: datastores)
        for vm in before.vms.map(\.name) {
            #expect(storageMoves[vm] == (skipped.contains(vm) ? nil : 1), "\(vm)'s storage moved \(storageMoves[vm] ?? 0) times")
        }
        // Storage relocations per VM: one, plus one per injected failure that was retried.
        let relocations = stats.migrationsByVM.mapValues { $0.filter { TestVCenter.Stats.isStorageMove($0, datastores: datastores) } }
        let expectedTasks = [fileLocked: 2, busy: 2, configOnce: 2, noSpace: 1, configAlways: 2]
        for vm in before.vms.map(\.name) {
            let tasks = relocations[vm] ?? []
            #expect(tasks.count == expectedTasks[vm, default: 1],
                    "\(vm): \(tasks.map { "\($0.id) \($0.state) \($0.errorType ?? "")" })")
        }
        #expect(relocations[fileLocked]?.map(\.errorType) == ["FileLocked", nil])
        #expect(relocations[busy]?.map(\.errorType) == ["TaskInProgress", nil])
        #expect(relocations[configOnce]?.map(\.errorType) == ["GenericVmConfigFault", nil])
        #expect(relocations[configAlways]?.map(\.errorType) == ["GenericVmConfigFault", "GenericVmConfigFault"])
        #expect(relocations[noSpace]?.map(\.errorType) == ["NoDiskSpace"])

        // The run's events: who was retried, by whom, and who was skipped after how many tries.
        let log = try RunEvent.read(events)
        let retried = Set(log.filter { $0.type == "retry-scheduled" }.compactMap(\.vmName))
        #expect(retried == [fileLocked, busy, configOnce, configAlways], "\(retried)")
        let last = log.lastStateByStrategyJob.values
        #expect(last.count == Self.vmCount)
        for e in last {
            let name = e.vmName ?? "?"
            if skipped.contains(name) {
                #expect(e.state == "skipped", "\(name): \(e.state ?? "?")")
            } else {
                #expect(e.state == "done", "\(name): \(e.state ?? "?") \(e.error ?? "")")
            }
        }
        #expect(last.first { $0.vmName == noSpace }?.attempt == 1, "NoDiskSpace is skipped without a retry")
        #expect(last.first { $0.vmName == configAlways }?.attempt == 2, "retries=2: two attempts, then skipped")
        #expect(log.last?.type == "run-finished" && log.last?.outcome == "completed")

        // Where every VM is now, read back through `moonmotion inventory --json`.
        let (after, _) = try await InventoryDocument.fetch(vc, directory: dir)
        for vm in after.vms {
            if skipped.contains(vm.name) {
                #expect(vm.datastores.allSatisfy { globMatches("legacy-*", $0) }, "\(vm.name) stays on \(vm.datastores)")
            } else {
                #expect(!vm.datastores.isEmpty && vm.datastores.allSatisfy { globMatches("new-*", $0) }, "\(vm.name) is on \(vm.datastores)")
            }
        }
    }

    @Test("kill -9 at 3 random instants (seeded), each followed by --resume: every VM moved exactly once, nothing pending")
    func killNineAndResume() async throws {
        let seed = testSeed(0x6D6F_6F6E)
        var rng = SeededGenerator(seed: seed)
        let vc = try await TestVCenter.start(Self.topology)
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("migration.journal").path
        let arguments = ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"), "--journal", journal]
        let context = "seed \(seed) (set MM_E2E_SEED to replay)"
        let datastores = Set((1...4).map { String(format: "legacy-%02d", $0) } + (1...4).map { String(format: "new-%02d", $0) })

        // Kill 1: right after start (connecting, reading the inventory, or the first dispatches).
        // Kills 2 and 3: when the test vCenter has completed a random share of the moves (early
        // middle, late), plus a random delay so the kill lands anywhere between two events.
        struct Kill { var moves: Int; var delay: Double }
        let kills = [
            Kill(moves: 0, delay: Double.random(in: 0.05...0.6, using: &rng)),
            Kill(moves: Int.random(in: 36...80, using: &rng), delay: Double.random(in: 0...0.4, using: &rng)),
            Kill(moves: Int.random(in: 100...155, using: &rng), delay: Double.random(in: 0...0.4, using: &rng)),
        ]
        for (round, k) in kills.enumerated() {
            // A kill that landed before the run's first journal write left no run: start anew.
            let resume = try await journalHoldsRun(journal)
            let run = try BackgroundMoonmotion(arguments + (resume ? ["--resume"] : []), directory: dir)
            let start = Date()
            while k.moves > 0, run.isRunning, Date().timeIntervalSince(start) < 300 {
                if try await vc.stats(includeTasks: false).moves.count >= k.moves { break }
                try await Task.sleep(for: .milliseconds(40))
            }
            try await Task.sleep(for: .seconds(k.delay))
            let stillRunning = run.isRunning
            run.signal(SIGKILL)
            let killed = await run.finish()
            #expect(stillRunning, "round \(round): the run ended before kill -9 (\(context)): \(killed.stdout)\n\(killed.stderr)")
            #expect(killed.status == SIGKILL, "round \(round) (\(context)): \(killed.stderr)")
            let problems = try await vc.stats().moveProblems(datastores: datastores)
            #expect(problems.isEmpty, "after kill \(round + 1) (\(context)): \(problems)")
        }

        // The last --resume finishes the work.
        let events = dir.appendingPathComponent("events.jsonl")
        let final = try await runMoonmotion(arguments + (try await journalHoldsRun(journal) ? ["--resume"] : []) + ["--events", events.path],
                                            directory: dir, timeout: 600)
        #expect(final.status == 0, "\(context)\n\(final.stdout)\n\(final.stderr)")
        #expect(final.stdout.contains("run completed"), "\(context)\n\(final.stdout)")
        #expect(final.stdout.contains("0 failed; 0 skipped; 0 pending"), "\(context)\n\(final.stdout)")
        let log = try RunEvent.read(events)
        #expect(log.first?.type == "run-started" && log.first?.resumed == true)
        #expect(log.last?.outcome == "completed")

        let stats = try await vc.stats()
        let storageMoves = stats.storageMoves(datastores: datastores)
        #expect(storageMoves.count == Self.vmCount, "\(context): \(storageMoves.count) VMs moved")
        #expect(storageMoves.values.allSatisfy { $0 == 1 }, "a VM moved twice (\(context)): \(storageMoves.filter { $0.value > 1 })")
        #expect(stats.moveProblems(datastores: datastores).isEmpty, "\(context): \(stats.moveProblems(datastores: datastores))")
        #expect(stats.taskCounts["running"] == nil && stats.taskCounts["queued"] == nil, "\(stats.taskCounts)")
        #expect(stats.limitViolations.isEmpty, "\(context): \(stats.limitViolations)")
        #expect(stats.limitQueuedTotal == 0, "\(context)")
        // No storage relocation was ever sent twice for a VM: a task started just before a kill
        // was found again (by reference, or among the VM's recent tasks), not started anew.
        let relocations = stats.migrationsByVM.mapValues { $0.filter { TestVCenter.Stats.isStorageMove($0, datastores: datastores) } }
        #expect(relocations.count == Self.vmCount)
        #expect(relocations.filter { $0.value.count != 1 }.isEmpty,
                "\(context): \(relocations.filter { $0.value.count != 1 }.mapValues { $0.map { "\($0.id) \($0.state) \($0.errorType ?? "")" } })")

        let (after, _) = try await InventoryDocument.fetch(vc, directory: dir)
        #expect(after.vms.allSatisfy { !$0.datastores.isEmpty && $0.datastores.allSatisfy { globMatches("new-*", $0) } },
                "\(after.vms.filter { !$0.datastores.allSatisfy { globMatches("new-*", $0) } }.map { "\($0.name): \($0.datastores)" })")

        // --resume once more after completion: nothing to do, nothing sent.
        let relocateCalls = stats.calls("RelocateVM_Task")
        let again = try await runMoonmotion(arguments + ["--resume"], directory: dir, timeout: 120)
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(again.stdout.contains("0 pending"), "\(again.stdout)")
        let afterAgain = try await vc.stats(includeTasks: false)
        #expect(afterAgain.calls("RelocateVM_Task") == relocateCalls, "a completed journal's --resume started tasks")
        #expect(afterAgain.moves == stats.moves)
    }
}
