/// Byte counts for people, in one unit system everywhere: binary (IEC) units labelled as
/// such — `512 B`, `120.0 GiB`, `84.8 TiB`. vSphere's clients show binary sizes labelled
/// "GB"; printing "GB" for 2³⁰ next to a decimal "TB" elsewhere made the same jobs read
/// 93.3 TB in `run` and 84.8 TB in `plan`. Every command, report and `moonmotion.util`
/// formats with this.
public enum ByteUnits {
    /// The units above bytes, largest first.
    public static let units: [(size: Double, name: String)] = [
        (0x1p50, "PiB"), (0x1p40, "TiB"), (0x1p30, "GiB"), (0x1p20, "MiB"), (0x1p10, "KiB"),
    ]

    /// `512 B`, `1.5 KiB`, `120.0 GiB`, `84.8 TiB`, `0.99 TiB`: one decimal in the largest unit
    /// that is ≥ 1 (two in the next one up for 1,000 or more of a unit).
    public static func format(_ bytes: Int64) -> String {
        format(Double(bytes))
    }

    /// As `format(_:)` for a fractional count (rates).
    public static func format(_ bytes: Double) -> String {
        let magnitude = abs(bytes)
        for (k, unit) in units.enumerated() where magnitude >= unit.size {
            // 1,012 GiB reads better as 0.99 TiB: four digits go up a unit, with two decimals.
            if magnitude / unit.size >= 999.95, k > 0 {
                let hundredths = Int64((bytes / units[k - 1].size * 100).rounded())
                let frac = abs(hundredths) % 100
                return "\(hundredths < 0 ? "-" : "")\(abs(hundredths) / 100).\(frac < 10 ? "0" : "")\(frac) \(units[k - 1].name)"
            }
            return oneDecimal(bytes / unit.size) + " " + unit.name
        }
        return "\(Int64(bytes.rounded())) B"
    }

    /// `150.0 MiB/s`.
    public static func rate(_ bytesPerSecond: Double) -> String {
        format(bytesPerSecond) + "/s"
    }

    /// `12.3` — without Foundation's `String(format:)` (this module stays Foundation-light).
    static func oneDecimal(_ x: Double) -> String {
        let tenths = Int64((x * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }
}
