import Foundation

/// What `moonmotion plan` predicted for a run, as far as the report sets it beside the real
/// run: the makespan (first start to last end), VMs and bytes moved, and each cluster's
/// finish. `run --plan FILE` reads it from the plan's `plan.json` (`plan --out DIR`) and
/// journals it (`Journal.recordPlan`, this type's own JSON); the report reads it back.
public struct ReportPlan: Sendable, Hashable, Codable {
    /// One cluster's prediction.
    public struct Cluster: Sendable, Hashable, Codable {
        /// The cluster's name.
        public var name: String
        /// Seconds from the first start until its last move ends.
        public var finishSeconds: Double
        /// Bytes its moves copy.
        public var bytes: Int64
    }

    /// The plan's title (`storage-migration.lua, simulated on …`).
    public var title: String
    /// Predicted seconds from the first start to the last end.
    public var makespanSeconds: Double
    /// VMs predicted to move.
    public var vms: Int
    /// Bytes predicted to be copied.
    public var bytes: Int64
    /// Per cluster, in the plan's order.
    public var clusters: [Cluster]
    /// The plan's copy rate of one Storage vMotion, MiB/s, and its setup seconds (`rateModel`):
    /// what the change-window rule predicts a move by before the run has measured one. Nil in a
    /// plan (or a journaled summary) that does not say.
    public var rateMBps: Double?
    public var setupSeconds: Double?

    /// Reads `moonmotion plan --out`'s `plan.json`; throws, saying what is missing, for
    /// anything else.
    public init(planJSON data: Data) throws {
        struct PlanFile: Decodable {
            struct Totals: Decodable { var vmsMoved: Int; var bytesMoved: Int64 }
            struct ClusterPlan: Decodable { var cluster: String; var finishSeconds: Double; var bytesMoved: Int64 }
            struct Counter: Decodable { var id: String; var name: String }
            var title: String
            var makespanSeconds: Double
            var totals: Totals
            var clusters: [ClusterPlan]
            var clusterCounters: [Counter]?
            struct RateModel: Decodable { var storageVMotionMBps: Double?; var storageVMotionOverheadSeconds: Double? }
            var rateModel: RateModel?
        }
        let file: PlanFile
        do {
            file = try JSONDecoder().decode(PlanFile.self, from: data)
        } catch {
            throw ReportWriter.Failure(description: "not a plan.json of `moonmotion plan --out DIR` (\(Self.why(error)))")
        }
        var names: [String: String] = [:]
        for c in file.clusterCounters ?? [] { names[c.id] = c.name }
        title = file.title
        makespanSeconds = file.makespanSeconds
        vms = file.totals.vmsMoved
        bytes = file.totals.bytesMoved
        rateMBps = file.rateModel?.storageVMotionMBps
        setupSeconds = file.rateModel?.storageVMotionOverheadSeconds
        clusters = file.clusters.map { c in
            // `ClusterComputeResource:domain-c7` → the counters' name for `domain-c7`.
            let id = c.cluster.split(separator: ":", maxSplits: 1).last.map(String.init) ?? c.cluster
            return Cluster(name: names[id] ?? id, finishSeconds: c.finishSeconds, bytes: c.bytesMoved)
        }
    }

    /// This summary as JSON, as the journal keeps it.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A decoding error in a few words: the missing or mistyped field.
    static func why(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): "no field \(key.stringValue)"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            "field \(c.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case .dataCorrupted: "not JSON"
        default: "unreadable"
        }
    }
}
