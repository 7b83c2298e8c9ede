import Foundation

/// A backend whose time is virtual (the in-process simulator under `moonmotion plan`):
/// nothing happens until the caller advances it, so a whole migration of 100,000 VMs
/// runs in seconds with the same engine and strategy as a real run.
///
/// Completions and progress are applied to the `LiveTask`s inside `advance`, on the
/// caller's thread, before `advance` returns.
public protocol VirtualTimeVCenter: VCenter {
    /// The simulated time now.
    var now: Date { get }

    /// The time of the next scheduled event (a task's progress or end), or nil when idle.
    var nextEventTime: Date? { get }

    /// Moves time forward to `time` (never backward), applying every event due by then.
    func advance(to time: Date)

    /// Simulated seconds per real second when the backend's clock runs by itself (a
    /// simulator on scaled real time, which applies its events on its own thread): its
    /// driver then waits for updates as with a real vCenter, and a wait until simulated
    /// time T lasts (T − now) ÷ speed real seconds. Nil (the default) when time moves only
    /// through `advance(to:)`.
    var clockSpeed: Double? { get }
}

extension VirtualTimeVCenter {
    /// Time moves only through `advance(to:)`.
    public var clockSpeed: Double? { nil }
}
