import Foundation
import VCenterModel

// A journal belongs to one vCenter. Its objects (VMs, hosts, datastores, tasks) are
// MoRef ids, which are only unique within one vCenter: continuing a run against another
// one would at best fail every job (and close a run that can then no longer be resumed
// where it belongs), at worst move other VMs that happen to have the same ids. So a run
// records its vCenter's `about.instanceUuid`, and `--resume` refuses any other vCenter
// before it reads or writes anything.
extension MigrationRunner {
    /// The vCenter's identity for the journal: its `about.instanceUuid`, or nil when the
    /// backend has none (an ESXi host, a simulated inventory without one).
    func vcenterIdentity() async -> String? {
        guard let about = try? await vcenter.about() else { return nil }
        let uuid = about.instanceUuid.trimmingCharacters(in: .whitespaces)
        return uuid.isEmpty ? nil : uuid
    }

    /// Refuses to resume `run` on another vCenter than the one it was journaled on, and
    /// warns (in the event log and to observers) when the strategy or its parameters differ.
    /// Returns the warnings to emit once the run is open again. Writes nothing.
    func checkResumable(_ run: JournalRun, identity: String?) throws -> [String] {
        if let recorded = run.vcenterUUID, let identity, recorded.caseInsensitiveCompare(identity) != .orderedSame {
            throw EngineError.cannotResume("""
                the journal's run \(run.id) was made on \(run.vcenter) (instanceUuid \(recorded)), but this is \
                \(vcenter.displayName) (instanceUuid \(identity)); nothing was changed. Resume it against the vCenter \
                it was started on, or start a new run here with another journal file (--journal FILE)
                """)
        }
        var warnings: [String] = []
        if run.vcenterUUID != nil, identity == nil {
            warnings.append("cannot check that \(vcenter.displayName) is the vCenter the journal's run was made on (\(run.vcenter)): it reports no instanceUuid")
        } else if run.vcenterUUID == nil, identity != nil {
            warnings.append("the journal's run was recorded without its vCenter's identity (an older Moonmotion): make sure \(vcenter.displayName) is the vCenter it was made on (\(run.vcenter))")
        }
        if run.strategy != configuration.strategyName {
            warnings.append("resuming with strategy \(configuration.strategyName), but the journal's run was started with \(run.strategy); the journaled jobs are kept, the new strategy's hooks decide from now on")
        }
        if run.parameters != configuration.parameters {
            warnings.append("resuming with parameters \(Self.parameterText(configuration.parameters)), but the journal's run was started with \(Self.parameterText(run.parameters)); the journaled jobs are kept as selected then")
        }
        return warnings
    }

    /// `from=legacy-* to=new-*`, or `(none)`.
    static func parameterText(_ parameters: [String: String]) -> String {
        parameters.isEmpty ? "(none)" : parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
