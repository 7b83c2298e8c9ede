import Foundation

/// Durations on the command line: `90s`, `45m`, `36h`, `30d`, `2w`, or plain seconds.
enum DurationOption {
    static let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]

    /// Seconds in `text`, or nil when it is not a positive duration.
    static func seconds(_ text: String) -> Double? {
        var body = Substring(text.trimmingCharacters(in: .whitespaces).lowercased())
        var factor = 1.0
        if let last = body.last, let f = units[last] {
            factor = f
            body = body.dropLast()
        }
        guard let value = Double(body), value > 0, value.isFinite else { return nil }
        return value * factor
    }
}
