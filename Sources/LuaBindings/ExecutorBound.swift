/// Carries a value that is only used on the Lua executor across a `@Sendable` boundary
/// (a completion's push body, an executor job). The bindings' objects are executor-confined;
/// this marks the places where one travels through a Swift Task to come back there.
struct ExecutorBound<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
