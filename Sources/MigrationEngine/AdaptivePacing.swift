#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cluster's `max_concurrent = "auto"` (or `strategy.adaptive{…}`): its storage moves are
/// paced by measured throughput per group of datastores (`AdaptivePacer`) instead of a fixed
/// number of jobs.
///
/// A group is a declared array (`arrays`: datastore-name patterns → array name; the first
/// pattern that matches wins) or, for a datastore no pattern matches, the datastore alone.
/// A copy counts once in each group it reads from or writes to.
public struct AdaptivePacing: Sendable, Hashable {
    /// One declared array: the datastores whose names match `pattern` share it.
    public struct Array: Sendable, Hashable {
        /// A shell pattern on datastore names (`legacy-*`).
        public var pattern: String
        /// The array's name (the group's name in the records).
        public var name: String

        /// Creates a declaration.
        public init(pattern: String, name: String) {
            self.pattern = pattern
            self.name = name
        }
    }

    /// The pacer's rules and bounds.
    public var configuration: AdaptivePacer.Configuration
    /// The declared arrays, in the order they are tried.
    public var arrays: [Array]

    /// Creates pacing with the pacer's defaults and no declared array.
    public init(configuration: AdaptivePacer.Configuration = AdaptivePacer.Configuration(), arrays: [Array] = []) {
        self.configuration = configuration
        self.arrays = arrays
    }

    /// The group a datastore of this name belongs to: its array's name, else its own name.
    public func group(ofDatastore name: String) -> String {
        for a in arrays where fnmatch(a.pattern, name, 0) == 0 { return a.name }
        return name
    }
}
