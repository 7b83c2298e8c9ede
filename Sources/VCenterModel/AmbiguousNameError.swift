/// A name that several inventory objects share, where one object was wanted: VM names
/// repeat across folders and datacenters, and a move must never pick one of them by chance.
///
/// `ambiguous VM name 'db-01': vm-12, vm-57 (use the moref or a userdata)`.
public struct AmbiguousNameError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was looked up: `VM`, `host`, `datastore` or `cluster`.
    public var kind: String
    /// The name.
    public var name: String
    /// Every object of that name, in inventory order.
    public var refs: [MoRef]

    /// Creates the error for `refs`, the objects of `kind` called `name`.
    public init(kind: String, name: String, refs: [MoRef]) {
        self.kind = kind
        self.name = name
        self.refs = refs
    }

    /// One line naming the candidates and what to use instead.
    public var description: String {
        "ambiguous \(kind) name '\(name)': \(refs.map(\.value).joined(separator: ", ")) (use the moref or a userdata)"
    }
}
