import Foundation

/// Writes a report's two files into a directory: `report.html` and `report.csv`.
public enum ReportWriter {
    /// A report that could not be written.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong, saying what to do.
        public var description: String
    }

    /// Writes both files into `directory` (created if missing), each atomically (a reader
    /// never sees half a file; an older report is replaced whole), and returns their paths.
    @discardableResult
    public static func write(_ report: RunReport, to directory: String) throws -> (html: String, csv: String) {
        let dir = URL(fileURLWithPath: directory, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create the report directory \(directory): \(error.localizedDescription)")
        }
        let html = dir.appendingPathComponent("report.html"), csv = dir.appendingPathComponent("report.csv")
        do {
            try Data(ReportPage.html(report).utf8).write(to: html, options: .atomic)
            try Data(ReportCSV.text(report).utf8).write(to: csv, options: .atomic)
        } catch {
            throw Failure(description: "cannot write the report into \(directory): \(error.localizedDescription)")
        }
        return (html.path, csv.path)
    }
}
