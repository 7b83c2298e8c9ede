/// Identifies one job within a run. Ids are dense (0, 1, 2, …), stable in the
/// journal, and never reused within a run.
public struct JobID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The dense index of the job in its run.
    public let rawValue: Int

    /// Wraps a raw id.
    public init(_ rawValue: Int) { self.rawValue = rawValue }

    public var description: String { "job#\(rawValue)" }

    public static func < (lhs: JobID, rhs: JobID) -> Bool { lhs.rawValue < rhs.rawValue }
}
