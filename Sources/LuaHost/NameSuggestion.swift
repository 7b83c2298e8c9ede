/// The "did you mean" of an unknown name: the known name it most likely stands for. A
/// spelling variant (`powerState`, `power-state` for `power_state`) or a name within two
/// edits (`comitted`) is found by itself; a different word for the same thing (`size` for
/// `committed`) only through `aliases`, which the type lists.
public enum NameSuggestion {
    /// The suggestion for `name` among `known`, or nil.
    public static func closest(to name: String, among known: [String], aliases: [String: String] = [:]) -> String? {
        let normalised = normalise(name)
        if let alias = aliases[normalised] ?? aliases[name] { return alias }
        let bare = normalised.filter { $0 != "_" }
        var best: (name: String, distance: Int)?
        for candidate in known.sorted() {
            if candidate == normalised || candidate.filter({ $0 != "_" }) == bare { return candidate }
            let d = editDistance(normalised, candidate)
            if d <= 2, d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.name
    }

    /// ` (did you mean 'committed'?)`, or "" when there is no suggestion.
    public static func hint(for name: String, among known: [String], aliases: [String: String] = [:]) -> String {
        closest(to: name, among: known, aliases: aliases).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// `powerState`, `Power-State` → `power_state`.
    static func normalise(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for ch in name {
            if ch.isUppercase, previousLower { out.append("_") }
            out.append(ch == "-" ? "_" : Character(ch.lowercased()))
            previousLower = ch.isLowercase
        }
        return out
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
