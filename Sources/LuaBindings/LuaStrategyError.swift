/// A strategy script that cannot be used, or a hook that answered something the engine
/// cannot act on: says which hook (with its script location), what was wrong and what a
/// valid answer looks like. Errors raised by the Lua code itself stay `LuaError`s, with
/// their own location and traceback.
public struct LuaStrategyError: Error, Sendable, CustomStringConvertible {
    /// The whole message.
    public var message: String

    /// Creates an error with this message.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
