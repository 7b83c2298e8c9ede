// The journal: a SQLite database (GRDB, WAL mode, synchronous=FULL) that makes a
// run survive kill -9 at any instant without losing a job or moving a VM twice.
//
// What is written, and when
//   * `beginRun`: the run (strategy, parameters, vCenter's name and identity — its
//     `about.instanceUuid` —, start) — before any job. `--resume` refuses a journal
//     made on another vCenter (MigrationRunner.checkIdentity), so a run is never
//     continued with another vCenter's objects.
//   * One transaction per runner step (`write`): the jobs the step touched (latest
//     state), new jobs with their ranks, the events, and
//       - the INTENT of every vCenter call the step is about to make (operation,
//         attempt, time) — committed BEFORE the call is made;
//       - the TASK REFERENCE of every call that returned — committed right AFTER.
//   * `recordPlan` (`run --plan`): the plan's summary, as an event, when the run starts.
//   * `endRun`: how the run ended.
//   SQLite commits are atomic, so a step is on disk entirely or not at all; in WAL
//   mode with synchronous=FULL a committed step survives a crash of the process and
//   of the machine.
//
// Every instant a kill -9 can hit, and what `--resume` does (MigrationRunner+Resume)
//   1. Before the intent is committed: the job is `pending` in the journal and no
//      call was made (calls only follow a committed intent). Resume dispatches it.
//   2. Intent committed, call not made: the job is `dispatching` with an intent time.
//      Resume looks for a task among the VM's recent tasks whose operation matches and
//      that started after the intent (less a clock-skew tolerance), excluding every
//      task reference this job ever had. None: the VM did not move — the fresh
//      inventory confirms it is not on its target — and the job goes back to pending.
//   3. Call made, reference not committed: the task exists in vCenter. Resume finds it
//      as in 2 and adopts it (running: re-attached; ended: recorded). If it aged out of
//      the recent-task list, the fresh inventory shows where the VM is: on its target →
//      done without a call; not on it → the task failed, the job is pending again.
//      Were a running task ever missed, the new call fails with TaskInProgress
//      (retriable), and every retry of a move first re-reads the VM and records it done
//      if it is on its target — so a VM is still never moved twice.
//   4. Reference committed, task running: resume re-attaches by reference.
//   5. Task ended, end not committed: resume reads the task by reference and records
//      its result; if vCenter no longer knows the task, the VM's location decides as in 3.
//   6. End committed: nothing to do.
//   A storage move whose VM is already on its target is recorded done without a call,
//   at creation, at resume and before every retry.
//
// One writer: a journal opened for writing holds `JournalLock` (an flock on
// `<journal>.lock`) for its whole life; a second writer is refused before it reads or
// changes anything. A journal written by a newer Moonmotion (a schema migration this build
// does not know) is refused too: resuming it with older code could misread its jobs.
//
// Never journaled: passwords, session cookies, or anything of the connection besides
// its display name.
import Foundation
import GRDB
import Locking
import VCenterModel

/// The run's durable record (see the comment at the top of this file).
public final class Journal: Sendable {
    private let queue: DatabaseQueue
    /// The file's path.
    public let path: String
    private let crash = Locked<CrashState>(CrashState())
    /// The one-writer lock, held while the journal is open for writing (dropped by `close` and
    /// by an injected crash: a dead process holds no lock).
    private let lock: Locked<JournalLock?>

    /// How a journal is opened.
    public enum Access: Sendable {
        /// To run or resume: takes the one-writer lock, creates or upgrades the schema.
        case write
        /// To look (`moonmotion status`, reports): no lock, no change; the file must exist.
        case read
    }

    private struct CrashState {
        var rule: (@Sendable (JournalBatch) -> JournalCrash?)?
        var crashed = false
    }

