import Synchronization

/// Runs async operations one at a time, in submission order (an async mutex).
/// Unlike an actor, an operation that suspends still keeps the others out.
final class SerialRunner: Sendable {
    private let tail = Mutex<Task<Void, Never>?>(nil)

    /// Runs `operation` after every operation submitted before it has finished.
    func run<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let task: Task<T, any Error> = tail.withLock { tail in
            let previous = tail
            let next = Task<T, any Error> {
                _ = await previous?.value
                return try await operation()
            }
            tail = Task { _ = try? await next.value }
            return next
        }
        return try await task.value
    }
}
