/// A vSphere tag on a VM: its category's name and its own, as the Automation (REST) API
/// keeps them. Written `category:tag` everywhere a user sees it (Lua's `vm.tags`, the
/// inventory JSON, filters), so a wave is `migration-wave:wave-1`.
public struct VMTag: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The tag category's name (`migration-wave`).
    public var category: String
    /// The tag's name (`wave-1`).
    public var name: String

    public init(category: String, name: String) {
        self.category = category
        self.name = name
    }

    /// `category:tag` read back: split at the first `:` (a tag name may hold more; a
    /// category name with `:` cannot be written this way). Nil without a `:` or with an
    /// empty side.
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex, text.index(after: colon) != text.endIndex else { return nil }
        self.init(category: String(text[..<colon]), name: String(text[text.index(after: colon)...]))
    }

    /// `migration-wave:wave-1`.
    public var description: String { category + ":" + name }

    public static func < (a: VMTag, b: VMTag) -> Bool {
        (a.category, a.name) < (b.category, b.name)
    }
}
