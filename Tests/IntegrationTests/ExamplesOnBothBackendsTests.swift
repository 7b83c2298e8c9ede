import Foundation
import Testing
import TestSupport

/// Issue 6, point 4: one API, two backends. Each `examples/*.lua` strategy runs once on the
/// built-in simulator (no vCenter configured, `--inventory` = the test vCenter's own
/// inventory saved by `moonmotion inventory --json`) and once on the test vCenter
/// (`--url`), and both runs pass the same assertions: the jobs selected match what the
/// inventory says the example should select, every job is done, the summary and the
/// `--events` lines agree, and where every object ends up (from the events, and on the test
/// vCenter also read back with `moonmotion inventory --json`) is what the example promises.
@Suite("examples/*.lua on the built-in simulator and on the test vCenter")
struct ExamplesOnBothBackendsTests {
    /// One example strategy: its file, and what it must do to an inventory.
    struct Example: Sendable, CustomTestStringConvertible {
        var script: String
        /// The jobs (`"vm-name kind"`, sorted) the example must select from `inventory`.
        var expectedJobs: @Sendable (InventoryDocument) -> [String]
        /// Whether a done storage job's target datastore (by name) is an allowed one.
        var allowedTarget: @Sendable (String) -> Bool
        /// Problems in an inventory after the run (empty: as promised); `before` is the one it started from.
        var checkAfter: @Sendable (_ before: InventoryDocument, _ after: InventoryDocument) -> [String]

        var testDescription: String { script }
    }

    /// Snapshots older than this many days are removed by remove-snapshots.lua (its default).
    static let snapshotDays = 30.0

    static func oldSnapshots(_ vm: InventoryDocument.VM, now: Date) -> [InventoryDocument.Snapshot] {
        let cutoff = now.addingTimeInterval(-snapshotDays * 86_400)
        return (vm.snapshots ?? []).filter { ($0.created ?? .distantFuture) < cutoff }
    }

    static let examples: [Example] = [
        Example(
            script: "storage-migration.lua",
            expectedJobs: { inv in
                inv.vms.filter { $0.datastores.contains { globMatches("legacy-*", $0) } }.map { "\($0.name) storage" }.sorted()
            },
            allowedTarget: { globMatches("new-*", $0) },
            checkAfter: { _, after in
                after.vms.filter { $0.datastores.isEmpty || !$0.datastores.allSatisfy { globMatches("new-*", $0) } }
                    .map { "\($0.name) is still on \($0.datastores)" }
            }),
        Example(
            // Waves (powered-off VMs first) change the order, not what moves; db-* VMs stay.
            script: "waves.lua",
            expectedJobs: { inv in
                inv.vms.filter { !globMatches("db-*", $0.name) && $0.datastores.contains { globMatches("legacy-*", $0) } }
                    .map { "\($0.name) storage" }.sorted()
            },
            allowedTarget: { globMatches("new-*", $0) },
            checkAfter: { _, after in
                after.vms.filter { !globMatches("db-*", $0.name) }
                    .filter { $0.datastores.isEmpty || !$0.datastores.allSatisfy { globMatches("new-*", $0) } }
                    .map { "\($0.name) is still on \($0.datastores)" }
            }),
        Example(
            script: "evacuate-datastore.lua",
            expectedJobs: { inv in
                inv.vms.filter { $0.datastores.contains("legacy-01") }.map { "\($0.name) storage" }.sorted()
            },
            allowedTarget: { $0 != "legacy-01" },
            checkAfter: { before, after in
                after.vms.filter { $0.datastores.contains("legacy-01") }.map { "\($0.name) is still on legacy-01" }
                    + after.vms.filter { vm in
                        !(before.vm(vm.name)?.datastores.contains("legacy-01") ?? false) && before.vm(vm.name)?.datastores != vm.datastores
                    }.map { "\($0.name) was not on legacy-01 but moved" }
            }),
        Example(
            script: "consolidate-disks.lua",
            expectedJobs: { inv in
                inv.vms.filter { $0.consolidationNeeded == true }.map { "\($0.name) consolidate" }.sorted()
            },
            allowedTarget: { _ in false },
            checkAfter: { _, after in
                after.vms.filter { $0.consolidationNeeded == true }.map { "\($0.name) still needs consolidation" }
            }),
        Example(
            script: "remove-snapshots.lua",
            expectedJobs: { inv in
                let now = Date()
                // All snapshots old: one task for all; some recent: one task per old snapshot.
                return inv.vms.flatMap { vm -> [String] in
                    let old = oldSnapshots(vm, now: now)
                    if old.isEmpty { return [] }
                    return Array(repeating: "\(vm.name) remove-snapshot", count: old.count == vm.snapshots?.count ? 1 : old.count)
                }.sorted()
            },
            allowedTarget: { _ in false },
            checkAfter: { before, after in
                let now = Date()
                var problems: [String] = []
                for vm in after.vms {
                    let old = oldSnapshots(vm, now: now)
                    if !old.isEmpty { problems.append("\(vm.name) keeps old snapshots \(old.map(\.name))") }
                    let recentBefore = (before.vm(vm.name)?.snapshots ?? []).filter { s in
                        !oldSnapshots(before.vm(vm.name)!, now: now).contains { $0.name == s.name }
                    }.map(\.name)
                    let kept = (vm.snapshots ?? []).map(\.name)
                    if Set(recentBefore) != Set(kept) { problems.append("\(vm.name): recent snapshots \(recentBefore), now \(kept)") }
                }
                return problems
            }),
    ]

