import Foundation
import Testing
import TestSupport

@Suite("moonmotion plan")
struct PlanCommandTests {
    private static let storageMigration = repoRoot.appendingPathComponent("examples/storage-migration.lua").path

    @Test("prints the predicted makespan, per-cluster slots from the strategy's limits, and writes the files with --out")
    func textReportAndFiles() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("plan-out")
        let outcome = try await runMoonmotion(
            ["plan", Self.storageMigration, "--generate", "clusters=2,hosts=4,vms=40", "--rate", "200",
             "--start", "2026-12-05 22:00", "--out", out.path],
            directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let text = outcome.stdout
        #expect(text.contains("storage-migration: 40 VMs on legacy-* move to new-*"))
        #expect(text.contains("Plan: storage-migration.lua, simulated on a generated inventory (2 clusters, 8 hosts, 40 VMs)"))
        #expect(text.contains("Predicted makespan"))
        #expect(text.contains("(2026-12-05 22:00"), "the window's clock times")
        #expect(text.contains("200 MiB/s per Storage vMotion"))
        #expect(text.contains("slots: configured by the engine for cluster-1, cluster-2"))
        #expect(text.contains("Peak concurrency"))
        #expect(text.contains("Engine: 40 jobs: 40 done, 0 failed, 0 skipped"))
        for name in ["timeline-hosts.html", "timeline-datastores.html", "plan.json", "plan.txt"] {
            let path = out.appendingPathComponent(name).path
            #expect(text.contains(path), "the paths written are printed")
            #expect(FileManager.default.fileExists(atPath: path), "\(name) written")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("plan.json"))) as? [String: Any]
        let makespan = json?["makespanSeconds"] as? Double ?? 0
        #expect(makespan > 3600, "40 VMs of ~170 GB over 2 slots per cluster take hours: \(makespan)")
        let clusters = json?["clusters"] as? [[String: Any]] ?? []
        #expect(clusters.count == 2)
        // storage-migration.lua: half of the hosts per cluster (2 of 4), 2 per host.
        #expect(clusters.allSatisfy { $0["slots"] as? Int == 2 && $0["slotSource"] as? String == "configured" }, "\(clusters)")
        let totals = json?["totals"] as? [String: Any]
        #expect(totals?["vmsMoved"] as? Int == 40)
        #expect(totals?["tasksQueuedByLimit"] as? Int == 0)
    }

    @Test("--json: the report document on stdout, what the strategy prints on stderr; a faster rate plans a shorter run")
    func jsonAndRate() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        func makespan(_ rate: String) async throws -> Double {
            let outcome = try await runMoonmotion(
                ["plan", Self.storageMigration, "--generate", "clusters=1,hosts=4,vms=20", "--rate", rate, "--json"],
                directory: dir, environment: ["GOVC_URL": ""])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("storage-migration: 20 VMs"))
            let json = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
            return json?["makespanSeconds"] as? Double ?? 0
        }
        let slow = try await makespan("100"), fast = try await makespan("400")
        #expect(slow > 0 && fast > 0)
        // Copies take 15 s of setup plus size ÷ rate: four times the rate, about a quarter of the time.
        #expect(fast < slow / 3 && fast > slow / 5, "\(slow) s at 100 MB/s, \(fast) s at 400 MB/s")
    }

    @Test("--inject rehearses failures: every 5th copy fails FileLocked, the engine retries, every VM still moves; bad specs are refused")
    func injectedFailures() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(
            ["plan", Self.storageMigration, "--generate", "clusters=1,hosts=4,vms=20", "--inject", "every=5", "--json"],
            directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        let totals = try #require(json["totals"] as? [String: Any])
        let byFault = totals["failuresByFault"] as? [String: Int] ?? [:]
        #expect((byFault["FileLocked"] ?? 0) >= 4, "\(totals)")
        #expect(totals["vmsMoved"] as? Int == 20, "retried copies moved every VM: \(totals)")

        let text = try await runMoonmotion(
            ["plan", Self.storageMigration, "--generate", "clusters=1,hosts=4,vms=20", "--inject", "every=5"],
            directory: dir, environment: ["GOVC_URL": ""])
        #expect(text.status == 0)
        #expect(text.stdout.contains("FileLocked"), "\(text.stdout)")

        let bad = try await runMoonmotion(["plan", Self.storageMigration, "--inject", "every=five"], directory: dir, environment: ["GOVC_URL": ""])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--inject every=five: simulator configuration: 'every=five' needs a whole number"), "\(bad.stderr)")
    }

    @Test("plans on an inventory saved by `moonmotion inventory --json` from the test vCenter")
    func fromInventoryFile() async throws {
        let vc = try await TestVCenter.start(.init(clusters: 2, hosts: 4, vms: 10))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let saved = try await runMoonmotion(["inventory", "--json", "--url", vc.urlWithCredentials.absoluteString], directory: dir)
        #expect(saved.status == 0, "\(saved.stderr)")
        let file = dir.appendingPathComponent("inventory.json")
        try saved.stdout.write(to: file, atomically: true, encoding: .utf8)

        // With a vCenter configured and no --inventory/--generate: its live inventory, read only.
        let live = try await runMoonmotion(["plan", "--url", vc.urlWithCredentials.absoluteString, Self.storageMigration], directory: dir)
        #expect(live.status == 0, "\(live.stderr)")
        #expect(live.stderr.contains("planning on the inventory of"))
        #expect(live.stdout.contains("Engine: 20 jobs: 20 done"))
        let stats = try await vc.stats()
        #expect(stats.moves.isEmpty && stats.calls("RelocateVM_Task") == 0, "plan changed nothing in vCenter")
        vc.stop()  // the plan below reads the file, not the server

        let outcome = try await runMoonmotion(["plan", Self.storageMigration, "--inventory", file.path], directory: dir,
                                        environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("storage-migration: 20 VMs on legacy-* move to new-*"))
        #expect(outcome.stdout.contains("Plan: storage-migration.lua, simulated on inventory inventory.json (2 clusters, 8 hosts, 20 VMs)"))
        #expect(outcome.stdout.contains("Predicted makespan"))
        #expect(outcome.stdout.contains("Engine: 20 jobs: 20 done, 0 failed, 0 skipped"))
    }

    @Test("errors: a bad strategy, a plain script, a bad option — one clear line, exit 1 (usage: 64)")
    func errors() async throws {
        let dir = try scriptDirectory([
            "limits.lua": """
                local s = require "moonmotion.strategy"
                return s.new {
                  select = function(inv) return s.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
                  limits = function(cluster) return { per_hots = 2 } end,
                }
                """,
            "plain.lua": "print('hello')\n",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = ["--generate", "clusters=1,hosts=2,vms=4"]
        let limits = try await runMoonmotion(["plan", "limits.lua"] + small, directory: dir, environment: ["GOVC_URL": ""])
        #expect(limits.status == 1)
        #expect(limits.stderr.hasPrefix("moonmotion: the strategy's limits hook failed before anything started"), "\(limits.stderr)")
        #expect(limits.stderr.contains("per_hots"))
        #expect(limits.stdout.isEmpty)

        let plain = try await runMoonmotion(["plan", "plain.lua"] + small, directory: dir, environment: ["GOVC_URL": ""])
        #expect(plain.status == 1)
        #expect(plain.stderr.contains("plain.lua returned no strategy table"))

        let spec = try await runMoonmotion(["plan", "plain.lua", "--generate", "clusters=x"], directory: dir, environment: ["GOVC_URL": ""])
        #expect(spec.status == 1)
        #expect(spec.stderr.contains("--generate clusters=x"))

        let start = try await runMoonmotion(["plan", "plain.lua", "--start", "tomorrow"], directory: dir)
        #expect(start.status == 64)
        #expect(start.stderr.contains("--start 'tomorrow' is not a time"))
    }

    @Test("plan --help explains the inventory sources, the rate model, --out and --json")
    func help() async throws {
        let help = try await runMoonmotion(["plan", "--help"])
        #expect(help.status == 0)
        for word in ["--inventory", "--generate", "--rate", "--datastore-bandwidth", "--start", "--out", "--json",
                     "makespan", "virtual time", "timeline", "Examples"] {
            // Words may wrap onto the next line.
            let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(text.contains(word), "plan --help lacks \(word)")
        }
    }

    @Test("a strategy that always answers retry to a fault that never clears ends in seconds, naming the job and its faults")
    func alwaysRetryEnds() async throws {
        let dir = try scriptDirectory(["always-retry.lua": """
            local strategy = require "moonmotion.strategy"
            return strategy.new {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              on_failure = function(job, err) return "retry" end,
            }
            """])
        defer { try? FileManager.default.removeItem(at: dir) }
        // Before retries.limit this plan never ended (1072 simulated days, 176,921 tasks at 100%
        // CPU). Alone it now takes about 0.3 s; the bound is on the CPU time it uses, which a
        // machine loaded by the rest of the suite (8 s of wall time seen for the same run) does
        // not stretch. The wall bound is the harness's 60 s.
        let (outcome, cpu) = try await Self.runCounted(
            ["plan", dir.appendingPathComponent("always-retry.lua").path, "--generate", "clusters=1,hosts=2,vms=2",
             "--inject", "rate=1,fault=FileLocked"], directory: dir)
        #expect(cpu < 5, "plan used \(cpu) s of CPU")
        let text = outcome.stdout + outcome.stderr
        #expect(text.contains("Engine: 2 jobs: 0 done, 2 failed"), "\(text)")
        // Each job is named with its VM, its faults and the limit.
        let failures = text.split(separator: "\n").filter { $0.contains("failed: ") && $0.contains("gave up after 25 attempts (FileLocked ×25)") }
        #expect(failures.count == 2, "\(text)")
        #expect(failures.allSatisfy { $0.contains("(storage") }, "\(failures)")
    }

    /// Runs moonmotion under `sh`, whose `times` reports the CPU time (user + system) its
    /// children used; returns the outcome (without `times`' lines) and that time in seconds.
    static func runCounted(_ arguments: [String], directory: URL) async throws -> (ProcessOutcome, Double) {
        let outcome = try await runMoonmotion(arguments, directory: directory, environment: ["GOVC_URL": ""],
                                              shell: #"timeout 60 "$@"; status=$?; times >&2; exit $status"#)
        // `times` prints the shell's own times, then its children's: "0m0.21s 0m0.03s".
        var lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard lines.count >= 2 else { return (outcome, .infinity) }
        let children = lines.removeLast()
        lines.removeLast()
        let seconds = children.split(separator: " ").map { field -> Double in
            let parts = field.dropLast().split(separator: "m")
            guard parts.count == 2, let m = Double(parts[0]), let s = Double(parts[1]) else { return .infinity }
            return m * 60 + s
        }.reduce(0, +)
        return (ProcessOutcome(status: outcome.status, stdout: outcome.stdout, stderr: lines.joined(separator: "\n")), seconds)
    }
}
