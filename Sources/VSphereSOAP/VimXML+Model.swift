import Foundation
import VCenterModel
import VimXML

extension XMLWriter {
    /// Writes `ref` as a `ManagedObjectReference` element.
    mutating func moRef(_ name: String, _ ref: MoRef, xsiType: Bool = false) {
        moRef(name, type: ref.type, value: ref.value, xsiType: xsiType)
    }

    /// Writes a `PropertyValue` as element `name` (arrays as repeated elements, nulls omitted).
    mutating func value(_ name: String, _ value: PropertyValue) {
        switch value {
        case .null:
            break
        case .bool(let b):
            element(name, b ? "true" : "false")
        case .int(let i):
            element(name, String(i))
        case .double(let d):
            element(name, String(d))
        case .string(let s):
            element(name, s)
        case .moRef(let ref):
            moRef(name, ref)
        case .array(let items):
            for item in items { self.value(name, item) }
        case .object(let type, let fields):
            start(name, xsiType: type)
            for field in fields { self.value(field.name, field.value) }
            end(name)
        }
    }
}

extension XMLElement {
    /// The element as a `MoRef`, when it carries a `type` attribute.
    var moRef: MoRef? {
        guard let type = typeAttribute else { return nil }
        return MoRef(type, text)
    }

    /// The text as a `Date` (`xsd:dateTime`).
    var date: Date? { dateTime.map { Date(timeIntervalSince1970: $0) } }

    /// The element as a generic `PropertyValue`, typed by its `xsi:type` where it has one.
    var propertyValue: PropertyValue {
        if let ref = moRef { return .moRef(ref) }
        let type = xsiType
        if let type, type.hasPrefix("ArrayOf") {
            return .array(children.map(\.propertyValue))
        }
        if hasChildren {
            // Repeated elements (a data object's array field) become one `.array` field.
            var order: [String] = []
            var values: [String: [PropertyValue]] = [:]
            for child in children {
                if values[child.name] == nil { order.append(child.name) }
                values[child.name, default: []].append(child.propertyValue)
            }
            let fields = order.map { name -> PropertyValue.Field in
                let items = values[name]!
                return .init(name, items.count == 1 ? items[0] : .array(items))
            }
            return .object(type: type, fields: fields)
        }
        switch type {
        case "boolean": return bool.map(PropertyValue.bool) ?? .string(text)
        case "int", "long", "short", "byte": return int64.map(PropertyValue.int) ?? .string(text)
        case "double", "float": return double.map(PropertyValue.double) ?? .string(text)
        default: return .string(text)
        }
    }
}
