/// Why a response could not be read: the XML was malformed, truncated, hostile
/// (a DTD, too deep, too large) or not a SOAP envelope.
public struct XMLParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The broad reason.
    public enum Kind: String, Sendable, Hashable {
        /// Not well-formed XML.
        case malformed
        /// The document ended before it was complete (a cut connection).
        case truncated
        /// A `<!DOCTYPE>` (and so entity declarations): SOAP forbids them, so they are refused before any expansion.
        case forbiddenDTD
        /// Elements nested deeper than `XMLLimits.maxDepth`.
        case tooDeep
        /// The document, one text node or one piece exceeded a size limit.
        case tooLarge
        /// Well-formed XML that is not a SOAP 1.1 envelope (an HTML page, another API).
        case notSOAP
    }

    /// The broad reason.
    public var kind: Kind
    /// What went wrong, in one line.
    public var message: String
    /// The line in the document where libxml2 noticed the problem, when known.
    public var line: Int?
    /// The column on that line, when known.
    public var column: Int?

    /// Creates an error value.
    public init(_ kind: Kind, _ message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    /// The message with its line and column when known.
    public var description: String {
        var out = message
        if let line {
            out += " (line \(line)"
            if let column, column > 0 { out += ", column \(column)" }
            out += ")"
        }
        return out
    }
}
