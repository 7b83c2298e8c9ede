/// A binary min-heap: O(log n) push and pop, O(1) peek. Equal elements come out in
/// no particular order, so callers put a sequence number in the element when order matters.
struct BinaryHeap<Element: Comparable> {
    private(set) var storage: [Element] = []

    var isEmpty: Bool { storage.isEmpty }
    var count: Int { storage.count }
    var min: Element? { storage.first }

    mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popMin() -> Element? {
        guard !storage.isEmpty else { return nil }
        if storage.count == 1 { return storage.removeLast() }
        let top = storage[0]
        storage[0] = storage.removeLast()
        var parent = 0
        let n = storage.count
        while true {
            let left = 2 * parent + 1
            if left >= n { break }
            var smallest = left
            let right = left + 1
            if right < n, storage[right] < storage[left] { smallest = right }
            guard storage[smallest] < storage[parent] else { break }
            storage.swapAt(smallest, parent)
            parent = smallest
        }
        return top
    }
}

/// One scheduled change of one task: ordered by time, then by scheduling order.
struct SimEvent: Comparable {
    enum Kind: UInt8 {
        /// A delayed task may try to start.
        case delayOver
        /// The setup overhead is over: the copy begins.
        case setupDone
        /// The copy reached its next progress step, its end, or its injected failure.
        case milestone
    }
    var time: Double
    var seq: UInt64
    var task: Int32
    var epoch: UInt32
    var kind: Kind

    static func < (a: SimEvent, b: SimEvent) -> Bool {
        a.time < b.time || (a.time == b.time && a.seq < b.seq)
    }
    static func == (a: SimEvent, b: SimEvent) -> Bool { a.time == b.time && a.seq == b.seq }
}
