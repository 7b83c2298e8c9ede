/// `xsd:dateTime` values as vSphere sends them (`2024-05-01T12:34:56.789Z`,
/// `2024-05-01T14:34:56+02:00`), without Foundation.
public enum XSDDateTime {
    /// Seconds since 1970-01-01T00:00:00Z, or nil when `text` is not an `xsd:dateTime`.
    /// A value without a zone is taken as UTC.
    public static func parse(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    static func parse(utf8 b: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0
        let n = b.count
        while i < n, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
        func digits(_ count: Int) -> Int? {
            guard i + count <= n else { return nil }
            var value = 0
            for k in 0..<count {
                let d = Int(b[i + k]) - 48
                guard d >= 0, d <= 9 else { return nil }
                value = value * 10 + d
            }
            i += count
            return value
        }
        func expect(_ ascii: Unicode.Scalar) -> Bool {
            guard i < n, b[i] == UInt8(ascii: ascii) else { return false }
            i += 1
            return true
        }
        var negativeYear = false
        if i < n, b[i] == UInt8(ascii: "-") { negativeYear = true; i += 1 }
        guard var year = digits(4) else { return nil }
        // xsd:dateTime allows years of more than four digits; nine is beyond any date vCenter
        // sends and keeps the seconds below Int's range (the response fuzzer's first crash was
        // a 20-digit year that overflowed here).
        var yearDigits = 4
        while i < n, b[i] >= 48, b[i] <= 57 {
            yearDigits += 1
            guard yearDigits <= 9 else { return nil }
            year = year * 10 + Int(b[i]) - 48
            i += 1
        }
        if negativeYear { year = -year }
        guard expect("-"), let month = digits(2), expect("-"), let day = digits(2), expect("T"),
              let hour = digits(2), expect(":"), let minute = digits(2), expect(":"), let second = digits(2),
              (1...12).contains(month), (1...31).contains(day), hour <= 24, minute <= 59, second <= 60
        else { return nil }
        var fraction = 0.0
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            var any = false
            while i < n, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
                any = true
            }
            guard any else { return nil }
        }
        var offsetSeconds = 0
        if i < n {
            if b[i] == UInt8(ascii: "Z") {
                i += 1
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let oh = digits(2), expect(":"), let om = digits(2), oh <= 14, om <= 59 else { return nil }
                offsetSeconds = sign * (oh * 3600 + om * 60)
            }
        }
        while i < n, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Double(seconds) + fraction
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Formats seconds since 1970 as `YYYY-MM-DDThh:mm:ss(.fff)Z` (for request arguments).
    public static func format(_ secondsSince1970: Double) -> String {
        let whole = Int(secondsSince1970.rounded(.down))
        let millis = Int(((secondsSince1970 - Double(whole)) * 1000).rounded())
        var days = whole / 86_400
        var rest = whole % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        // civil_from_days
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        var out = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3600, 2)):\(pad(rest % 3600 / 60, 2)):\(pad(rest % 60, 2))"
        if millis > 0 && millis < 1000 { out += "." + pad(millis, 3) }
        return out + "Z"
    }
}
