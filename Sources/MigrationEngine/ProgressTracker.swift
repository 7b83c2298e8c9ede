import Foundation
import Locking
import VCenterModel

/// Aggregates `EngineEvent`s into progress per cluster and overall: VMs done of
/// total, bytes moved, recent rate, ETA, running tasks with their percentage.
/// Thread-safe: feed it from the runner's event handler and take snapshots from a
/// display timer on another thread.
public final class ProgressTracker: Sendable {
    private struct Entry {
        var state: JobState
        var size: Int64
        var cluster: MoRef?
        var movesStorage: Bool
        var proactive: Bool
        var attempts: Int
        var percent: Int?
        var job: Job
    }

    private struct State {
        var startedAt: Date?
        var lastTime: Date?
        var outcome: RunOutcome?
        var resumed = false
        var names: [MoRef: String] = [:]
        var jobs: [JobID: Entry] = [:]
        var running = Set<JobID>()
        /// (time, cumulative bytes of finished moves), for the rate.
        var samples: [(Date, Int64)] = []
        var finishedBytes: Int64 = 0
        var failures: [String] = []
        var faults: [String: Int] = [:]
        var forecast: RunForecast?
    }

    private let state = Locked(State())
    /// The window over which the rate is measured.
    public let rateWindow: TimeInterval

    /// Creates a tracker; the rate is measured over the last `rateWindow` seconds.
    public init(rateWindow: TimeInterval = 900) {
        self.rateWindow = rateWindow
    }

    /// Takes one event into account.
    public func record(_ event: EngineEvent) {
        state.withLock { s in
            s.lastTime = event.time
            switch event.kind {
            case .runStarted(let start):
                if s.startedAt == nil { s.startedAt = event.time }
                s.resumed = start.resumed
                s.names.merge(start.names) { a, _ in a }
                s.samples = [(event.time, s.finishedBytes)]
            case .jobAdded(let job):
                if s.startedAt == nil { s.startedAt = event.time }
                s.jobs[job.id] = Entry(state: job.state, size: job.size, cluster: job.cluster, movesStorage: job.kind.movesStorage,
                                       proactive: job.isProactive, attempts: job.attempts, percent: nil, job: job)
                if job.state.isActive { s.running.insert(job.id) }
            case .jobChanged(let job, let from):
                var e = s.jobs[job.id] ?? Entry(state: from, size: job.size, cluster: job.cluster, movesStorage: job.kind.movesStorage,
                                                proactive: job.isProactive, attempts: job.attempts, percent: nil, job: job)
                e.state = job.state
                e.attempts = job.attempts
                e.job = job
                if job.state.isActive { s.running.insert(job.id) } else { s.running.remove(job.id); e.percent = nil }
                if job.state == .done, e.movesStorage, job.attempts > 0 {
                    s.finishedBytes += job.size
                    s.samples.append((event.time, s.finishedBytes))
                }
                if job.state == .failed, from != .failed, let fault = job.lastFault { s.faults[fault.rawValue, default: 0] += 1 }
                if job.state == .failed || job.state == .skipped, !job.isProactive {
                    s.failures.append("\(job.vmName): \(job.state.rawValue): \(job.lastError ?? "")")
                    if s.failures.count > 20 { s.failures.removeFirst(s.failures.count - 20) }
                }
                s.jobs[job.id] = e
            case .taskProgress(let id, _, let percent):
                s.jobs[id]?.percent = percent
            case .retryScheduled(let job, _, let fault):
                s.faults[fault.code.rawValue, default: 0] += 1
                s.jobs[job.id]?.state = job.state
                s.jobs[job.id]?.job = job
                s.running.remove(job.id)
            case .runFinished(let outcome):
                s.outcome = outcome
            case .forecast(let forecast):
                s.forecast = forecast
            case .proactiveVMotion, .externalTask, .warning, .window, .pacingChanged:
                break
            }
        }
    }

