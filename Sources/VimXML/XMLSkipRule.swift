/// Subtrees the reader leaves out of every piece: each element called `element` whose
/// `xsi:type` is not one of `keeping`, with everything inside it.
///
/// The reader steps over such an element without making a node for it or for anything it
/// holds, so a property value with many items of which few matter costs hardly more than
/// libxml2's scan of its bytes. A VM's `config.hardware.device` is the case in point: a
/// dozen controllers, NICs, video and input devices (`<VirtualDevice xsi:type=…>`) per VM
/// of which only the disks and drives are read.
///
/// The rule applies inside pieces only (a piece's own root is never skipped) and to every
/// element of that name wherever it appears, so give it names that mean one thing.
public struct XMLSkipRule: Sendable, Hashable {
    /// The local name of the elements the rule looks at (`VirtualDevice`).
    public var element: String
    /// The `xsi:type`s (local part, no prefix) kept; an element with any other type, or with
    /// none, is skipped.
    public var keeping: Set<String>

    /// Skips every `element` whose `xsi:type` is not in `keeping`.
    public init(element: String, keeping: Set<String>) {
        self.element = element
        self.keeping = keeping
    }

    /// Whether an element called `name` with `xsiType` is left out.
    @inline(__always)
    func skips(_ name: String, xsiType: String?) -> Bool {
        guard name == element else { return false }
        guard let xsiType else { return true }
        return !keeping.contains(xsiType)
    }
}
