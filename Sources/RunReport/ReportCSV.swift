import Foundation

/// `report.csv`: one row per file move of every job (a job that moves no file — a host move,
/// a consolidation — has one row with an empty `file`), for spreadsheets and scripts.
///
/// Columns, in order (`columns`):
/// `vm`, `vm_ref` (`VirtualMachine:vm-42`), `cluster`, `job` (the journal's job id), `kind`
/// (`storage`, `host`, `storage+host`, …), `proactive` (`yes` for a vMotion the engine
/// inserted), `file` (`config`, the disk's label, or empty), `from`, `to` (datastore or host
/// names), `bytes` (what the file's copy writes), `job_bytes`, `queued`, `start`, `end` (ISO
/// 8601, UTC, empty when not recorded), `seconds` (start to end), `rate_mib_s` (the job's
/// mean copy rate, MiB/s), `attempts`, `result` (`done`, `failed`, `blocked`, `skipped`,
/// `unfinished`, `not-started`: `ReportResult`), `reason`.
///
/// RFC 4180 quoting (a field with a comma, quote or line break is quoted, quotes doubled),
/// CRLF line ends. A text field that starts with `=`, `+`, `-`, `@`, tab or CR gets a leading
/// `'`: VM names come from vCenter, and a spreadsheet must not run one as a formula.
public enum ReportCSV {
    /// The header's column names.
    public static let columns = ["vm", "vm_ref", "cluster", "job", "kind", "proactive", "file", "from", "to", "bytes", "job_bytes",
                                 "queued", "start", "end", "seconds", "rate_mib_s", "attempts", "result", "reason"]

    /// The whole file.
    public static func text(_ report: RunReport) -> String {
        var out = columns.joined(separator: ",") + "\r\n"
        for vm in report.vms {
            for job in vm.jobs {
                let seconds = job.started.flatMap { s in job.ended.map { max(0, $0.timeIntervalSince(s)) } }
                for move in job.moves {
                    let fields: [String] = [
                        text(vm.name), text(vm.vm.description), text(vm.cluster ?? ""), String(job.id), text(job.kind), job.proactive ? "yes" : "no",
                        text(move.file), text(move.from ?? ""), text(move.to ?? ""), String(move.bytes), String(job.bytes),
                        time(job.queued), time(job.started), time(job.ended), seconds.map { String(format: "%.1f", $0) } ?? "",
                        job.rate.map { String(format: "%.2f", $0 / 1_048_576) } ?? "", String(job.attempts), job.result.rawValue,
                        text(job.reason ?? ""),
                    ]
                    out += fields.map(quoted).joined(separator: ",") + "\r\n"
                }
            }
        }
        return out
    }

    /// A text field made inert for spreadsheets.
    static func text(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return s }
        return "'" + s
    }

    /// RFC 4180 quoting.
    static func quoted(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { ",\"\n\r".unicodeScalars.contains($0) }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// ISO 8601 in UTC with milliseconds, or empty.
    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
