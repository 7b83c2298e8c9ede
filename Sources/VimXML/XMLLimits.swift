/// Bounds that keep a hostile or broken response from exhausting memory or the stack.
/// Exceeding one ends the parse with an `XMLParseError` (`.tooDeep` or `.tooLarge`).
public struct XMLLimits: Sendable, Hashable {
    /// The deepest element nesting accepted (the envelope is depth 1).
    public var maxDepth: Int
    /// The largest document accepted, in bytes.
    public var maxDocumentBytes: Int
    /// The largest character data of one element, in bytes.
    public var maxTextBytes: Int
    /// The most elements in one decoded piece (one `ObjectContent`, one `returnval`).
    public var maxPieceElements: Int

    /// Creates limits; the defaults suit 100,000-VM inventories.
    public init(maxDepth: Int = 200, maxDocumentBytes: Int = 2 << 30, maxTextBytes: Int = 16 << 20, maxPieceElements: Int = 2_000_000) {
        self.maxDepth = maxDepth
        self.maxDocumentBytes = maxDocumentBytes
        self.maxTextBytes = maxTextBytes
        self.maxPieceElements = maxPieceElements
    }

    /// The default limits.
    public static let `default` = XMLLimits()
}
