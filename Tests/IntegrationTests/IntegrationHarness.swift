import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Shared pieces of the end-to-end tests (MigrationOnTestVCenterTests,
// ExamplesOnBothBackendsTests, PlanAccuracyTests): a `moonmotion` process the test can
// kill, the `--events` JSON lines, the `moonmotion inventory --json` document, globs.
// `runMoonmotion`, `scriptDirectory` and `ProcessOutcome` live in RunCommandTests.swift.

/// The repository's `examples/<name>`.
func examplePath(_ name: String) -> String { repoRoot.appendingPathComponent("examples/\(name)").path }

/// No vCenter configured, whatever the environment says: the built-in simulator.
let noVCenter = ["GOVC_URL": ""]

/// A `moonmotion` process running in the background, which the test may kill at any
/// instant. Its output goes to files read when it ends.
final class BackgroundMoonmotion: @unchecked Sendable {
    private let process = Process()
    private let scratch: URL
    private let outURL: URL
    private let errURL: URL
    /// The arguments it was started with (for messages).
    let arguments: [String]

    /// Starts `moonmotion arguments` in `directory`.
    init(_ arguments: [String], directory: URL, environment: [String: String] = [:]) throws {
        self.arguments = arguments
        process.executableURL = try moonmotionBinary()
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = moonmotionEnvironment(environment)
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mm-bg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        outURL = scratch.appendingPathComponent("out")
        errURL = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Whether it is still running.
    var isRunning: Bool { !process.hasEnded }

    /// Its process id.
    var pid: Int32 { process.processIdentifier }

    /// Sends `signal` (SIGKILL: kill -9).
    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// What it wrote to stdout so far.
    var stdoutSoFar: String { (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" }

    /// What it wrote to stderr so far.
    var stderrSoFar: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }

    /// Waits for the end (SIGKILL after `timeout` s, recorded as an issue) and returns what it left.
    func finish(timeout: Double = 300) async -> ProcessOutcome {
        let start = Date()
        while !process.hasEnded {
            if Date().timeIntervalSince(start) > timeout {
                Issue.record("moonmotion \(arguments) did not finish within \(timeout) s")
                kill(process.processIdentifier, SIGKILL)
                break
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let status = await reapChild(process, what: "moonmotion \(arguments)")
        return ProcessOutcome(status: status,
                              stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                              stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}

/// One line of `moonmotion run --events FILE` (`EventRecord`'s JSON): only the fields the tests read.
struct RunEvent: Decodable, Sendable {
    var type: String
    var job: Int?
    var vm: String?
    var vmName: String?
    var kind: String?
    var state: String?
    var from: String?
    var attempt: Int?
    var task: String?
    var target: String?
    var error: String?
    var outcome: String?
    var jobs: Int?
    var resumed: Bool?
    var message: String?
    var vmotionJob: Int?

    /// Every line of the events file `url`, in order.
    static func read(_ url: URL) throws -> [RunEvent] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { line in
            do {
                return try decoder.decode(RunEvent.self, from: Data(line.utf8))
            } catch {
                throw HarnessError("not an event line in \(url.lastPathComponent): \(line) — \(error)")
            }
        }
    }
}

extension Array where Element == RunEvent {
    /// Each job's last `job-changed`/`job-added` record, by job id.
    var lastStateByJob: [Int: RunEvent] {
        var last: [Int: RunEvent] = [:]
        for e in self where e.type == "job-added" || e.type == "job-changed" {
            if let job = e.job { last[job] = e }
        }
        return last
    }

    /// The ids of the pro-active vMotion jobs the engine inserted (not the strategy's).
    var proactiveVMotionJobs: Set<Int> {
        Set(filter { $0.type == "proactive-vmotion" }.compactMap(\.vmotionJob))
    }

    /// The strategy's jobs' last records (pro-active vMotions left out), by job id.
    var lastStateByStrategyJob: [Int: RunEvent] {
        let inserted = proactiveVMotionJobs
        return lastStateByJob.filter { !inserted.contains($0.key) }
    }

    /// The jobs the strategy selected, as "vm-name kind" strings (sorted; pro-active vMotions left out).
    var addedJobs: [String] {
        let inserted = proactiveVMotionJobs
        return filter { $0.type == "job-added" && !inserted.contains($0.job ?? -1) }
            .map { "\($0.vmName ?? "?") \($0.kind ?? "?")" }.sorted()
    }
}

extension TestVCenter.Stats {
    /// The relocations (`RelocateVM_Task`/`MigrateVM_Task`) of each VM, in creation order.
    var migrationsByVM: [String: [TaskRecord]] {
        var by: [String: [TaskRecord]] = [:]
        for t in tasks.sorted(by: { $0.createdSim < $1.createdSim }) where t.method == "RelocateVM_Task" || t.method == "MigrateVM_Task" {
            by[t.vm, default: []].append(t)
        }
        return by
    }

    /// Whether a migration task changed storage (its destinations name one of `datastores`),
    /// rather than only the host (a pro-active vMotion).
    static func isStorageMove(_ t: TaskRecord, datastores: Set<String>) -> Bool {
        (t.to ?? []).contains { datastores.contains($0) }
    }

    /// Per VM, how its moves at the test vCenter break down: successful storage moves and
    /// successful host-only moves (pro-active vMotions). Problems: a VM whose storage moved
    /// more than once or which was vMotioned more than once, or `moves` not matching the tasks.
    func moveProblems(datastores: Set<String>) -> [String] {
        var problems: [String] = []
        let byVM = migrationsByVM
        for (vm, count) in moves {
            let ok = (byVM[vm] ?? []).filter { $0.state == "success" }
            let storage = ok.filter { Self.isStorageMove($0, datastores: datastores) }.count
            let hostOnly = ok.count - storage
            if storage > 1 { problems.append("\(vm): storage moved \(storage) times") }
            if hostOnly > 1 { problems.append("\(vm): vMotioned \(hostOnly) times") }
            if count != ok.count { problems.append("\(vm): \(count) moves counted, \(ok.count) successful migration tasks") }
        }
        return problems.sorted()
    }

    /// Successful storage moves per VM name.
    func storageMoves(datastores: Set<String>) -> [String: Int] {
        migrationsByVM.compactMapValues { ts in
            let n = ts.filter { $0.state == "success" && Self.isStorageMove($0, datastores: datastores) }.count
            return n > 0 ? n : nil
        }
    }
}

/// The JSON document of `moonmotion inventory --json` (the fields the tests read).
struct InventoryDocument: Decodable, Sendable {
    struct VM: Decodable, Sendable {
        var name: String
        var moref: String
        var host: String?
        var cluster: String?
        var datastores: [String]
        var committedBytes: Int64
        var consolidationNeeded: Bool?
        var snapshots: [Snapshot]?

        enum CodingKeys: String, CodingKey {
            case name, moref, host, cluster, datastores, snapshots
            case committedBytes = "committed"
            case consolidationNeeded = "consolidation_needed"
        }
    }

    struct Snapshot: Decodable, Sendable {
        var name: String
        var createTime: String?

        enum CodingKeys: String, CodingKey {
            case name
            case createTime = "create_time"
        }

        /// `create_time` as a date (ISO 8601, with or without fractional seconds).
        var created: Date? {
            guard let createTime else { return nil }
            let f = ISO8601DateFormatter()
            if let d = f.date(from: createTime) { return d }
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return f.date(from: createTime)
        }
    }

    struct Datastore: Decodable, Sendable {
        var name: String
        var moref: String
    }

    var vms: [VM]
    var datastores: [Datastore]

    /// The VM called `name`.
    func vm(_ name: String) -> VM? { vms.first { $0.name == name } }

    /// Every datastore's name.
    var datastoreNames: Set<String> { Set(datastores.map(\.name)) }

    /// The name of the datastore whose reference is `ref` (`Datastore:<moref>` or a bare moref).
    func datastoreName(ref: String) -> String? {
        let moref = ref.hasPrefix("Datastore:") ? String(ref.dropFirst("Datastore:".count)) : ref
        return datastores.first { $0.moref == moref }?.name
    }

    /// Reads it from `data`.
    static func decode(_ data: Data) throws -> InventoryDocument {
        do {
            return try JSONDecoder().decode(InventoryDocument.self, from: data)
        } catch {
            throw HarnessError("not an inventory document (moonmotion inventory --json): \(error)")
        }
    }

    /// `moonmotion inventory --json` against `vc` (read through the product itself); also
    /// returns the raw document, to be saved for `--inventory FILE`.
    static func fetch(_ vc: TestVCenter, directory: URL) async throws -> (InventoryDocument, Data) {
        let outcome = try await runMoonmotion(["inventory", "--json", "--url", vc.urlWithCredentials.absoluteString],
                                        directory: directory, timeout: 120)
        guard outcome.status == 0 else {
            throw HarnessError("moonmotion inventory --json failed (exit \(outcome.status)): \(outcome.stderr)")
        }
        let data = Data(outcome.stdout.utf8)
        return (try decode(data), data)
    }
}

/// Shell-style glob match (`legacy-*`), as the strategies' globs.
func globMatches(_ pattern: String, _ name: String) -> Bool {
    fnmatch(pattern, name, 0) == 0
}

/// A failure of the test harness itself (unreadable output), with what was wrong.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A small deterministic generator (SplitMix64) for reproducible "random" test choices.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    /// Seeded by `seed`.
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seed of the tests' random choices: `$MM_E2E_SEED`, else `fallback`.
func testSeed(_ fallback: UInt64) -> UInt64 {
    if let s = ProcessInfo.processInfo.environment["MM_E2E_SEED"], let v = UInt64(s) { return v }
    return fallback
}

/// Whether the journal at `path` holds a run: a kill -9 that lands before the run's first write
/// leaves a journal without one, and `--resume` refuses such a journal (a new run starts it).
/// Read with Python's sqlite3 (the tests link no SQLite of their own), read-only.
func journalHoldsRun(_ path: String) async throws -> Bool {
    guard FileManager.default.fileExists(atPath: path) else { return false }
    let script = "import sqlite3,sys\ntry:\n  db=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True)\n  print(db.execute('SELECT count(*) FROM runs').fetchone()[0])\nexcept sqlite3.Error:\n  print(0)"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, path]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    _ = await reapChild(process, what: "python3 (journal check)")
    return (Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0
}
