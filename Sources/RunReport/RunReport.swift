import Foundation
import MigrationEngine
import VCenterModel

/// The report of a run (`run --report DIR`, `moonmotion report JOURNAL`), built from its
/// journal alone, so it can be made again at any time — of a run that ended, that is still
/// going, or whose process was killed.
///
/// It shows what the journal records and nothing more: a VM counts as moved only when a
/// committed step recorded its success (`ReportResult`). Times are the journal's (a
/// simulated run's are the simulator's clock).
public struct RunReport: Sendable {
    /// How the run ended, in words.
    public enum Ending: Sendable, Hashable {
        /// The journal records the end (`completed`, `stopped`, `aborted: …`, `abandoned`).
        case recorded(String)
        /// No end is recorded and a process still writes the journal: the report is as of its
        /// last committed step.
        case running
        /// No end is recorded and no process writes it: killed or crashed (`--resume` continues it).
        case interrupted
        /// No end is recorded; the process that made the report says why (its run failed).
        case failed(String)

        /// One line for the page.
        public var text: String {
            switch self {
            case .recorded(let outcome): outcome
            case .running: "still running (as of the journal's last committed step)"
            case .interrupted: "interrupted: the journal records no end (the process was killed or crashed); `moonmotion run … --resume` continues it"
            case .failed(let why): "failed: \(why)"
            }
        }
    }

    /// The strategy's name (the script as given).
    public var strategy: String
    /// The strategy's parameters.
    public var parameters: [String: String]
    /// The vCenter's display name (never credentials).
    public var vcenter: String
    /// When the run started.
    public var startedAt: Date
    /// When it ended, or the last instant the journal knows of.
    public var endedAt: Date
    /// How it ended.
    public var ending: Ending
    /// Every VM the run had a job for, in the order of their first job.
    public var vms: [ReportVM]
    /// The whole run's figures.
    public var overall: ReportFigures
    /// Per cluster, by name (VMs of standalone hosts under `standalone hosts`).
    public var clusters: [ReportFigures]
    /// The timeline's data (`Gantt.dataJSON`).
    public var timeline: String
    /// What `moonmotion plan` predicted, when the run was given one (`run --plan`).
    public var plan: ReportPlan?
    /// The change windows the run saw (`--window`; empty without), in order.
    public var windows: [ReportWindow]

    /// Seconds from the start to the end (or the last known instant).
    public var makespan: TimeInterval { max(0, endedAt.timeIntervalSince(startedAt)) }

    /// Builds the report of journaled jobs. `names` names clusters, hosts and datastores by
    /// reference (the `run-started` event's); `lastKnown` is the newest instant the journal
    /// holds (its last event) for a run without a recorded end; `plan` the journaled plan;
    /// `windows` the change windows the run saw (`JobTimeline.windows`) and `predicted` each
    /// job's predicted end under them.
    public init(run: JournalRun, jobs: [Job], names: [MoRef: String], lastKnown: Date?, ending: Ending, plan: ReportPlan? = nil,
                windows: [DateInterval] = [], predicted: [JobID: Date] = [:]) {
        self.plan = plan
        strategy = run.strategy
        parameters = run.parameters
        vcenter = run.vcenter
        startedAt = run.startedAt
        self.ending = ending
        let jobEnds = jobs.compactMap { $0.finishedAt ?? $0.startedAt ?? $0.dispatchedAt }
        endedAt = run.endedAt ?? [lastKnown, jobEnds.max(), run.startedAt].compactMap { $0 }.max()!

        func name(_ ref: MoRef) -> String { names[ref] ?? ref.value }
        var order: [MoRef] = []
        var byVM: [MoRef: ReportVM] = [:]
        for job in jobs.sorted(by: { $0.id < $1.id }) {
            if byVM[job.vm] == nil {
                order.append(job.vm)
                byVM[job.vm] = ReportVM(vm: job.vm, name: job.vmName, cluster: job.cluster.map(name), jobs: [])
            }
            byVM[job.vm]!.jobs.append(ReportJob(job, name: name))
        }
        vms = order.map { byVM[$0]! }
        overall = ReportFigures(name: "all", vms: vms)
        var clusterOrder: [String] = []
        var byCluster: [String: [ReportVM]] = [:]
        for vm in vms {
            let key = vm.cluster ?? "standalone hosts"
            if byCluster[key] == nil { clusterOrder.append(key) }
            byCluster[key, default: []].append(vm)
        }
        clusters = clusterOrder.sorted().map { ReportFigures(name: $0, vms: byCluster[$0]!) }
        timeline = ReportTimeline.json(jobs: jobs, names: names, origin: run.startedAt, end: endedAt, windows: windows)
        self.windows = ReportWindow.windows(windows, jobs: jobs, predicted: predicted)
    }
}
