/// The hooks a strategy table may hold (docs/LUA.md, "Strategies"), by their Lua names.
enum LuaStrategyHook: String, CaseIterable, Sendable {
    case select
    case order
    case target
    case limits
    case vcenterLimits = "vcenter_limits"
    case onBlocked = "on_blocked"
    case onFailure = "on_failure"
    case onDone = "on_done"
    /// Not a function: a list of `check(vm, job)` functions (or one), each answering nil or
    /// why the VM cannot move as asked.
    case checks

    /// Every hook name, in the order the engine first calls them.
    static let names = allCases.map(\.rawValue)

    /// The hook `name` most likely meant (`onFailure`, `on-failure`, `ordr` → `on_failure`,
    /// `on_failure`, `order`), or nil.
    static func suggestion(for name: String, among valid: [String] = names) -> String? {
        var normalised = ""
        var previousLower = false
        for ch in name {
            if ch.isUppercase, previousLower { normalised.append("_") }
            normalised.append(ch == "-" ? "_" : Character(ch.lowercased()))
            previousLower = ch.isLowercase
        }
        let bare = normalised.replacingUnderscores()
        var best: (String, Int)?
        for v in valid {
            if v == normalised || v.replacingUnderscores() == bare { return v }
            let d = editDistance(normalised, v)
            if d <= 2, d < (best?.1 ?? Int.max) { best = (v, d) }
        }
        return best?.0
    }

    /// Levenshtein distance of two short names.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
