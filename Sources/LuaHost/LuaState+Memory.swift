import CLuaShim

/// What Lua's heap holds and may hold: the state's allocator counts every byte (CLuaShim's
/// memory.c, whose top explains when a limit may refuse an allocation and when never).
extension LuaState {
    /// The most bytes Lua may hold (nil: no limit). Past it, an allocation Lua makes while it
    /// runs fails with a memory error — `LuaError` of kind `.memory`, "memory limit of 64 MiB
    /// reached (…)" — that ends the script but leaves the state usable. Allocations made by
    /// Swift code are never refused (they count, so Lua's next one fails sooner).
    public var memoryLimit: Int? {
        get {
            let limit = mm_memory_limit(host)
            return limit == 0 ? nil : Int(limit)
        }
        set { mm_memory_set_limit(host, newValue.map { size_t(max(1, $0)) } ?? 0) }
    }

    /// Bytes Lua holds now.
    public var memoryInUse: Int { Int(mm_memory_in_use(host)) }

    /// The most bytes Lua held at once since the state was made or `resetMemoryPeak()`.
    public var memoryPeak: Int { Int(mm_memory_peak(host)) }

    /// Starts a new `memoryPeak` measurement from what Lua holds now.
    public func resetMemoryPeak() { mm_memory_reset_peak(host) }

    /// How many allocations `memoryLimit` refused so far.
    public var memoryRefusals: Int { Int(mm_memory_refusals(host)) }

    /// `error` as the memory limit's error when the limit caused it: a memory error
    /// (`LUA_ERRMEM`), or Lua's "not enough memory" message re-raised by the script, after an
    /// allocation was refused. Keeps the location when the report has one.
    func memoryLimitMapped(_ error: LuaError, status: Int32) -> LuaError {
        guard let limit = memoryLimit, memoryRefusals > 0 else { return error }
        let bare = LuaState.outOfMemoryMessage
        guard status == LUA_ERRMEM || error.message == bare || error.message.hasSuffix(": " + bare) else { return error }
        let inUse = LuaState.describeBytes(Int(mm_memory_in_use_at_refusal(host)))
        let asked = LuaState.describeBytes(Int(mm_memory_refused_request(host)))
        var message = "memory limit of \(LuaState.describeBytes(limit)) reached (\(inUse) in use, \(asked) more asked; set by --max-memory)"
        if let chunk = error.chunk, let line = error.line { message = "\(chunk):\(line): " + message }
        return LuaError(.memory, message: message, traceback: error.traceback, chunk: error.chunk, line: error.line)
    }

    /// Lua's message for a failed allocation (`memerrmsg`).
    static let outOfMemoryMessage = "not enough memory"

    /// `512 bytes`, `64 KiB`, `1.5 MiB`, `1 GiB`: binary units, at most one decimal.
    public static func describeBytes(_ bytes: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        guard bytes >= 1024 else { return bytes == 1 ? "1 byte" : "\(bytes) bytes" }
        var value = Double(bytes)
        var unit = "bytes"
        for u in units where value >= 1024 {
            value /= 1024
            unit = u
        }
        let tenths = (value * 10).rounded()
        if tenths.truncatingRemainder(dividingBy: 10) == 0 { return "\(Int(tenths / 10)) \(unit)" }
        return "\(Int(tenths) / 10).\(Int(tenths) % 10) \(unit)"
    }
}
