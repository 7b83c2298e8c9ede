import Foundation

/// The change windows a customer allows: `Mon-Fri 20:00-06:00; Sat-Sun 00:00-24:00` in a
/// time zone (`--window`, `--tz`). A rule's days are the days its window *opens*; an end
/// before the start runs past midnight. Windows that touch or overlap merge into one (Friday
/// 20:00-06:00 and Saturday 00:00-24:00 make one window from Friday 20:00 to Sunday 24:00).
public struct ChangeWindows: Sendable, Hashable, CustomStringConvertible {
    /// One rule: on `days` (1 = Monday … 7 = Sunday), from `start` to `end` (minutes after midnight;
    /// `end` ≤ `start` ends the next day; 1440 is 24:00).
    public struct Rule: Sendable, Hashable {
        public var days: Set<Int>
        public var start: Int
        public var end: Int
    }

    /// The rules, as written.
    public var rules: [Rule]
    /// The zone the times are in.
    public var timeZone: TimeZone
    /// The text it was parsed from.
    public let text: String

    private static let dayNames = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]

    /// Parses `Mon-Fri 20:00-06:00; Sat-Sun 00:00-24:00` (also `daily 22:00-04:00`,
    /// `Mon,Wed,Fri 21:00-23:30`). Throws a message saying what is wrong.
    public init(parsing text: String, timeZone: TimeZone = .current) throws {
        self.text = text
        self.timeZone = timeZone
        var rules: [Rule] = []
        for part in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let words = part.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard words.count == 2 else {
                throw ChangeWindowsError("'\(part)' is not DAYS HH:MM-HH:MM (e.g. Mon-Fri 20:00-06:00)")
            }
            let days = try Self.days(words[0], in: part)
            let times = words[1].split(separator: "-").map(String.init)
            guard times.count == 2, let start = Self.minutes(times[0]), let end = Self.minutes(times[1]) else {
                throw ChangeWindowsError("'\(words[1])' in '\(part)' is not HH:MM-HH:MM (e.g. 20:00-06:00)")
            }
            rules.append(Rule(days: days, start: start, end: end == start ? start + 1440 : end))
        }
        guard !rules.isEmpty else { throw ChangeWindowsError("no window given (e.g. \"Mon-Fri 20:00-06:00; Sat-Sun 00:00-24:00\")") }
        self.rules = rules
    }

    static func days(_ word: String, in part: String) throws -> Set<Int> {
        let w = word.lowercased()
        if w == "daily" || w == "every" || w == "*" { return Set(1...7) }
        var days = Set<Int>()
        for item in w.split(separator: ",") {
            let ends = item.split(separator: "-").map { String($0.prefix(3)) }
            guard (1...2).contains(ends.count), let a = dayNames[ends[0]], let b = dayNames[ends.last!] else {
                throw ChangeWindowsError("'\(word)' in '\(part)' is not a day or range of days (Mon, Mon-Fri, Sat,Sun, daily)")
            }
            var d = a
            while true {
                days.insert(d)
                if d == b { break }
                d = d % 7 + 1   // Fri-Mon wraps over the weekend
            }
        }
        return days
    }

    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0..<60).contains(m),
              h * 60 + m <= 1440 else { return nil }
        return h * 60 + m
    }

    public var description: String { text + " (\(timeZone.identifier))" }

    /// The window open at `date` (start inclusive, end exclusive), merged with those it touches.
    public func window(containing date: Date) -> DateInterval? {
        intervals(around: date).first { $0.start <= date && date < $0.end }
    }

    /// The start of the first window opening after `date` (within five weeks).
    public func nextOpening(after date: Date) -> Date? {
        intervals(around: date).first { $0.start > date }?.start
    }

    /// The merged windows that overlap `from`…`to` (up to five weeks), in order: what a chart of
    /// that span draws (the live page's timeline).
    public func windows(from: Date, to: Date) -> [DateInterval] {
        intervals(around: from).filter { $0.end > from && $0.start < to }
    }

    /// Merged windows from two days before `date` to five weeks after it, in order.
    func intervals(around date: Date) -> [DateInterval] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let first = calendar.startOfDay(for: date.addingTimeInterval(-2 * 86_400))
        var raw: [DateInterval] = []
        for offset in 0..<37 {
            guard let day = calendar.date(byAdding: .day, value: offset, to: first) else { continue }
            // Calendar weekday: 1 = Sunday; ours: 1 = Monday.
            let weekday = (calendar.component(.weekday, from: day) + 5) % 7 + 1
            for rule in rules where rule.days.contains(weekday) {
                let endMinutes = rule.end > rule.start ? rule.end : rule.end + 1440
                guard let s = calendar.date(byAdding: .minute, value: rule.start, to: day),
                      let e = calendar.date(byAdding: .minute, value: endMinutes, to: day), e > s else { continue }
                raw.append(DateInterval(start: s, end: e))
            }
        }
        raw.sort { $0.start < $1.start }
        var merged: [DateInterval] = []
        for interval in raw {
            if let last = merged.last, interval.start <= last.end {
                merged[merged.count - 1] = DateInterval(start: last.start, end: max(last.end, interval.end))
            } else {
                merged.append(interval)
            }
        }
        return merged
    }
}

/// A `--window` that cannot be read.
public struct ChangeWindowsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
