import LuaHost
import VCenterModel

extension LuaConnection {
    static func describeLuaType(_ type: inout LuaTypeBuilder<LuaConnection>) {
        type.field("url") { call, conn in call.push(conn.url); return .values(1) }
        type.field("simulated") { call, conn in call.push(conn.isSimulated); return .values(1) }
        type.field("name") { call, conn in call.push(conn.vcenter.displayName); return .values(1) }
        type.field("closed") { call, conn in call.push(conn.isClosed); return .values(1) }
        describeInventoryMethods(&type)
        describeTaskMethods(&type)
        type.method("close") { call, conn in try conn.close(call: call) }
        type.onClose { conn in conn.closeInBackground() }
        type.tostring { conn in
            "Connection to \(conn.vcenter.displayName)" + (conn.isClosed ? " (closed)" : "")
        }
    }

    private static func describeInventoryMethods(_ type: inout LuaTypeBuilder<LuaConnection>) {
        type.method("about") { call, conn in
            try conn.checkOpen()
            let vcenter = conn.vcenter
            return try call.suspend { completion in
                let task = Task {
                    do {
                        let about = try await vcenter.about()
                        completion.resume(returning: [.table(about.luaTable)])
                    } catch {
                        completion.resume(throwing: error)
                    }
                }
                return { task.cancel() }
            }
        }
        type.method("inventory") { call, conn in
            try conn.withInventory(call) { view, call in
                call.push(view)
                return .values(1)
            }
        }
        type.method("refresh") { call, conn in
            try conn.refreshInventory(call: call) { call, view in call.push(view) }
        }
        for kind in InventoryObjectKind.allCases {
            // conn:vms{...}, conn:hosts{...}, conn:datastores{...}, conn:clusters{...}
            type.method(kind.listingName) { call, conn in
                let filter = try InventoryFilter.parse(call, at: 2, kind: kind.filterKind)
                return try conn.withInventory(call) { view, call in
                    try view.pushFiltered(kind, filter, on: call)
                    return .values(1)
                }
            }
            // conn:vm(name_or_moref), conn:host(name), ...
            type.method(kind.rawValue) { call, conn in
                let key = try LookupKey(call, argument: 2, kind: kind)
                return try conn.withInventory(call) { view, call in
                    if let ref = try key.resolve(in: view) { view.push(kind, ref, on: call) } else { call.pushNil() }
                    return .values(1)
                }
            }
        }
    }
}

/// An argument naming an inventory object: an object of the right kind, a name or a
/// reference (read before the call parks, resolved once the inventory is there).
struct LookupKey {
    private enum Key { case ref(MoRef), text(String) }
    private let key: Key
    let kind: InventoryObjectKind

    init(_ call: LuaCall, argument: Int32, kind: InventoryObjectKind) throws {
        self.kind = kind
        if let (k, ref) = InventoryObjectKind.object(at: argument, access: call) {
            guard k == kind else {
                throw LuaArgumentError(argument, expected: "\(kind.typeName) or its name", actual: call.typeName(argument))
            }
            key = .ref(ref)
            return
        }
        guard let text = call.string(at: argument) else {
            throw LuaArgumentError(argument, expected: "\(kind.typeName.lowercased()) name or moref", actual: call.typeName(argument))
        }
        key = .text(text)
    }

    /// The reference in `view`, or nil when it has no such object; a name several objects
    /// share throws `AmbiguousNameError`.
    func resolve(in view: LuaInventoryView) throws -> MoRef? {
        switch key {
        case .ref(let ref): view.contains(kind, ref) ? ref : nil
        case .text(let text): try view.lookup(kind, text)
        }
    }

    /// What the argument said, for messages.
    var text: String {
        switch key {
        case .ref(let ref): ref.value
        case .text(let text): text
        }
    }
}
