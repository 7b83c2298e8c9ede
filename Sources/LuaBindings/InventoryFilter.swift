import LuaHost
import VCenterModel

/// One criterion of an inventory filter: a name glob, a specific object (a userdata of the
/// right kind), or a list of those (any may match).
enum ObjectMatcher: Sendable, Hashable {
    case glob(Glob)
    case ref(MoRef)
    case any([ObjectMatcher])

    /// Whether the object `ref` called `name` matches.
    func matches(_ ref: MoRef, name: String) -> Bool {
        switch self {
        case .glob(let g): g.matches(name)
        case .ref(let r): r == ref
        case .any(let list): list.contains { $0.matches(ref, name: name) }
        }
    }
}

/// The criteria of `conn:vms{...}` / `inv:vms{...}` (and hosts, datastores, clusters):
/// every given field must match; string fields are globs.
struct InventoryFilter: Sendable, Hashable {
    var name: ObjectMatcher?
    var cluster: ObjectMatcher?
    var host: ObjectMatcher?
    var datastore: ObjectMatcher?
    var power: Glob?
    var template: Bool?
    /// A glob on `VMInfo.folderPath`; one ending in `/*` also matches the folder itself.
    var folder: Glob?
    /// Custom attribute name → glob on its value (every one must match).
    var attributes: [String: Glob] = [:]
    /// A glob on the guest OS's full name or its id.
    var guestOS: Glob?
    /// Globs on `category:tag` (`tag = "migration-wave:wave-1"`, or a list): the VM has a tag
    /// matching one of them.
    var tagPatterns: [Glob]?
    /// Tag category → glob on the tag's name (`tag = {["migration-wave"] = "wave-1"}`): for
    /// every one, the VM has a tag of that category whose name matches.
    var tagsByCategory: [String: Glob] = [:]

    /// Whether the filter asks about tags (which an inventory may not have read).
    var usesTags: Bool { tagPatterns != nil || !tagsByCategory.isEmpty }

    /// The filter keys each kind of listing accepts.
    enum Kind: String {
        case vms, hosts, datastores, clusters

        var keys: [String] {
            switch self {
            case .vms: ["name", "cluster", "host", "datastore", "power", "template", "folder", "attribute", "guest_os", "tag"]
            case .hosts: ["name", "cluster"]
            case .datastores: ["name", "host"]
            case .clusters: ["name"]
            }
        }
    }

    /// Reads the filter argument at `index`: nil/absent (everything), a string (a name
    /// glob) or a table of criteria. Unknown keys are errors, so a typo never silently
    /// selects everything.
    static func parse(_ call: LuaCall, at index: Int32, kind: Kind) throws -> InventoryFilter {
        var filter = InventoryFilter()
        switch call.type(index) {
        case .none, .nil:
            return filter
        case .string:
            filter.name = .glob(Glob(try call.string(index)))
            return filter
        case .table:
            break
        default:
            throw LuaArgumentError(index, expected: "table of filters or a name pattern", actual: call.type(index).name)
        }
        for key in try call.stringKeys(of: index) where !kind.keys.contains(key) {
            let hint = NameSuggestion.hint(for: key, among: kind.keys, aliases: Self.aliases)
            throw LuaArgumentError(index, "unknown filter '\(key)'\(hint) (\(kind.rawValue) accepts \(kind.keys.joined(separator: ", ")))")
        }
        func matcher(_ key: String, _ objectKind: InventoryObjectKind) throws -> ObjectMatcher? {
            try call.withRawField(key, of: index) { slot in try ObjectMatcher.read(call, at: slot, kind: objectKind, what: key, argument: index) }
        }
        filter.name = try matcher("name", kind.objectKind)
        if kind.keys.contains("cluster") { filter.cluster = try matcher("cluster", .cluster) }
        if kind.keys.contains("host") { filter.host = try matcher("host", .host) }
        if kind.keys.contains("datastore") { filter.datastore = try matcher("datastore", .datastore) }
        if kind.keys.contains("power") {
            filter.power = try call.withRawField("power", of: index) { slot -> Glob? in
                if call.isNoneOrNil(slot) { return nil }
                guard let text = call.string(at: slot) else { throw LuaArgumentError(index, "filter 'power' must be a string such as \"poweredOn\"") }
                return try Self.powerGlob(text, argument: index)
            }
        }
        if kind == .vms {
            try call.withRawField("tag", of: index) { slot in try Self.readTag(call, at: slot, into: &filter, argument: index) }
            filter.folder = try Self.glob(call, "folder", of: index, example: "\"/dc-1/vm/prod/*\"")
            filter.guestOS = try Self.glob(call, "guest_os", of: index, example: "\"*Windows*\"")
            filter.attributes = try call.withRawField("attribute", of: index) { slot -> [String: Glob] in
                if call.isNoneOrNil(slot) { return [:] }
                guard call.type(slot) == .table else {
                    throw LuaArgumentError(index, "filter 'attribute' must be a table of attribute names and value patterns, such as {wave = \"1\"}")
                }
                var out: [String: Glob] = [:]
                for name in try call.stringKeys(of: slot) {
                    out[name] = try call.withRawField(name, of: slot) { value -> Glob in
                        guard call.type(value) == .string || call.type(value) == .number, let text = call.string(at: value) else {
                            throw LuaArgumentError(index, "filter 'attribute': the value of '\(name)' must be a string or number pattern, not a \(call.type(value).name)")
                        }
                        return Glob(text)
                    }
                }
                guard !out.isEmpty || call.rawLength(slot) == 0 else {
                    throw LuaArgumentError(index, "filter 'attribute' must name its attributes, such as {wave = \"1\"}, not list values")
                }
                return out
            }
        }
        if kind.keys.contains("template") {
            filter.template = try call.withRawField("template", of: index) { slot -> Bool? in
                if call.isNoneOrNil(slot) { return nil }
                guard call.type(slot) == .boolean else { throw LuaArgumentError(index, "filter 'template' must be true or false") }
                return call.boolean(slot)
            }
        }
        return filter
    }

