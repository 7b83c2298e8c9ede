import Foundation
import VCenterModel

/// Human units for the plan report and the timeline header: `5h 12m`, `498.3 TiB`, `3,000`.
enum PlanFormat {
    /// `42s`, `12m 5s`, `5h 12m`, `2d 3h 12m`; negative values get a minus sign.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "–" }
        if seconds < 0 { return "-" + duration(-seconds) }
        if seconds < 59.5 {
            return seconds < 9.95 && seconds != seconds.rounded() ? String(format: "%.1fs", seconds) : "\(Int(seconds.rounded()))s"
        }
        if seconds < 3600 - 0.5 {
            let s = Int(seconds.rounded())
            return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m \(s % 60)s"
        }
        let m = Int((seconds / 60).rounded())
        if m < 24 * 60 { return m % 60 == 0 ? "\(m / 60)h" : "\(m / 60)h \(m % 60)m" }
        let d = m / (24 * 60), h = (m / 60) % 24, mm = m % 60
        return "\(d)d \(h)h" + (mm == 0 ? "" : " \(mm)m")
    }

    /// Slot time in hours and minutes, never days: `38h 31m`, `45m`.
    static func hours(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "–" }
        if seconds < 3600 - 0.5 { return duration(seconds) }
        let m = Int((seconds / 60).rounded())
        return m % 60 == 0 ? "\(count(m / 60))h" : "\(count(m / 60))h \(m % 60)m"
    }

    /// IEC units, as everywhere (`ByteUnits`): `498.3 TiB`, `850.0 GiB`, `300.0 MiB`.
    static func bytes(_ value: Int64) -> String { ByteUnits.format(value) }

    /// `3,000`.
    static func count(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// `1.04`.
    static func ratio(_ r: Double?) -> String {
        guard let r, r.isFinite else { return "–" }
        return String(format: "%.2f", r)
    }

    /// `12.5%`.
    static func percent(_ part: Double, of whole: Double) -> String {
        guard whole > 0 else { return "0%" }
        let p = 100 * part / whole
        return p >= 9.95 ? "\(Int(p.rounded()))%" : String(format: "%.1f%%", p)
    }

    /// `2025-06-01 22:00`, in `zone`.
    static func date(_ date: Date, _ zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    /// `06-01 22:00` (month-day and time), in `zone`: for table columns.
    static func shortDate(_ date: Date, _ zone: TimeZone) -> String {
        String(self.date(date, zone).dropFirst(5))
    }

    /// `name` cut to `width` characters with a trailing `…`.
    static func truncate(_ name: String, _ width: Int) -> String {
        guard name.count > width else { return name }
        guard width > 1 else { return String(name.prefix(max(0, width))) }
        return String(name.prefix(width - 1)) + "…"
    }
}

/// A text table with aligned columns; optional columns are dropped (lowest priority
/// first) and the first column is shortened when the table is wider than asked.
struct TextTable {
    struct Column {
        var header: String
        var rightAligned: Bool
        /// 0: always kept; higher numbers are dropped first.
        var dropPriority: Int = 0
        /// Left out whatever the width (nothing to show in it).
        var hidden = false
    }

    var columns: [Column]
    var rows: [[String]] = []
    var indent = "  "
    var gap = "  "

    init(_ columns: [Column]) { self.columns = columns }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(width: Int) -> [String] {
        var keep = columns.indices.filter { !columns[$0].hidden }
        func widths(_ cols: [Int]) -> [Int] {
            cols.map { c in ([columns[c].header] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        }
        func total(_ cols: [Int]) -> Int {
            indent.count + widths(cols).reduce(0, +) + gap.count * max(0, cols.count - 1)
        }
        while total(keep) > width {
            let droppable = keep.filter { columns[$0].dropPriority > 0 }
            guard let drop = droppable.max(by: { columns[$0].dropPriority < columns[$1].dropPriority }) else { break }
            keep.removeAll { $0 == drop }
        }
        var w = widths(keep)
        let excess = total(keep) - width
        if excess > 0, !keep.isEmpty { w[0] = max(8, w[0] - excess) }
        func line(_ cells: [String]) -> String {
            var out = indent
            for (k, c) in keep.enumerated() {
                let text = k == 0 ? PlanFormat.truncate(cells[c], w[k]) : cells[c]
                let pad = String(repeating: " ", count: max(0, w[k] - text.count))
                let cell = columns[c].rightAligned ? pad + text : text + (k == keep.count - 1 ? "" : pad)
                out += (k == 0 ? "" : gap) + cell
            }
            return out
        }
        return [line(columns.map(\.header))] + rows.map(line)
    }
}
