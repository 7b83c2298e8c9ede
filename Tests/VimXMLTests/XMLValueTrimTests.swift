import Testing
@testable import VimXML

/// The typed readings (`int64`, `bool`, …) trim XML whitespace (space, tab, CR, LF) at both ends
/// only, the same whether the text has any (the slow path) or none (the byte check's fast path).
@Suite struct XMLValueTrimTests {
    @Test func trimsXMLWhitespaceAtTheEndsOnly() {
        let cases: [(text: String, trimmed: Substring)] = [
            ("42", "42"), (" 42 ", "42"), ("\n\t-7\r\n", "-7"), ("", ""), ("   ", ""), ("\r\n", ""),
            ("true\n", "true"), ("\tfalse", "false"), ("a b", "a b"), (" é ", "é"), ("日本", "日本"),
            ("x\u{301}", "x\u{301}"), ("\u{A0}1\u{A0}", "\u{A0}1\u{A0}"),
        ]
        for c in cases {
            #expect(c.text.trimmedXMLWhitespace == c.trimmed, "\(c.text.debugDescription)")
        }
    }
}