    /// The test vCenter for one example: small, with enough snapshots and VMs needing consolidation.
    static func startVCenter() async throws -> TestVCenter {
        try await TestVCenter.start(.init(clusters: 2, hosts: 4, vms: 12, seed: 3, snapshotFraction: 0.35,
                                          consolidateFraction: 0.25, speed: 3000))
    }

    @Test("the same strategy, the same inventory, the same assertions on both backends", arguments: examples)
    func bothBackends(_ example: Example) async throws {
        let vc = try await Self.startVCenter()
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let (before, raw) = try await InventoryDocument.fetch(vc, directory: dir)
        let inventoryFile = dir.appendingPathComponent("inventory.json")
        try raw.write(to: inventoryFile)
        let expected = example.expectedJobs(before)
        #expect(!expected.isEmpty, "the test inventory gives \(example.script) nothing to do")

        // 1. The built-in simulator, on the saved inventory.
        let simEvents = dir.appendingPathComponent("sim.jsonl")
        let sim = try await runMoonmotion(["run", examplePath(example.script), "--inventory", inventoryFile.path, "--speed", "50000",
                                     "--events", simEvents.path],
                                    directory: dir, environment: noVCenter, timeout: 300)
        #expect(sim.stdout.hasPrefix("moonmotion: no vCenter configured"), "\(sim.stdout.prefix(300))")
        let simEnd = try Self.check(example, backend: "simulator", outcome: sim, events: simEvents, before: before, expected: expected)

        // 2. The test vCenter.
        let vcEvents = dir.appendingPathComponent("vc.jsonl")
        let real = try await runMoonmotion(["run", "--url", vc.urlWithCredentials.absoluteString, examplePath(example.script),
                                      "--journal", dir.appendingPathComponent("run.journal").path, "--events", vcEvents.path],
                                     // The copies last a second or two: each progress change wakes the poller
                                     // here (by default it reads progress every 10 s; LiveTaskTests covers that).
                                     directory: dir, environment: ["MOONMOTION_POLLER": "progress=0"], timeout: 300)
        let vcEnd = try Self.check(example, backend: "test vCenter", outcome: real, events: vcEvents, before: before, expected: expected)

        // Both backends ended in the same state, as far as the events tell.
        #expect(simEnd.problems.isEmpty, "simulator: \(simEnd.problems)")
        #expect(vcEnd.problems.isEmpty, "test vCenter: \(vcEnd.problems)")
        #expect(simEnd.vmsTouched == vcEnd.vmsTouched)

        // The test vCenter, read back: what the example promises, each VM moved at most once, within the limits.
        let (after, _) = try await InventoryDocument.fetch(vc, directory: dir)
        let problems = example.checkAfter(before, after)
        #expect(problems.isEmpty, "\(example.script) on the test vCenter: \(problems)")
        // And the same promise holds for the simulator's end state derived from its events.
        let simProblems = example.checkAfter(before, simEnd.apply(to: before))
        #expect(simProblems.isEmpty, "\(example.script) on the simulator: \(simProblems)")
        let stats = try await vc.stats()
        #expect(stats.moveProblems(datastores: before.datastoreNames).isEmpty, "\(stats.moveProblems(datastores: before.datastoreNames))")
        #expect(stats.limitViolations.isEmpty, "\(stats.limitViolations)")
        #expect(stats.limitQueuedTotal == 0)
    }

