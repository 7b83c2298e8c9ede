import Foundation
import MigrationEngine
import VCenterModel

/// One job of a VM as the report shows it: what moved from where to where, when, how fast,
/// in how many attempts, and how it ended.
public struct ReportJob: Sendable, Hashable {
    /// One file's (or, for a job that moves no files, the job's) from → to.
    public struct Move: Sendable, Hashable {
        /// `config`, the disk's label, or empty for a job that moves no files (a host move).
        public var file: String
        /// Where it was (a datastore's or host's name); nil when the journal does not say.
        public var from: String?
        /// Where it goes.
        public var to: String?
        /// The bytes its copy writes (0 for a job that copies nothing).
        public var bytes: Int64
    }

    /// The job's id in the journal.
    public var id: Int
    /// `storage`, `host`, `storage+host`, `consolidate`, … (`JobKind.name`).
    public var kind: String
    /// Whether the engine inserted it (a pro-active vMotion) rather than the strategy.
    public var proactive: Bool
    /// What it moves, one entry per file (at least one entry).
    public var moves: [Move]
    /// The bytes the job copies.
    public var bytes: Int64
    /// When it was dispatched (its call was about to be made).
    public var queued: Date?
    /// When vCenter's task started.
    public var started: Date?
    /// When it ended; nil when the journal records no end.
    public var ended: Date?
    /// Calls made for it.
    public var attempts: Int
    /// How it ended.
    public var result: ReportResult
    /// Why it failed, was blocked or skipped, or its last fault; nil when nothing went wrong.
    public var reason: String?

    /// The copy's mean rate, bytes per second from the task's start to its end; nil unless
    /// done with bytes copied.
    public var rate: Double? {
        guard result == .done, bytes > 0, let started, let ended, ended > started else { return nil }
        return Double(bytes) / ended.timeIntervalSince(started)
    }

    /// The report's form of a journaled job; `name` names a reference (datastores, hosts).
    init(_ job: Job, name: (MoRef) -> String) {
        id = job.id.rawValue
        kind = job.kind.name
        proactive = job.isProactive
        result = ReportResult(job)
        attempts = job.attempts
        queued = job.dispatchedAt
        started = job.startedAt ?? (job.state.isTerminal && job.attempts > 0 ? job.dispatchedAt : nil)
        ended = job.state.isTerminal ? job.finishedAt : nil
        // Done without a call (the VM was already on its target) copied nothing.
        let copied = job.kind.movesStorage && !(job.state == .done && job.attempts == 0)
        bytes = copied ? job.size : 0
        reason = result == .done ? nil : job.lastError
        var moves: [Move] = []
        if !job.moves.isEmpty {
            moves = job.moves.map { Move(file: $0.label, from: $0.from.map(name), to: name($0.to), bytes: copied ? $0.bytes : 0) }
        } else if job.kind.movesStorage {
            // Not dispatched (no file was placed yet), or journaled before files were recorded.
            let from = job.sourceDatastores.isEmpty ? nil : job.sourceDatastores.map(name).joined(separator: ", ")
            moves = [Move(file: "", from: from, to: job.target.map(name), bytes: bytes)]
        }
        if let host = job.kind.destinationHost {
            moves.append(Move(file: "", from: job.sourceHost.map(name), to: name(host), bytes: 0))
        }
        if moves.isEmpty { moves = [Move(file: "", from: nil, to: nil, bytes: 0)] }
        self.moves = moves
    }
}
