import Foundation
import VCenterModel

/// vCenter's clock as seen from here: the offset between its `CurrentTime` and the local
/// clock, measured once (half the call's round trip is taken as the answer's age).
struct ServerClock: Sendable {
    /// Server time minus local time, in seconds.
    let offset: TimeInterval

    /// The server's time now.
    var now: Date { Date().addingTimeInterval(offset) }

    /// One `CurrentTime` call; a server that does not answer it is taken to share the local clock.
    static func measure(_ vcenter: any VCenter) async throws -> ServerClock {
        let before = Date()
        guard let server = try? await vcenter.currentTime() else { return ServerClock(offset: 0) }
        let after = Date()
        let local = before.addingTimeInterval(after.timeIntervalSince(before) / 2)
        return ServerClock(offset: server.timeIntervalSince(local))
    }
}
