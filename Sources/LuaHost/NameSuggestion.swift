/// "Did you mean" for misspelt names — hooks, limit fields, job fields, options, filter keys,
/// and every userdata's fields and methods: the one definition, used by the Swift checks and,
/// through `mm.did_you_mean`, by the stdlib's (`moonmotion.strategy`), so both suggest the
/// same name for the same typo. In LuaHost so the userdata `__index` can use it too.
public enum NameSuggestion {
    /// The name in `valid` that `name` most likely meant, or nil: the target of an alias the
    /// caller lists (another word for the same thing: `size` for `committed`, looked up as
    /// written and as snake_case), else the first one equal to it once camelCase and dashes
    /// become snake_case (`onFailure`, `on-failure` → `on_failure`) or once underscores are
    /// dropped (`onfailure`), else the first one within two edits (`ordr` → `order`).
    public static func suggestion(for name: String, among valid: [String], aliases: [String: String] = [:]) -> String? {
        var normalised = ""
        var previousLower = false
        for ch in name {
            if ch.isUppercase, previousLower { normalised.append("_") }
            normalised.append(ch == "-" ? "_" : Character(ch.lowercased()))
            previousLower = ch.isLowercase
        }
        if let alias = aliases[name] ?? aliases[normalised] { return alias }
        let bare = normalised.withoutUnderscores
        var best: (String, Int)?
        for v in valid {
            if v == normalised || v.withoutUnderscores == bare { return v }
            let d = editDistance(normalised, v)
            if d <= 2, d < (best?.1 ?? Int.max) { best = (v, d) }
        }
        return best?.0
    }

    /// ` (did you mean 'order'?)` for a suggestion, else the empty string: the hint every
    /// "unknown name" message carries.
    public static func hint(for name: String?, among valid: [String], aliases: [String: String] = [:]) -> String {
        name.flatMap { suggestion(for: $0, among: valid, aliases: aliases) }.map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// Levenshtein distance of two short names, by UTF-8 bytes.
    public static func editDistance(_ a: String, _ b: String) -> Int {
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
    fileprivate var withoutUnderscores: String { String(filter { $0 != "_" }) }
}
