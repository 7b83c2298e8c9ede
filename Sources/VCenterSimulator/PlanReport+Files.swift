import Foundation

/// Writing `moonmotion plan --out DIR` failed.
public struct PlanReportWriteError: Error, CustomStringConvertible {
    /// What could not be written, where, and why.
    public var description: String
}

extension PlanReport {
    /// The files `writeFiles(to:)` writes, in order.
    public static let fileNames = ["timeline-hosts.html", "timeline-datastores.html", "plan.json", "plan.txt"]

    /// Writes `timeline-hosts.html` and `timeline-datastores.html` (self-contained timeline
    /// charts), `plan.json` (`jsonData()`) and `plan.txt` (`renderText(width:)`) into
    /// `directory`, creating it when missing; existing files are replaced. Returns the
    /// written files. Throws `PlanReportWriteError` naming the path that failed.
    @discardableResult
    public func writeFiles(to directory: URL, width: Int = 100) throws -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw PlanReportWriteError(description: "cannot create the output directory \(directory.path): \(error.localizedDescription); choose another --out directory")
        }
        let contents: [Data] = [
            Data(TimelineChart.html(stats: stats, inventory: inventory, groupBy: .host, title: title,
                                    runStart: runStart, windowStart: windowStart).utf8),
            Data(TimelineChart.html(stats: stats, inventory: inventory, groupBy: .datastore, title: title,
                                    runStart: runStart, windowStart: windowStart).utf8),
            try jsonData(),
            Data(renderText(width: width).utf8),
        ]
        var written: [URL] = []
        for (name, data) in zip(Self.fileNames, contents) {
            let url = directory.appendingPathComponent(name)
            do {
                try data.write(to: url, options: .atomic)
            } catch {
                throw PlanReportWriteError(description: "cannot write \(url.path): \(error.localizedDescription); check the --out directory's permissions and free space")
            }
            written.append(url)
        }
        return written
    }
}