    /// Opens (or creates) the journal at `path`, in WAL mode. `durable` (the default)
    /// syncs each commit to disk so it survives a power loss too; without it a commit
    /// survives a crash of the process only.
    public init(path: String, durable: Bool = true, access: Access = .write) throws {
        self.path = path
        if access == .read, !FileManager.default.fileExists(atPath: path) {
            throw JournalError.cannotOpen(path: path, reason: "no such file")
        }
        // Before anything is read or written: a second writer changes nothing.
        lock = Locked(access == .write ? try JournalLock(journalPath: path) : nil)
        var config = Configuration()
        config.journalMode = access == .write ? .wal : .default
        config.readonly = access == .read
        config.busyMode = .timeout(10)
        config.label = "moonmotion.journal"
        let sync = durable ? "FULL" : "NORMAL"
        if access == .write { config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = \(sync)") } }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            try Self.refuseNewerSchema(queue, path: path)
            if access == .write { try Self.migrator.migrate(queue) }
        } catch let error as JournalError {
            throw error
        } catch {
            throw Self.openError(error, path: path)
        }
    }

    /// The migrations this build knows, oldest first.
    static let knownMigrations = ["v1", "v2-vcenter-identity", "v3-file-moves"]

    /// Refuses a journal a newer Moonmotion wrote: its applied migrations include one this
    /// build does not know.
    private static func refuseNewerSchema(_ queue: DatabaseQueue, path: String) throws {
        let unknown: [String] = try queue.read { db in
            guard try db.tableExists("grdb_migrations") else { return [] }
            return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").filter { !knownMigrations.contains($0) }
        }
        if !unknown.isEmpty { throw JournalError.newerSchema(path: path, migrations: unknown) }
    }