    // MARK: Matching

    func matches(_ vm: VMInfo, in inventory: Inventory) -> Bool {
        if let name, !name.matches(vm.ref, name: vm.name) { return false }
        if let power, !power.matches(vm.powerState) { return false }
        if let template, template != vm.isTemplate { return false }
        if let folder {
            guard let path = vm.folderPath else { return false }
            if !folder.matches(path), !(folder.pattern.hasSuffix("/*") && String(folder.pattern.dropLast(2)) == path) { return false }
        }
        if let guestOS {
            guard vm.guestOS.map(guestOS.matches) == true || vm.guestId.map(guestOS.matches) == true else { return false }
        }
        for (name, pattern) in attributes {
            guard let value = vm.customAttributes[name], pattern.matches(value) else { return false }
        }
        if usesTags {
            guard let tags = vm.tags else { return false }
            if let tagPatterns, !tags.contains(where: { tag in tagPatterns.contains { $0.matches(tag.description) } }) { return false }
            for (category, pattern) in tagsByCategory {
                guard tags.contains(where: { $0.category == category && pattern.matches($0.name) }) else { return false }
            }
        }
        if let cluster {
            guard let ref = vm.cluster, cluster.matches(ref, name: inventory.cluster(ref)?.name ?? ref.value) else { return false }
        }
        if let host {
            guard let ref = vm.host, host.matches(ref, name: inventory.host(ref)?.name ?? ref.value) else { return false }
        }
        if let datastore {
            guard vm.datastores.contains(where: { datastore.matches($0, name: inventory.datastore($0)?.name ?? $0.value) }) else { return false }
        }
        return true
    }

    func matches(_ host: HostInfo, in inventory: Inventory) -> Bool {
        if let name, !name.matches(host.ref, name: host.name) { return false }
        if let cluster {
            guard let ref = host.cluster, cluster.matches(ref, name: inventory.cluster(ref)?.name ?? ref.value) else { return false }
        }
        return true
    }

    func matches(_ ds: DatastoreInfo, in inventory: Inventory) -> Bool {
        if let name, !name.matches(ds.ref, name: ds.name) { return false }
        if let host {
            guard ds.hosts.contains(where: { host.matches($0, name: inventory.host($0)?.name ?? $0.value) }) else { return false }
        }
        return true
    }

    func matches(_ cluster: ClusterInfo, in inventory: Inventory) -> Bool {
        if let name, !name.matches(cluster.ref, name: cluster.name) { return false }
        return true
    }
}

extension InventoryFilter {
    /// Other words for filter keys, for "did you mean".
    static let aliases: [String: String] = [
        "power_state": "power", "state": "power", "attributes": "attribute", "custom_attribute": "attribute",
        "guest": "guest_os", "os": "guest_os", "folder_path": "folder", "tags": "tag", "vm": "name",
    ]

    /// The `power` criterion: a state in any spelling `VMPowerState` accepts (`PoweredOff`,
    /// `off`), matched as vSphere spells it; or a pattern that matches at least one state. Anything
    /// else is an error listing the states, since it could only ever select nothing.
    static func powerGlob(_ text: String, argument: Int32) throws -> Glob {
        if let state = VMPowerState(text) { return Glob(state.rawValue) }
        let glob = Glob(text)
        if Glob.isPattern(text), VMPowerState.allCases.contains(where: { glob.matches($0.rawValue) }) { return glob }
        throw LuaArgumentError(argument, "filter 'power': unknown power state '\(text)' (\(VMPowerState.accepted))")
    }

