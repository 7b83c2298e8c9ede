import MigrationEngine
import Prometheus
import Locking
import VCenterModel

/// `/metrics`: the run's figures as Prometheus series (text exposition format, through
/// swift-prometheus), set from the same `RunStatus` the page and `/api/status` show at each
/// scrape. Series (all `moonmotion_*`):
///
/// | series | labels | meaning |
/// | --- | --- | --- |
/// | `moonmotion_jobs` | `state` | jobs by state, the whole run |
/// | `moonmotion_cluster_jobs` | `cluster`, `state` | jobs by state per cluster |
/// | `moonmotion_bytes_to_move`, `moonmotion_bytes_moved` | — (or `cluster` in `moonmotion_cluster_bytes_*`) | bytes the moves copy / copied (running moves' reported share included) |
/// | `moonmotion_rate_bytes_per_second` | — | copy rate over the rate window |
/// | `moonmotion_eta_seconds` | — | time left: the latest forecast's, else at the rate; NaN when unknown |
/// | `moonmotion_eta_forecast` | — | 1 when `moonmotion_eta_seconds` is the forecast's, 0 when it is the rate's |
/// | `moonmotion_rate_eta_seconds` | — | time left at the rate, whichever the ETA is; NaN when unknown |
/// | `moonmotion_predicted_end_timestamp_seconds` | — (or `cluster` in `moonmotion_cluster_predicted_end_timestamp_seconds`) | predicted end, Unix time; NaN when unknown |
/// | `moonmotion_running_tasks` | — | jobs dispatching or running |
/// | `moonmotion_host_storage_vmotions` | `host` | running storage moves per host (source, and destination when it changes) |
/// | `moonmotion_datastore_storage_vmotions` | `datastore` | running storage moves per datastore (each source and the destination) |
/// | `moonmotion_task_failures_total` | `fault` | task failures by fault type, retried ones included |
/// | `moonmotion_vcenter_calls_total` | `method` | SOAP requests by method (a real vCenter only) |
/// | `moonmotion_vcenter_relogins_total` | — | re-logins after a lost session |
/// | `moonmotion_run_phase` | `phase` | 1 for the run's phase, 0 for the others |
///
/// A label value that disappears (a host with no move running any more) is set to 0, not
/// dropped, so a graph falls to zero instead of ending mid-air.
public final class StatusMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private struct State {
        var gauges: [String: Gauge] = [:]
        var counters: [String: (Counter, Int)] = [:]
        var seen: Set<String> = []
    }
    private let state = Locked(State())

    /// Creates an empty set of series.
    public init() {}

    /// The help text of each series.
    static let help: [String: String] = [
        "moonmotion_jobs": "Jobs of the run by state.",
        "moonmotion_cluster_jobs": "Jobs by cluster and state.",
        "moonmotion_bytes_to_move": "Bytes the run's storage moves copy.",
        "moonmotion_bytes_moved": "Bytes copied so far (running moves' reported share included).",
        "moonmotion_cluster_bytes_to_move": "Bytes the cluster's storage moves copy.",
        "moonmotion_cluster_bytes_moved": "Bytes the cluster's storage moves copied so far.",
        "moonmotion_rate_bytes_per_second": "Copy rate over the rate window.",
        "moonmotion_eta_seconds": "Seconds left: the latest forecast's, else at the current rate (NaN when unknown).",
        "moonmotion_eta_forecast": "1 when the ETA is the forecast's (remaining jobs re-simulated at measured rates), 0 when it is bytes left over the rate.",
        "moonmotion_rate_eta_seconds": "Seconds left at the current rate (NaN when unknown).",
        "moonmotion_predicted_end_timestamp_seconds": "Predicted end of the run, Unix time (NaN when unknown).",
        "moonmotion_cluster_predicted_end_timestamp_seconds": "Predicted end of the cluster's work, Unix time (NaN when unknown).",
        "moonmotion_running_tasks": "Jobs dispatching or running.",
        "moonmotion_host_storage_vmotions": "Running storage moves per host.",
        "moonmotion_datastore_storage_vmotions": "Running storage moves per datastore.",
        "moonmotion_task_failures_total": "Task failures by fault type, retried ones included.",
        "moonmotion_vcenter_calls_total": "Requests sent to vCenter by SOAP method.",
        "moonmotion_vcenter_relogins_total": "Log-ins after a lost session.",
        "moonmotion_run_phase": "1 for the run's current phase.",
    ]

    /// Sets every series from `status` (and the connection's `calls`) and returns the text
    /// exposition.
    public func exposition(_ status: RunStatus, calls: VCenterCallStatistics?) -> String {
        state.withLock { s in
            var now: Set<String> = []
            func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
                let key = Self.key(name, labels)
                now.insert(key)
                if let g = s.gauges[key] {
                    g.set(to: value)
                } else {
                    let made = registry.makeGauge(name: name, labels: labels, help: Self.help[name] ?? name)
                    s.gauges[key] = made
                    made.set(to: value)
                }
            }
            func counter(_ name: String, _ labels: [(String, String)], _ total: Int) {
                let key = Self.key(name, labels)
                let existing = s.counters[key]
                let c = existing?.0 ?? registry.makeCounter(name: name, labels: labels, help: Self.help[name] ?? name)
                let last = existing?.1 ?? 0
                // Totals only grow in one process; a counter is what Prometheus' rate() expects.
                if total > last { c.increment(by: Int64(total - last)) }
                s.counters[key] = (c, max(last, total))
            }
            let p = status.progress
            func states(_ t: ProgressTotals) -> [(String, Int)] {
                [("pending", t.pending), ("running", t.running), ("done", t.done), ("failed", t.failed), ("skipped", t.skipped)]
            }
            for (st, n) in states(p.overall) { gauge("moonmotion_jobs", [("state", st)], Double(n)) }
            gauge("moonmotion_bytes_to_move", [], Double(p.overall.bytesTotal))
            gauge("moonmotion_bytes_moved", [], Double(p.overall.bytesDone))
            gauge("moonmotion_rate_bytes_per_second", [], p.overall.rate)
            gauge("moonmotion_eta_seconds", [], p.overall.eta ?? .nan)
            gauge("moonmotion_eta_forecast", [], p.overall.etaSource == .forecast ? 1 : 0)
            gauge("moonmotion_rate_eta_seconds", [], p.overall.rateEta ?? .nan)
            gauge("moonmotion_predicted_end_timestamp_seconds", [], p.overall.predictedEnd?.timeIntervalSince1970 ?? .nan)
            gauge("moonmotion_running_tasks", [], Double(p.overall.running))
            for c in p.clusters {
                for (st, n) in states(c.totals) { gauge("moonmotion_cluster_jobs", [("cluster", c.name), ("state", st)], Double(n)) }
                gauge("moonmotion_cluster_bytes_to_move", [("cluster", c.name)], Double(c.totals.bytesTotal))
                gauge("moonmotion_cluster_bytes_moved", [("cluster", c.name)], Double(c.totals.bytesDone))
                gauge("moonmotion_cluster_predicted_end_timestamp_seconds", [("cluster", c.name)], c.totals.predictedEnd?.timeIntervalSince1970 ?? .nan)
            }
            var hosts: [String: Int] = [:], datastores: [String: Int] = [:]
            for t in p.running where t.destinationDatastore != nil {
                for h in Set([t.host, t.destinationHost].compactMap { $0 }) { hosts[h, default: 0] += 1 }
                for d in Set(t.sourceDatastores + [t.destinationDatastore].compactMap { $0 }) { datastores[d, default: 0] += 1 }
            }
            for (h, n) in hosts { gauge("moonmotion_host_storage_vmotions", [("host", h)], Double(n)) }
            for (d, n) in datastores { gauge("moonmotion_datastore_storage_vmotions", [("datastore", d)], Double(n)) }
            for phase in [RunStatus.Phase.starting, .dispatching, .draining, .done, .interrupted] {
                gauge("moonmotion_run_phase", [("phase", phase.rawValue)], phase == status.phase ? 1 : 0)
            }
            for (fault, n) in p.faults { counter("moonmotion_task_failures_total", [("fault", fault)], n) }
            if let calls {
                for (method, n) in calls.byMethod { counter("moonmotion_vcenter_calls_total", [("method", method)], n) }
                counter("moonmotion_vcenter_relogins_total", [], calls.relogins)
            }
            // Label values seen before and gone now: zero.
            for key in s.seen.subtracting(now) { s.gauges[key]?.set(to: 0) }
            s.seen.formUnion(now)
            return registry.emitToString()
        }
    }

    private static func key(_ name: String, _ labels: [(String, String)]) -> String {
        name + labels.map { "\u{1}\($0.0)\u{2}\($0.1)" }.joined()
    }
}
