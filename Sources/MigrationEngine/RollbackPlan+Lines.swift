import Foundation
import VCenterModel

extension RollbackPlan {
    /// The listing `moonmotion rollback` prints before it moves anything (and `--dry-run`
    /// instead of moving): each VM going back with every file from → to and its bytes and its
    /// host from → to; each VM left alone with why; each job the run never finished. `names`
    /// gives names to references (the inventory's, then the journaled run's for objects that
    /// are gone); a reference without one is shown as it is.
    public func lines(names: [MoRef: String]) -> [String] {
        func name(_ ref: MoRef?) -> String { ref.map { names[$0] ?? $0.description } ?? "?" }
        var out = ["\(moves.count) VM(s) to move back, \(ProgressRenderer.bytes(bytes)) to copy:"]
        for m in moves {
            let bytes = m.files.reduce(Int64(0)) { $0 + $1.bytes }
            out.append("  \(m.vmName)\(m.files.isEmpty ? "" : "  \(ProgressRenderer.bytes(bytes))")")
            for f in m.files {
                out.append("    \(f.shortName) (\(ProgressRenderer.bytes(f.bytes))) \(name(f.from)) → \(name(f.to))")
            }
            if let to = m.hostTo { out.append("    host \(name(m.hostFrom)) → \(name(to))") }
        }
        if !leftAlone.isEmpty {
            out.append("\(leftAlone.count) VM(s) the run moved are left alone:")
            for l in leftAlone { out.append("  \(l.vmName): \(l.reasons.joined(separator: "; "))") }
        }
        if !unfinished.isEmpty {
            out.append("\(unfinished.count) job(s) the run never finished are not rolled back:")
            for u in unfinished {
                out.append("  \(u.vmName): \(u.job) (\(u.kind)) \(u.state.rawValue)\(u.reason.map { ": \($0)" } ?? "")")
            }
        }
        return out
    }
}