    /// The `tag` criterion at `slot`: a `category:tag` pattern, a list of them (any may match),
    /// or a table of category names and tag name patterns (all must match).
    static func readTag(_ call: LuaCall, at slot: Int32, into filter: inout InventoryFilter, argument index: Int32) throws {
        let example = "such as \"migration-wave:wave-1\", a list of those, or {[\"migration-wave\"] = \"wave-1\"}"
        switch call.type(slot) {
        case .none, .nil:
            return
        case .string:
            filter.tagPatterns = [Glob(try Self.tagPattern(call.string(at: slot) ?? "", argument: index))]
        case .table:
            let categories = try call.stringKeys(of: slot)
            let n = call.rawLength(slot)
            guard categories.isEmpty || n == 0 else {
                throw LuaArgumentError(index, "filter 'tag' mixes a list and category names; give one, \(example)")
            }
            if categories.isEmpty {
                var patterns: [Glob] = []
                for i in stride(from: 1, through: n, by: 1) {
                    patterns.append(try call.withRawElement(i, of: slot) { element -> Glob in
                        guard call.type(element) == .string, let text = call.string(at: element) else {
                            throw LuaArgumentError(index, "filter 'tag': a list holds \"category:tag\" patterns, not a \(call.type(element).name)")
                        }
                        return Glob(try Self.tagPattern(text, argument: index))
                    })
                }
                // An empty table asks nothing, as `attribute = {}` does.
                filter.tagPatterns = patterns.isEmpty ? nil : patterns
            } else {
                for category in categories {
                    filter.tagsByCategory[category] = try call.withRawField(category, of: slot) { value -> Glob in
                        guard call.type(value) == .string, let text = call.string(at: value) else {
                            throw LuaArgumentError(index, "filter 'tag': the tag of category '\(category)' must be a string pattern, not a \(call.type(value).name)")
                        }
                        return Glob(text)
                    }
                }
            }
        default:
            throw LuaArgumentError(index, "filter 'tag' must be a pattern \(example), not a \(call.type(slot).name)")
        }
    }

    /// A `category:tag` pattern; one without `:` could only match a category-less tag, which
    /// vSphere has not, so it is an error saying how to write it.
    static func tagPattern(_ text: String, argument: Int32) throws -> String {
        guard text.contains(":") else {
            throw LuaArgumentError(argument, "filter 'tag': '\(text)' names no category; write \"category:tag\" (\"migration-wave:\(text)\", \"*:\(text)\" for any category)")
        }
        return text
    }

    /// A string pattern under `key`, or nil when absent.
    static func glob(_ call: LuaCall, _ key: String, of index: Int32, example: String) throws -> Glob? {
        try call.withRawField(key, of: index) { slot -> Glob? in
            if call.isNoneOrNil(slot) { return nil }
            guard call.type(slot) == .string, let text = call.string(at: slot) else {
                throw LuaArgumentError(index, "filter '\(key)' must be a string pattern such as \(example), not a \(call.type(slot).name)")
            }
            return Glob(text)
        }
    }
}

extension InventoryFilter.Kind {
    var objectKind: InventoryObjectKind {
        switch self {
        case .vms: .vm
        case .hosts: .host
        case .datastores: .datastore
        case .clusters: .cluster
        }
    }
}

extension ObjectMatcher {
    /// Reads a criterion at stack `slot`: nil (none), a string glob, an object of `kind`,
    /// or an array of those.
    static func read(_ call: LuaCall, at slot: Int32, kind: InventoryObjectKind, what: String, argument: Int32) throws -> ObjectMatcher? {
        switch call.type(slot) {
        case .none, .nil:
            return nil
        case .string, .number:
            return .glob(Glob(call.string(at: slot) ?? ""))
        case .userdata:
            guard let ref = kind.ref(ofObjectAt: slot, access: call) else {
                throw LuaArgumentError(argument, "filter '\(what)' must be a name pattern or a \(kind.typeName), not \(call.typeName(slot))")
            }
            return .ref(ref)
        case .table:
            let n = call.rawLength(slot)
            var list: [ObjectMatcher] = []
            for i in stride(from: 1, through: n, by: 1) {
                let item = try call.withRawElement(i, of: slot) { element -> ObjectMatcher? in
                    guard call.type(element) != .table else {
                        throw LuaArgumentError(argument, "filter '\(what)': a list may hold names and objects, not nested lists")
                    }
                    return try read(call, at: element, kind: kind, what: what, argument: argument)
                }
                if let item { list.append(item) }
            }
            return .any(list)
        default:
            throw LuaArgumentError(argument, "filter '\(what)' must be a name pattern, a \(kind.typeName) or a list of them, not a \(call.type(slot).name)")
        }
    }
}
