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