    /// What to say when SQLite could not open the file: not a journal at all, no permission,
    /// or another reason.
    private static func openError(_ error: any Error, path: String) -> JournalError {
        if let db = error as? DatabaseError {
            switch db.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT:
                return .notAJournal(path: path)
            case .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
                return .cannotOpen(path: path, reason: "permission denied; check the file's and its directory's permissions")
            case .SQLITE_CANTOPEN:
                return .cannotOpen(path: path, reason: "cannot open it (a missing directory, or no permission to create the file there)")
            default:
                break
            }
        }
        return .cannotOpen(path: path, reason: String(describing: error))
    }

    private static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    strategy TEXT NOT NULL, parameters TEXT NOT NULL, vcenter TEXT NOT NULL,
                    started_at REAL NOT NULL, resumed_at REAL, ended_at REAL,
                    state TEXT NOT NULL, outcome TEXT);
                CREATE TABLE jobs (
                    run_id INTEGER NOT NULL REFERENCES runs(id), id INTEGER NOT NULL,
                    vm TEXT NOT NULL, vm_name TEXT NOT NULL, cluster TEXT, kind TEXT NOT NULL, label TEXT,
                    size INTEGER NOT NULL, rank INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
                    last_error TEXT, task_ref TEXT, target TEXT, source_host TEXT, source_datastores TEXT,
                    created_at REAL NOT NULL, dispatched_at REAL, started_at REAL, finished_at REAL, not_before REAL,
                    parent INTEGER, intent_op TEXT, intent_attempt INTEGER, intent_at REAL,
                    PRIMARY KEY (run_id, id));
                CREATE TABLE task_refs (
                    run_id INTEGER NOT NULL, job_id INTEGER NOT NULL, attempt INTEGER NOT NULL,
                    ref TEXT NOT NULL, at REAL NOT NULL);
                CREATE INDEX task_refs_job ON task_refs(run_id, job_id);
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
                    time REAL NOT NULL, job_id INTEGER, type TEXT NOT NULL, detail TEXT NOT NULL);
                """)
        }
        // v2: the vCenter's identity (`about.instanceUuid`). Runs journaled before it have none.
        m.registerMigration("v2-vcenter-identity") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN vcenter_uuid TEXT")
        }
        // v3: per-file storage moves (where each file of the current attempt goes, so a resume
        // charges every datastore the running move touches) and jobs skipped before they
        // started because the VM cannot move as asked. Older rows read as "no files", "no".
        m.registerMigration("v3-file-moves") { db in
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN moves TEXT")
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN cannot_move INTEGER")
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN last_fault TEXT")
        }
        return m
    }

    // MARK: Runs

    /// Records a new run and returns its id. `vcenterUUID` is the vCenter's
    /// `about.instanceUuid` (nil or empty when the backend has none), which `--resume` checks.
    public func beginRun(strategy: String, parameters: [String: String], vcenter: String, vcenterUUID: String? = nil, at: Date) throws -> Int64 {
        try guarded(nil) {
            try queue.write { db in
                try db.execute(sql: "INSERT INTO runs (strategy, parameters, vcenter, vcenter_uuid, started_at, state) VALUES (?, ?, ?, ?, ?, 'running')",
                               arguments: [strategy, Self.json(parameters), vcenter, vcenterUUID.flatMap { $0.isEmpty ? nil : $0 },
                                           at.timeIntervalSince1970])
                return db.lastInsertedRowID
            }
        }
    }

    /// Records the identity of the vCenter a run works on, for a run journaled without one
    /// (by a Moonmotion that did not record it), so its later resumes are checked.
    public func recordVCenterIdentity(_ run: Int64, uuid: String) throws {
        try guarded(nil) {
            try queue.write { db in
                try db.execute(sql: "UPDATE runs SET vcenter_uuid = ? WHERE id = ? AND vcenter_uuid IS NULL", arguments: [uuid, run])
            }
        }
    }

    /// Marks a run as running again (on resume).
    public func resumeRun(_ run: Int64, at: Date) throws {
        try guarded(nil) {
            try queue.write { db in
                try db.execute(sql: "UPDATE runs SET state = 'running', resumed_at = ?, ended_at = NULL WHERE id = ?",
                               arguments: [at.timeIntervalSince1970, run])
            }
        }
    }

    /// Records how a run ended.
    public func endRun(_ run: Int64, outcome: RunOutcome, at: Date) throws {
        try guarded(nil) {
            try queue.write { db in
                try db.execute(sql: "UPDATE runs SET state = ?, outcome = ?, ended_at = ? WHERE id = ?",
                               arguments: [outcome.name, outcome.description, at.timeIntervalSince1970, run])
            }
        }
    }

    /// Records the plan the run is held to (`run --plan`): `json` is the plan's summary
    /// (RunReport's `ReportPlan`), kept as an event of type `plan` so the run's report can
    /// set what happened beside it. An event, not a table: no schema change, and every reader
    /// of the event log looks for the types it knows only.
    public func recordPlan(_ run: Int64, json: String, at: Date) throws {
        try guarded(nil) {
            try queue.write { db in
                try db.execute(sql: "INSERT INTO events (run_id, time, job_id, type, detail) VALUES (?, ?, NULL, 'plan', ?)",
                               arguments: [run, at.timeIntervalSince1970, json])
            }
        }
    }

    /// The most recent run, if any.
    public func latestRun() throws -> JournalRun? {
        try queue.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM runs ORDER BY id DESC LIMIT 1") else { return nil }
            return try JournalRun(row: row)
        }
    }

    // MARK: Steps

    /// Writes one runner step in one transaction.
    public func write(_ batch: JournalBatch, run: Int64) throws {
        try guarded(batch) {
            try queue.write { db in
                for (id, job) in batch.jobs.sorted(by: { $0.key < $1.key }) {
                    try upsert(job, rank: batch.ranks[id], run: run, db)
                }
                for intent in batch.intents {
                    try db.execute(sql: "UPDATE jobs SET intent_op = ?, intent_attempt = ?, intent_at = ? WHERE run_id = ? AND id = ?",
                                   arguments: [intent.operation, intent.attempt, intent.at.timeIntervalSince1970, run, intent.job.rawValue])
                }
                for ref in batch.taskRefs {
                    try db.execute(sql: "UPDATE jobs SET task_ref = ? WHERE run_id = ? AND id = ?",
                                   arguments: [ref.ref.description, run, ref.job.rawValue])
                    try db.execute(sql: "INSERT INTO task_refs (run_id, job_id, attempt, ref, at) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [run, ref.job.rawValue, ref.attempt, ref.ref.description, ref.at.timeIntervalSince1970])
                }
                if !batch.events.isEmpty {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    let insert = try db.makeStatement(sql: "INSERT INTO events (run_id, time, job_id, type, detail) VALUES (?, ?, ?, ?, ?)")
                    for event in batch.events {
                        let record = EventRecord(event)
                        try insert.execute(arguments: [run, event.time.timeIntervalSince1970, record.job, record.type,
                                                       String(decoding: try encoder.encode(record), as: UTF8.self)])
                    }
                }
            }
        }
    }

    private func upsert(_ job: Job, rank: Int?, run: Int64, _ db: Database) throws {
        let kind = String(decoding: try JSONEncoder().encode(KindRecord(job.kind)), as: UTF8.self)
        let sources = Self.json(job.sourceDatastores.map(\.description))
        let values: [(any DatabaseValueConvertible)?] = [
            run, job.id.rawValue, job.vm.description, job.vmName, job.cluster?.description, kind, job.label,
            job.size, rank ?? Int.max, job.state.rawValue, job.attempts, job.lastError, job.taskRef?.description,
            job.target?.description, job.sourceHost?.description, sources, job.createdAt.timeIntervalSince1970,
            job.dispatchedAt?.timeIntervalSince1970, job.startedAt?.timeIntervalSince1970, job.finishedAt?.timeIntervalSince1970,
            job.notBefore?.timeIntervalSince1970, job.parent?.rawValue,
            job.moves.isEmpty ? nil : String(decoding: try JSONEncoder().encode(job.moves), as: UTF8.self), job.cannotMove ? 1 : nil,
            job.lastFault?.rawValue,
        ]
        try db.execute(sql: """
            INSERT INTO jobs (run_id, id, vm, vm_name, cluster, kind, label, size, rank, state, attempts, last_error, task_ref,
                              target, source_host, source_datastores, created_at, dispatched_at, started_at, finished_at, not_before, parent,
                              moves, cannot_move, last_fault)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(run_id, id) DO UPDATE SET
                vm_name = excluded.vm_name, kind = excluded.kind, label = excluded.label, state = excluded.state, attempts = excluded.attempts,
                last_error = excluded.last_error, task_ref = excluded.task_ref, target = excluded.target,
                source_host = excluded.source_host, source_datastores = excluded.source_datastores,
                dispatched_at = excluded.dispatched_at, started_at = excluded.started_at, finished_at = excluded.finished_at,
                not_before = excluded.not_before, moves = excluded.moves, cannot_move = excluded.cannot_move,
                last_fault = excluded.last_fault
            """, arguments: StatementArguments(values))
    }

    // MARK: Reading back

    /// Every job of a run, in id order, with its rank and last intent.
    public func jobs(of run: Int64) throws -> [JournalJob] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE run_id = ? ORDER BY id", arguments: [run]).map { try JournalJob(row: $0) }
        }
    }

    /// Every task reference any job of the run ever had.
    public func taskRefs(of run: Int64) throws -> [JobID: [MoRef]] {
        try queue.read { db in
            var result: [JobID: [MoRef]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT job_id, ref FROM task_refs WHERE run_id = ? ORDER BY rowid", arguments: [run]) {
                if let ref = MoRef(parsing: row["ref"]) { result[JobID(row["job_id"]), default: []].append(ref) }
            }
            return result
        }
    }

    /// The run's event log, oldest first: (time, job, type, JSON detail).
    public func events(of run: Int64) throws -> [JournalEventRow] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT time, job_id, type, detail FROM events WHERE run_id = ? ORDER BY seq", arguments: [run]).map { row in
                JournalEventRow(time: Date(timeIntervalSince1970: row["time"]), job: (row["job_id"] as Int?).map(JobID.init),
                                type: row["type"], detail: row["detail"])
            }
        }
    }

    /// The run's events of the given types, oldest first (the report's window boundaries and
    /// predictions, without decoding the whole log).
    public func events(of run: Int64, types: [String]) throws -> [JournalEventRow] {
        guard !types.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: types.count).joined(separator: ",")
        var values: [(any DatabaseValueConvertible)?] = [run]
        values += types.map { $0 }
        let arguments = StatementArguments(values)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT time, job_id, type, detail FROM events WHERE run_id = ? AND type IN (\(marks)) ORDER BY seq",
                             arguments: arguments).map { row in
                JournalEventRow(time: Date(timeIntervalSince1970: row["time"]), job: (row["job_id"] as Int?).map(JobID.init),
                                type: row["type"], detail: row["detail"])
            }
        }
    }

    /// The newest event of `type` in a run's log, if any.
    public func latestEvent(of run: Int64, type: String) throws -> JournalEventRow? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT time, job_id, type, detail FROM events WHERE run_id = ? AND type = ? ORDER BY seq DESC LIMIT 1",
                             arguments: [run, type]).map { row in
                JournalEventRow(time: Date(timeIntervalSince1970: row["time"]), job: (row["job_id"] as Int?).map(JobID.init),
                                type: row["type"], detail: row["detail"])
            }
        }
    }

    /// The time of the run's newest event, if any.
    public func lastEventTime(of run: Int64) throws -> Date? {
        try queue.read { db in
            try Double.fetchOne(db, sql: "SELECT time FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", arguments: [run])
                .map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Whether a process still writes this journal: false when the process that last took its
    /// one-writer lock ran on this host and has gone (killed, crashed). Read from the lock
    /// file without taking the lock.
    public var writerIsAlive: Bool {
        JournalLock.lastHolder(journalPath: path).map(JournalLock.isAlive) ?? false
    }

    /// Who last took the journal's one-writer lock, as its lock file says (`PID 4242 on vc-ops
    /// since 2026-12-06T20:01:02Z`); nil without a lock file. For messages that refuse to act
    /// on a journal a live process still writes (`moonmotion rollback`).
    public var lastWriter: String? {
        JournalLock.lastHolder(journalPath: path)?.description
    }

    /// Gives up the one-writer lock: another run may open the journal for writing from now on.
    /// Further writes through this object still work (tests only; a run's journal is closed
    /// by its end).
    public func close() {
        lock.withLock { $0 = nil }
    }

    // MARK: Crash simulation

    /// For crash tests: from the first batch `rule` picks on, the journal behaves as if
    /// the process died — before that batch is written, or right after it is committed —
    /// and every later write throws, so the runner stops without another vCenter call.
    public func injectCrash(_ rule: @escaping @Sendable (JournalBatch) -> JournalCrash?) {
        crash.withLock { $0.rule = rule }
    }

    /// Whether an injected crash has happened.
    public var hasCrashed: Bool { crash.withLock { $0.crashed } }

    private func guarded<T>(_ batch: JournalBatch?, _ body: () throws -> T) throws -> T {
        let mode: JournalCrash? = try crash.withLock { s in
            if s.crashed { throw JournalError.crashed }
            guard let batch, let rule = s.rule, let mode = rule(batch) else { return nil }
            if mode == .beforeWrite {
                s.crashed = true
                lock.withLock { $0 = nil }
                throw JournalError.crashed
            }
            return mode
        }
        let result: T
        do {
            result = try body()
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError.writeFailed(path: path, reason: String(describing: error))
        }
        if mode == .afterWrite {
            crash.withLock { $0.crashed = true }
            lock.withLock { $0 = nil }
            throw JournalError.crashed
        }
        return result
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

/// Where an injected crash hits a batch.
public enum JournalCrash: Sendable, Hashable {
    /// The process dies before the batch is written.
    case beforeWrite
    /// The process dies right after the batch is committed.
    case afterWrite
}

/// A journal failure, saying what to do.
public enum JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// Another process (or another `Journal` of this one) writes it.
    case inUse(path: String, holder: String)
    /// A newer Moonmotion wrote it (these migrations are unknown here).
    case newerSchema(path: String, migrations: [String])
    /// The file is not a Moonmotion journal (not an SQLite database).
    case notAJournal(path: String)
    case writeFailed(path: String, reason: String)
    case corrupt(String)
    /// An injected crash (tests).
    case crashed

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open the journal \(path): \(reason)"
        case .inUse(let path, let holder):
            "the journal \(path) is in use by another moonmotion run (\(holder)); nothing was changed — wait for that run to end (or stop it with Ctrl-C), then resume"
        case .newerSchema(let path, let migrations):
            "the journal \(path) was written by a newer Moonmotion (it has \(migrations.joined(separator: ", ")), which this version does not know); continue it with that version, or start a new journal"
        case .notAJournal(let path): "\(path) is not a Moonmotion journal (not an SQLite database); give another --journal file"
        case .writeFailed(let path, let reason): "cannot write the journal \(path): \(reason); check free disk space"
        case .corrupt(let what): "the journal is damaged: \(what)"
        case .crashed: "simulated crash: the journal accepts no more writes"
        }
    }
}

/// A run as the journal recorded it.
public struct JournalRun: Sendable, Hashable {
    /// The run id.
    public var id: Int64
    /// The strategy's name.
    public var strategy: String
    /// The strategy's parameters.
    public var parameters: [String: String]
    /// The vCenter's display name (never credentials).
    public var vcenter: String
    /// The vCenter's `about.instanceUuid`; nil for a run journaled before Moonmotion
    /// recorded it, or on a backend without one.
    public var vcenterUUID: String?
    /// When the run started.
    public var startedAt: Date
    /// When it last ended (nil while running or after a crash).
    public var endedAt: Date?
    /// `running` (or interrupted), `completed`, `stopped`, `aborted`, `abandoned`.
    public var state: String
    /// How it ended, in words (`aborted: <reason>`); nil while running.
    public var outcome: String?

    init(row: Row) throws {
        id = row["id"]
        strategy = row["strategy"]
        let params: String = row["parameters"]
        parameters = (try? JSONDecoder().decode([String: String].self, from: Data(params.utf8))) ?? [:]
        vcenter = row["vcenter"]
        vcenterUUID = row["vcenter_uuid"]
        startedAt = Date(timeIntervalSince1970: row["started_at"])
        endedAt = (row["ended_at"] as Double?).map { Date(timeIntervalSince1970: $0) }
        state = row["state"]
        outcome = row["outcome"]
    }
}

/// A job as the journal recorded it, with its rank and its last intent.
public struct JournalJob: Sendable, Hashable {
    /// The job as last journaled.
    public var job: Job
    /// Its rank in the strategy's order.
    public var rank: Int
    /// The last call's intent: operation, attempt and time; nil when never dispatched.
    public var intentOperation: String?
    /// The attempt number of that intent.
    public var intentAttempt: Int?
    /// When that intent was written.
    public var intentAt: Date?

    init(row: Row) throws {
        func ref(_ column: String) -> MoRef? { (row[column] as String?).flatMap { MoRef(parsing: $0) } }
        func date(_ column: String) -> Date? { (row[column] as Double?).map { Date(timeIntervalSince1970: $0) } }
        let kindText: String = row["kind"]
        let kind = try JSONDecoder().decode(KindRecord.self, from: Data(kindText.utf8)).kind()
        guard let vm = ref("vm") else { throw JournalError.corrupt("job \(row["id"] as Int? ?? -1) has no VM") }
        let stateText: String = row["state"]
        guard let state = JobState(rawValue: stateText) else { throw JournalError.corrupt("unknown job state '\(stateText)'") }
        let sourcesText: String? = row["source_datastores"]
        let sources = sourcesText.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        job = Job(
            id: JobID(row["id"]), vm: vm, vmName: row["vm_name"], cluster: ref("cluster"), kind: kind, label: row["label"],
            size: row["size"], state: state, attempts: row["attempts"], lastError: row["last_error"], taskRef: ref("task_ref"),
            target: ref("target"), sourceHost: ref("source_host"), sourceDatastores: sources.compactMap { MoRef(parsing: $0) },
            createdAt: date("created_at") ?? Date(timeIntervalSince1970: 0), dispatchedAt: date("dispatched_at"),
            startedAt: date("started_at"), finishedAt: date("finished_at"), notBefore: date("not_before"),
            parent: (row["parent"] as Int?).map(JobID.init),
            moves: try (row["moves"] as String?).map { try JSONDecoder().decode([FileMove].self, from: Data($0.utf8)) } ?? [],
            cannotMove: (row["cannot_move"] as Int?) == 1)
        job.lastFault = (row["last_fault"] as String?).map(VCenterFault.Code.init(rawValue:))
            // Journaled before faults had codes: the type is the text before the first colon.
            ?? job.lastError.flatMap { text in text.firstIndex(of: ":").map { VCenterFault.Code(String(text[..<$0])) } }
        rank = row["rank"]
        intentOperation = row["intent_op"]
        intentAttempt = row["intent_attempt"]
        intentAt = date("intent_at")
    }
}

/// One row of the journal's event log.
public struct JournalEventRow: Sendable, Hashable {
    /// When it happened.
    public var time: Date
    /// The job as last journaled.
    public var job: JobID?
    /// The event type (see `EventRecord.type`).
    public var type: String
    /// The event as JSON (`EventRecord`).
    public var detail: String
}
