import VCenterModel

/// The storage arrays of a simulation resolved against its inventory: the declared ones
/// (`SimulatorConfiguration.arrays`) and, with `datastoreBandwidthMBps`, one array per
/// datastore that is in no declared array (named after it, that bandwidth, no knee).
struct StorageArrayLayout {
    /// Every array, declared ones first.
    var arrays: [StorageArray] = []
    /// Whether each array stands for a single datastore's `datastoreBandwidthMBps`.
    var implicit: [Bool] = []
    /// The array of each datastore, by inventory index (-1: none — its copies are not shared).
    var arrayOf: [Int] = []

    /// Resolves the arrays. A datastore in two declared arrays and a declared array that
    /// matches no datastore are errors (a typo would otherwise model nothing).
    init(configuration: SimulatorConfiguration, datastores: [DatastoreInfo]) throws {
        arrayOf = Array(repeating: -1, count: datastores.count)
        var names: Set<String> = []
        for (k, array) in configuration.arrays.enumerated() {
            guard names.insert(array.name).inserted else { throw SimulatorConfigurationError("array \(array.name) is given twice") }
            var matched = 0
            for (d, ds) in datastores.enumerated() where array.contains(datastore: ds.name) {
                if arrayOf[d] >= 0 {
                    throw SimulatorConfigurationError("datastore \(ds.name) is in array \(arrays[arrayOf[d]].name) and in array \(array.name)")
                }
                arrayOf[d] = k
                matched += 1
            }
            guard matched > 0 else {
                throw SimulatorConfigurationError("array \(array.name): \(array.patterns.joined(separator: "|")) matches no datastore of this inventory")
            }
            arrays.append(array)
            implicit.append(false)
        }
        if let b = configuration.datastoreBandwidthMBps {
            for (d, ds) in datastores.enumerated() where arrayOf[d] < 0 {
                arrayOf[d] = arrays.count
                arrays.append(StorageArray(name: ds.name, patterns: [ds.name], bandwidthMBps: b))
                implicit.append(true)
            }
        }
    }

    /// The arrays a copy loads, from the datastores it reads and writes (indices), in array order.
    func loads(reads: [Int], writes: [Int]) -> [ArrayLoad] {
        var out: [ArrayLoad] = []
        func touch(_ d: Int, read: Bool) {
            guard d >= 0, d < arrayOf.count, arrayOf[d] >= 0 else { return }
            let a = Int32(arrayOf[d])
            if let k = out.firstIndex(where: { $0.array == a }) {
                if read { out[k].read = true } else { out[k].write = true }
            } else {
                out.append(ArrayLoad(array: a, read: read, write: !read))
            }
        }
        for d in reads { touch(d, read: true) }
        for d in writes { touch(d, read: false) }
        return out.sorted { $0.array < $1.array }
    }
}

/// One array a copy loads: whether it reads there, writes there, or both (its rate then
/// counts twice against the array).
struct ArrayLoad: Hashable {
    var array: Int32
    var read: Bool
    var write: Bool

    /// How many times the copy's rate counts against the array.
    var weight: Double { (read ? 1 : 0) + (write ? 1 : 0) }
}

/// An array's use over the run: bytes, and ∫ copies dt while busy.
struct ArrayCounters {
    var copies: [Int32] = []
    var maxCopies = 0
    var bytesRead = 0.0
    var bytesWritten = 0.0
    var copySeconds = 0.0
    var busySeconds = 0.0
    var last = 0.0
}
