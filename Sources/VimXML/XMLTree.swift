/// A small element tree for one piece of a response (one `ObjectContent`, one fault, one
/// `returnval`), stored as a flat array of nodes. The reader builds one per piece and
/// never a tree of the whole document.
public final class XMLTree: @unchecked Sendable {
    // @unchecked: the tree is mutated only by the reader that builds it, before it is
    // handed out; once a consumer sees it, it is never changed again (the reader starts a
    // new tree when a consumer kept the old one, see `SOAPResponseParser`).

    struct Node {
        var name: String
        var xsiType: String?
        var typeAttribute: String?
        var text: String
        var parent: Int32
        var firstChild: Int32 = -1
        var lastChild: Int32 = -1
        var nextSibling: Int32 = -1
    }

    // Hot in the reader's inner loop; only the reader that owns the tree mutates it (see above).
    @exclusivity(unchecked) var nodes: ContiguousArray<Node> = []

    init() {}

    /// The root element of the tree.
    public var root: XMLElement { XMLElement(tree: self, index: 0) }

    /// How many elements the tree holds.
    public var elementCount: Int { nodes.count }

    func reset() {
        nodes.removeAll(keepingCapacity: true)
    }

    func append(name: String, xsiType: String?, typeAttribute: String?, parent: Int32) -> Int32 {
        let index = Int32(nodes.count)
        nodes.append(Node(name: name, xsiType: xsiType, typeAttribute: typeAttribute, text: "", parent: parent))
        if parent >= 0 {
            let p = Int(parent)
            if nodes[p].lastChild >= 0 {
                nodes[Int(nodes[p].lastChild)].nextSibling = index
            } else {
                nodes[p].firstChild = index
            }
            nodes[p].lastChild = index
        }
        return index
    }
}

/// One element of an `XMLTree`: its local name, `xsi:type`, `type` attribute, text and children.
public struct XMLElement: Sendable, CustomStringConvertible {
    let tree: XMLTree
    let index: Int32

    private var node: XMLTree.Node { tree.nodes[Int(index)] }

    /// The element's local name (no namespace prefix), for example `propSet`.
    public var name: String { node.name }

    /// The local part of the `xsi:type` attribute (`ArrayOfManagedObjectReference`, `TraversalSpec`), if any.
    public var xsiType: String? { node.xsiType }

    /// The plain `type` attribute: a `ManagedObjectReference`'s object type.
    public var typeAttribute: String? { node.typeAttribute }

    /// The character data of a leaf element (empty for an element with children).
    public var text: String { node.text }

    /// Whether the element has child elements.
    public var hasChildren: Bool { node.firstChild >= 0 }

    /// The child elements, in document order.
    public var children: Children { Children(tree: tree, first: node.firstChild) }

    /// The first child called `name`, or nil.
    public func child(_ name: String) -> XMLElement? {
        for child in children where child.name == name { return child }
        return nil
    }

    /// Every child called `name`, in document order.
    public func children(_ name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }

    /// Follows a path of child names (`element.path("summary", "storage", "committed")`).
    public func path(_ names: String...) -> XMLElement? {
        var current: XMLElement? = self
        for name in names { current = current?.child(name) }
        return current
    }

    /// The children of an element, in document order.
    public struct Children: Sequence, Sendable {
        let tree: XMLTree
        let first: Int32

        /// Iterates the children.
        public func makeIterator() -> Iterator { Iterator(tree: tree, upcoming: first) }

        /// An iterator over sibling elements.
        public struct Iterator: IteratorProtocol {
            let tree: XMLTree
            var upcoming: Int32
            /// The next sibling, or nil after the last.
            public mutating func next() -> XMLElement? {
                guard upcoming >= 0 else { return nil }
                let element = XMLElement(tree: tree, index: upcoming)
                upcoming = tree.nodes[Int(upcoming)].nextSibling
                return element
            }
        }
    }

    /// A compact XML-like rendering for debugging and test failure messages.
    public var description: String {
        var out = "<\(name)"
        if let xsiType { out += " xsi:type=\"\(xsiType)\"" }
        if let typeAttribute { out += " type=\"\(typeAttribute)\"" }
        out += ">"
        if hasChildren {
            for child in children { out += child.description }
        } else {
            out += text
        }
        return out + "</\(name)>"
    }
}
