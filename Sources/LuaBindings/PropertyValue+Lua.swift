import Foundation
import LuaHost
import VCenterModel

// `conn:invoke` arguments and task results: Lua values <-> vSphere data values.
//
// Lua -> vSphere: booleans, integers, floats and strings as such; a VM, Host, Datastore,
// Cluster or Task userdata, or a string `Type:id` whose Type is a managed object type
// (`Datastore:datastore-12`), as a managed object reference; an array as a repeated
// element; a table with string keys as a data object, typed by its `_type` field
// (`xsi:type`) and sent in the order of its `_order` list (vCenter expects the schema's
// order), else alphabetically.
//
// vSphere -> Lua: references as `Type:id` strings, data objects as tables with `_type`.

enum PropertyValueBridge {
    /// Managed object types a `Type:id` string may name to be sent as a reference.
    static let managedTypes: Set<String> = [
        "VirtualMachine", "HostSystem", "Datastore", "ClusterComputeResource", "ComputeResource",
        "ResourcePool", "Folder", "Datacenter", "Task", "VirtualMachineSnapshot", "Network",
        "DistributedVirtualPortgroup", "VmwareDistributedVirtualSwitch", "StoragePod", "VirtualApp",
        "HostDatastoreSystem", "ContainerView", "ListView", "PropertyCollector", "TaskManager",
        "EventManager", "SessionManager", "ServiceInstance", "CustomFieldsManager",
    ]

    /// The managed object reference a string names (`Type:id` with a known type), or nil.
    static func moRef(fromText text: String) -> MoRef? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let type = String(text[..<colon])
        guard managedTypes.contains(type), let ref = MoRef(parsing: text), !ref.value.contains(" ") else { return nil }
        return ref
    }

    /// The value at `slot` as vSphere data (see the file comment). `path` names it in errors.
    static func value(at slot: Int32, on stack: some LuaStackAccess, path: String, depth: Int = 0) throws -> PropertyValue {
        guard depth < 32 else { throw LuaFailure("invoke: argument \(path) is nested too deeply") }
        switch stack.type(slot) {
        case .none, .nil:
            return .null
        case .boolean:
            return .bool(stack.boolean(slot))
        case .number:
            if let i = stack.integer(at: slot) { return .int(Int64(i)) }
            return .double(stack.number(at: slot) ?? 0)
        case .string:
            let text = stack.string(at: slot) ?? ""
            if let ref = moRef(fromText: text) { return .moRef(ref) }
            return .string(text)
        case .userdata:
            if let (_, ref) = InventoryObjectKind.object(at: slot, access: stack) { return .moRef(ref) }
            if let task = stack.object(at: slot, as: LuaTaskObject.self) { return .moRef(task.live.ref) }
            throw LuaFailure("invoke: argument \(path) is a \(stack.typeName(slot)), which cannot be sent to vCenter")
        case .table:
            let count = stack.rawLength(slot)
            let keys = try stack.stringKeys(of: slot)
            if count > 0 && keys.isEmpty {
                var items: [PropertyValue] = []
                for i in 1...count {
                    items.append(try stack.withRawElement(i, of: slot) { try value(at: $0, on: stack, path: "\(path)[\(i)]", depth: depth + 1) })
                }
                return .array(items)
            }
            guard count == 0 else { throw LuaFailure("invoke: argument \(path) mixes a list and named fields") }
            let type = try stack.withRawField("_type", of: slot) { s -> String? in
                if stack.isNoneOrNil(s) { return nil }
                guard let t = stack.string(at: s) else { throw LuaFailure("invoke: \(path)._type must be a vSphere type name") }
                return t
            }
            let fields = try orderedFields(of: slot, keys: keys, on: stack, path: path, depth: depth)
            return .object(type: type, fields: fields)
        default:
            throw LuaFailure("invoke: argument \(path) is a \(stack.type(slot).name), which cannot be sent to vCenter")
        }
    }

    /// The named fields of the table at `slot` (without `_type`/`_order`), in `_order`'s order
    /// then alphabetically.
    static func orderedFields(of slot: Int32, keys: [String], on stack: some LuaStackAccess, path: String, depth: Int) throws -> [PropertyValue.Field] {
        let order: [String] = try stack.withRawField("_order", of: slot) { s in
            if stack.isNoneOrNil(s) { return [] }
            guard stack.type(s) == .table else { throw LuaFailure("invoke: \(path)._order must be a list of field names") }
            return (0..<stack.rawLength(s)).compactMap { i in stack.withRawElement(i + 1, of: s) { stack.string(at: $0) } }
        }
        let names = keys.filter { $0 != "_type" && $0 != "_order" }
        let sorted = order.filter(names.contains) + names.filter { !order.contains($0) }.sorted()
        var fields: [PropertyValue.Field] = []
        for name in sorted {
            let v = try stack.withRawField(name, of: slot) { try value(at: $0, on: stack, path: path.isEmpty ? name : "\(path).\(name)", depth: depth + 1) }
            if v != .null { fields.append(PropertyValue.Field(name, v)) }
        }
        return fields
    }

    /// A vSphere value as plain Lua data.
    static func luaValue(_ value: PropertyValue) -> LuaValue {
        switch value {
        case .null: return .nil
        case .bool(let b): return .boolean(b)
        case .int(let i): return .integer(Int(i))
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .moRef(let ref): return .string(ref.description)
        case .array(let items): return .table(LuaTable(array: items.map(luaValue)))
        case .object(let type, let fields):
            var table = LuaTable(array: [], fields: [:])
            var counts: [String: Int] = [:]
            for field in fields { counts[field.name, default: 0] += 1 }
            for field in fields {
                let v = luaValue(field.value)
                if counts[field.name, default: 0] > 1 {
                    // A repeated element (an array the decoder saw item by item).
                    var list = table[field.name].tableValue ?? LuaTable(array: [], fields: [:])
                    list.array.append(v)
                    table[field.name] = .table(list)
                } else {
                    table[field.name] = v
                }
            }
            if let type { table["_type"] = .string(type) }
            return .table(table)
        }
    }
}