    /// The progress now (`now` defaults to the latest event's time).
    public func snapshot(at now: Date? = nil) -> ProgressSnapshot {
        state.withLock { s in
            let t = now ?? s.lastTime ?? Date()
            var overall = ProgressTotals()
            var perCluster: [MoRef: ProgressTotals] = [:]
            var running: [RunningTask] = []
            for (id, e) in s.jobs where !e.proactive {
                var add = ProgressTotals()
                add.jobs = 1
                switch e.state {
                case .done: add.done = 1
                case .failed: add.failed = 1
                case .skipped: add.skipped = 1
                case .running, .dispatching: add.running = 1
                case .pending: add.pending = 1
                }
                if e.movesStorage {
                    let placedWithoutCall = e.state == .done && e.attempts == 0
                    if e.state != .failed && e.state != .skipped && !placedWithoutCall { add.bytesTotal = e.size }
                    if e.state == .done && !placedWithoutCall {
                        add.bytesDone = e.size
                    } else if e.state == .running, let p = e.percent {
                        add.bytesDone = e.size * Int64(max(0, min(p, 100))) / 100
                    }
                }
                Self.accumulate(&overall, add)
                if let c = e.cluster { Self.accumulate(&perCluster[c, default: ProgressTotals()], add) }
                if s.running.contains(id) { running.append(Self.runningTask(e, names: s.names)) }
            }
            for (id, e) in s.jobs where e.proactive && s.running.contains(id) { running.append(Self.runningTask(e, names: s.names)) }
            overall.rate = rate(s, now: t)
            Self.setETA(&overall, forecastEnd: s.forecast?.end, now: t)
            // Per-cluster rate: the cluster's share of the bytes finished in the window.
            var clusters: [(String, ProgressTotals)] = []
            for (ref, var totals) in perCluster {
                totals.rate = overall.bytesDone > 0 ? overall.rate * Double(totals.bytesDone) / Double(overall.bytesDone) : 0
                Self.setETA(&totals, forecastEnd: s.forecast?.clusters[ref], now: t)
                clusters.append((s.names[ref] ?? ref.value, totals))
            }
            clusters.sort { $0.0 < $1.0 }
            running.sort { ($0.startedAt ?? .distantFuture, $0.job) < ($1.startedAt ?? .distantFuture, $1.job) }
            var snapshot = ProgressSnapshot(startedAt: s.startedAt, now: t, outcome: s.outcome, resumed: s.resumed, overall: overall,
                                            clusters: clusters.map { (name: $0.0, totals: $0.1) }, running: running, recentFailures: s.failures,
                                            faults: s.faults)
            snapshot.forecast = s.forecast
            // Waves: the lowest with a job still to end (per cluster scopes show the earliest).
            var waves = Set<Int>(), open = Set<Int>()
            for e in s.jobs.values where !e.proactive {
                guard let w = e.job.wave else { continue }
                waves.insert(w)
                if !e.state.isTerminal { open.insert(w) }
            }
            if let current = open.min() {
                let ordered = waves.sorted()
                snapshot.wave = "wave \(current) (\((ordered.firstIndex(of: current) ?? 0) + 1) of \(ordered.count))"
            }
            return snapshot
        }
    }

    /// Every job as last seen (pro-active vMotions included), in id order, with the inventory's
    /// display names and the run's start: what the live timeline draws.
    public func timeline() -> (jobs: [Job], names: [MoRef: String], startedAt: Date?) {
        state.withLock { s in (s.jobs.values.map(\.job).sorted { $0.id < $1.id }, s.names, s.startedAt) }
    }

    private func rate(_ s: State, now: Date) -> Double {
        guard let first = s.samples.first else { return 0 }
        let windowStart = now.addingTimeInterval(-rateWindow)
        // The last sample at or before the window's start (or the first one).
        var base = first
        for sample in s.samples where sample.0 <= windowStart { base = sample }
        let span = now.timeIntervalSince(base.0)
        guard span > 0 else { return 0 }
        return Double(s.finishedBytes - base.1) / span
    }

    /// The ETA shown: the forecast's end when there is one still ahead and work is left,
    /// else bytes left ÷ rate (before the first forecast; for work it did not know of; once
    /// the run has outlived it). Both are kept: `rateEta` is always the rate's.
    private static func setETA(_ t: inout ProgressTotals, forecastEnd: Date?, now: Date) {
        t.rateEta = eta(t)
        let workLeft = t.pending + t.running > 0
        if workLeft, let end = forecastEnd, end > now {
            t.eta = end.timeIntervalSince(now)
            t.etaSource = .forecast
        } else {
            t.eta = t.rateEta
            t.etaSource = t.eta == nil ? nil : .rate
        }
        t.predictedEnd = t.eta.map { now.addingTimeInterval($0) }
    }

    private static func eta(_ t: ProgressTotals) -> TimeInterval? {
        let left = t.bytesTotal - t.bytesDone
        if left <= 0 { return t.pending + t.running == 0 ? 0 : nil }
        guard t.rate > 0 else { return nil }
        return Double(left) / t.rate
    }

    private static func accumulate(_ a: inout ProgressTotals, _ b: ProgressTotals) {
        a.jobs += b.jobs
        a.done += b.done
        a.failed += b.failed
        a.skipped += b.skipped
        a.running += b.running
        a.pending += b.pending
        a.bytesTotal += b.bytesTotal
        a.bytesDone += b.bytesDone
    }

    private static func runningTask(_ e: Entry, names: [MoRef: String]) -> RunningTask {
        func name(_ r: MoRef?) -> String { r.map { names[$0] ?? $0.value } ?? "?" }
        let job = e.job
        var route: String
        if job.kind.movesStorage {
            route = "\(job.sourceDatastores.map { name($0) }.joined(separator: "+")) → \(name(job.target))"
            if let h = job.kind.destinationHost { route += ", \(name(job.sourceHost)) → \(name(h))" }
        } else if let h = job.kind.destinationHost {
            route = "\(name(job.sourceHost)) → \(name(h))"
        } else {
            route = job.kind.name
        }
        return RunningTask(job: job.id, vmName: job.vmName, cluster: job.cluster.map { names[$0] ?? $0.value }, kind: job.kind.name,
                           percent: e.percent, size: job.size, startedAt: job.startedAt ?? job.dispatchedAt, route: route,
                           host: job.sourceHost.map { name($0) },
                           destinationHost: job.kind.destinationHost.flatMap { $0 == job.sourceHost ? nil : name($0) },
                           sourceDatastores: job.kind.movesStorage ? job.sourceDatastores.map { name($0) } : [],
                           destinationDatastore: job.kind.movesStorage ? job.target.map { name($0) } : nil)
    }
}