    /// What one backend's run did, from its events.
    struct RunEnd {
        /// VM names with a done job.
        var vmsTouched: Set<String>
        /// Storage targets by VM name (datastore names).
        var storageTargets: [String: String]
        /// VMs whose disks were consolidated.
        var consolidated: Set<String>
        /// VMs whose old snapshots were removed.
        var snapshotsRemoved: Set<String>
        /// Problems found.
        var problems: [String]

        /// `before` with the run's effects applied (what the inventory should look like now).
        func apply(to before: InventoryDocument) -> InventoryDocument {
            var after = before
            for i in after.vms.indices {
                let name = after.vms[i].name
                if let target = storageTargets[name] { after.vms[i].datastores = [target] }
                if consolidated.contains(name) { after.vms[i].consolidationNeeded = false }
                if snapshotsRemoved.contains(name), after.vms[i].snapshots != nil {
                    // remove-snapshots removes exactly the old ones (checked job by job above).
                    after.vms[i].snapshots = after.vms[i].snapshots!.filter { s in
                        !ExamplesOnBothBackendsTests.oldSnapshots(before.vms[i], now: Date()).contains { $0.name == s.name }
                    }
                }
            }
            return after
        }
    }

    /// The assertions both backends pass: exit 0, the expected jobs, every job done, events
    /// and summary consistent, storage targets allowed. Returns what the run did.
    static func check(_ example: Example, backend: String, outcome: ProcessOutcome, events: URL,
                      before: InventoryDocument, expected: [String]) throws -> RunEnd {
        let context = "\(example.script) on the \(backend): exit \(outcome.status)\n\(outcome.stdout)\n\(outcome.stderr)"
        #expect(outcome.status == 0, "\(context)")
        #expect(outcome.stdout.contains("run completed after"), "\(context)")
        #expect(outcome.stdout.contains("0 failed; 0 skipped; 0 pending"), "\(context)")
        let log = try RunEvent.read(events)
        #expect(log.first?.type == "run-started" && log.first?.jobs == expected.count, "\(context)")
        #expect(log.last?.type == "run-finished" && log.last?.outcome == "completed", "\(context)")
        #expect(log.addedJobs == expected, "\(example.script) on the \(backend): selected \(log.addedJobs), expected \(expected)")
        var end = RunEnd(vmsTouched: [], storageTargets: [:], consolidated: [], snapshotsRemoved: [], problems: [])
        let last = log.lastStateByStrategyJob
        #expect(last.count == expected.count)
        for (_, e) in last {
            let name = e.vmName ?? "?"
            guard e.state == "done" else {
                end.problems.append("\(name) \(e.kind ?? "?"): \(e.state ?? "?") \(e.error ?? "")")
                continue
            }
            end.vmsTouched.insert(name)
            // Every job went pending → dispatching → running → done, with a vCenter task.
            let states = log.filter { $0.job == e.job && $0.type == "job-changed" }.map { $0.state ?? "?" }
            if states != ["dispatching", "running", "done"] { end.problems.append("\(name): states \(states)") }
            if (e.task ?? "").isEmpty { end.problems.append("\(name): done without a task") }
            switch e.kind {
            case "storage":
                guard let ref = e.target, let target = before.datastoreName(ref: ref) else {
                    end.problems.append("\(name): done storage move without a known target (\(e.target ?? "none"))")
                    continue
                }
                if !example.allowedTarget(target) { end.problems.append("\(name) went to \(target)") }
                if !(before.vm(name)?.datastores.isEmpty ?? true), before.vm(name)?.datastores == [target] {
                    end.problems.append("\(name) moved to the datastore it was on")
                }
                end.storageTargets[name] = target
            case "consolidate":
                end.consolidated.insert(name)
            case "remove-snapshot":
                end.snapshotsRemoved.insert(name)
            default:
                end.problems.append("\(name): unexpected job kind \(e.kind ?? "?")")
            }
        }
        // Task progress was reported while copies ran (both backends report progress). Snapshot
        // removals and consolidations last a fraction of a second at the simulator's speed here,
        // so whether an update lands between start and end is timing, not behaviour: only
        // storage moves are held to it.
        if !log.contains(where: { $0.type == "task-progress" }) && expected.contains(where: { $0.hasSuffix(" storage") }) {
            end.problems.append("no task-progress event")
        }
        return end
    }

    @Test("hello-coroutines.lua (a plain script): the same output on both backends, and the moves happen")
    func helloCoroutines() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }

        // The simulator a plain script connects to (mm.connect() with nothing configured);
        // `inventory` shows it only when asked to (--simulate).
        let simInventory = try await runMoonmotion(["inventory", "--json", "--simulate"], directory: dir, environment: noVCenter, timeout: 120)
        #expect(simInventory.status == 0, "\(simInventory.stderr)")
        let simBefore = try InventoryDocument.decode(Data(simInventory.stdout.utf8))
        let sim = try await runMoonmotion(["run", examplePath("hello-coroutines.lua")], directory: dir, environment: noVCenter, timeout: 300)
        let simMoves = Self.checkHello(sim, backend: "simulator", before: simBefore)

        let vc = try await Self.startVCenter()
        defer { vc.stop() }
        let (vcBefore, _) = try await InventoryDocument.fetch(vc, directory: dir)
        let real = try await runMoonmotion(["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("hello-coroutines.lua")],
                                     directory: dir, timeout: 300)
        let vcMoves = Self.checkHello(real, backend: "test vCenter", before: vcBefore)
        #expect(simMoves.count == 3 && vcMoves.count == 3)

        // On the test vCenter, read back: each VM is on the datastore the script printed.
        let (after, _) = try await InventoryDocument.fetch(vc, directory: dir)
        for (vm, target) in vcMoves {
            #expect(after.vm(vm)?.datastores == [target], "\(vm): \(after.vm(vm)?.datastores ?? [])")
        }
        let stats = try await vc.stats(includeTasks: false)
        #expect(stats.moves == Dictionary(uniqueKeysWithValues: vcMoves.keys.map { ($0, 1) }))
    }

    /// hello-coroutines.lua's promises: the workers overlap, it connects, and moves the 3
    /// smallest VMs on legacy-* to a new-* datastore their host mounts. Returns VM → target.
    static func checkHello(_ outcome: ProcessOutcome, backend: String, before: InventoryDocument) -> [String: String] {
        let context = "hello-coroutines.lua on the \(backend): exit \(outcome.status)\n\(outcome.stdout)\n\(outcome.stderr)"
        #expect(outcome.status == 0, "\(context)")
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("3 workers slept 0.6 s in all, in ") }, "\(context)")
        #expect(lines.contains { $0.hasPrefix("connected to ") }, "\(context)")
        #expect(lines.last == "3 of 3 VMs moved", "\(context)")
        // "task-12: moving vm-c1-0003 (10.0 GB) to new-02" … "task-12: vm-c1-0003 done (success)"
        var moves: [String: String] = [:]
        for line in lines where line.contains(": moving ") {
            let words = line.split(separator: " ").map(String.init)
            if words.count >= 7 { moves[words[2]] = words[words.count - 1] }
        }
        let onLegacy = before.vms.filter { $0.datastores.contains { globMatches("legacy-*", $0) } }
        let third = onLegacy.map(\.committedBytes).sorted().dropFirst(2).first ?? 0
        for (vm, target) in moves {
            #expect(lines.contains { $0.hasSuffix(": \(vm) done (success)") }, "\(vm) not done: \(context)")
            #expect(globMatches("new-*", target), "\(vm) → \(target)")
            let v = before.vm(vm)
            #expect(v.map { $0.datastores.contains { globMatches("legacy-*", $0) } } == true, "\(vm) was not on legacy-*")
            #expect((v?.committedBytes ?? .max) <= third, "\(vm) is not among the 3 smallest VMs on legacy-*")
        }
        return moves
    }
}
