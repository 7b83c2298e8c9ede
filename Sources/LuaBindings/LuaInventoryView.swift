import LuaHost
import VCenterModel

/// An inventory snapshot as Lua sees it (`moonmotion.Inventory`, the `inv` a strategy's
/// `select(inv)` receives, and what a connection reads once): fields `vms`, `hosts`,
/// `datastores`, `clusters` — arrays of object userdata that are also callable with a
/// filter (`inv:vms{cluster = "prod-*"}`, the same filters as `conn:vms`) — and the lookups
/// `inv:vm(name_or_moref)`, `inv:host(name)`, `inv:datastore(name)`, `inv:cluster(name)`.
///
/// Objects are views on this snapshot: the view hands out one object per reference (so
/// `vm.host == inv:host("esx-01")`), and when the snapshot changes (`replace`, `update`,
/// `conn:refresh()`, `vm:refresh()`) every object reads the new data. Executor-confined.
final class LuaInventoryView: LuaUserdata, @unchecked Sendable {
    static let luaTypeName = "Inventory"

    /// The snapshot.
    private(set) var inventory: Inventory
    /// The connection that can re-read it, if any (nil for an offline inventory).
    weak var connection: LuaConnection?

    private var vmObjects = WeakCache<LuaVMObject>()
    private var hostObjects = WeakCache<LuaHostObject>()
    private var datastoreObjects = WeakCache<LuaDatastoreObject>()
    private var clusterObjects = WeakCache<LuaClusterObject>()
    /// The cached callable arrays of `inv.vms` etc., rebuilt when membership changes.
    private var arrays: [InventoryObjectKind: LuaRef] = [:]

    /// A view on `inventory`; `connection` (if any) is what `refresh()` re-reads it from.
    init(_ inventory: Inventory, connection: LuaConnection? = nil) {
        self.inventory = inventory
        self.connection = connection
    }

    // MARK: Changing the snapshot

    /// Replaces the whole snapshot (after a fresh retrieval).
    func replace(_ inventory: Inventory) {
        self.inventory = inventory
        arrays = [:]
    }

    /// Replaces (or adds) one VM's record.
    func update(_ vm: VMInfo) {
        let isNew = inventory.vm(vm.ref) == nil
        inventory.update(vm)
        if isNew { arrays[.vm] = nil }
    }

    /// Replaces (or adds) one datastore's record (for example the engine's view of free space).
    func update(_ datastore: DatastoreInfo) {
        let isNew = inventory.datastore(datastore.ref) == nil
        inventory.update(datastore)
        if isNew { arrays[.datastore] = nil }
    }

    /// Replaces (or adds) one host's record.
    func update(_ host: HostInfo) {
        let isNew = inventory.host(host.ref) == nil
        inventory.update(host)
        if isNew { arrays[.host] = nil }
    }

    // MARK: Objects

    /// The object for VM `ref`, or nil when the snapshot has no such VM.
    func vm(_ ref: MoRef) -> LuaVMObject? {
        if let o = vmObjects[ref] { return o }
        guard let info = inventory.vm(ref) else { return nil }
        return vmObjects.insert(LuaVMObject(view: self, info: info), for: ref)
    }

    /// The object for host `ref`, or nil.
    func host(_ ref: MoRef) -> LuaHostObject? {
        if let o = hostObjects[ref] { return o }
        guard let info = inventory.host(ref) else { return nil }
        return hostObjects.insert(LuaHostObject(view: self, info: info), for: ref)
    }

    /// The object for datastore `ref`, or nil.
    func datastore(_ ref: MoRef) -> LuaDatastoreObject? {
        if let o = datastoreObjects[ref] { return o }
        guard let info = inventory.datastore(ref) else { return nil }
        return datastoreObjects.insert(LuaDatastoreObject(view: self, info: info), for: ref)
    }

    /// The object for cluster `ref`, or nil.
    func cluster(_ ref: MoRef) -> LuaClusterObject? {
        if let o = clusterObjects[ref] { return o }
        guard let info = inventory.cluster(ref) else { return nil }
        return clusterObjects.insert(LuaClusterObject(view: self, info: info), for: ref)
    }

    /// Whether the snapshot holds an object of `kind` with reference `ref`.
    func contains(_ kind: InventoryObjectKind, _ ref: MoRef) -> Bool {
        switch kind {
        case .vm: inventory.vm(ref) != nil
        case .host: inventory.host(ref) != nil
        case .datastore: inventory.datastore(ref) != nil
        case .cluster: inventory.cluster(ref) != nil
        }
    }

    /// The reference of the object of `kind` named `text` — or whose reference it is
    /// (`vm-42`, `VirtualMachine:vm-42`) — or nil. A name several objects share throws
    /// `AmbiguousNameError` (never the first one by chance).
    func lookup(_ kind: InventoryObjectKind, _ text: String) throws -> MoRef? {
        if let byName = try inventory.uniqueRef(kind, named: text) { return byName }
        guard var ref = MoRef(parsing: text) else { return nil }
        if !text.contains(":") { ref.type = kind.managedType }
        return contains(kind, ref) ? ref : nil
    }

    // MARK: Pushing (for the strategy and the connection)

    /// Pushes the object of `kind` for `ref`, or nil when the snapshot has none.
    func push(_ kind: InventoryObjectKind, _ ref: MoRef, on stack: some LuaStackAccess) {
        switch kind {
        case .vm: if let o = vm(ref) { stack.push(o) } else { stack.pushNil() }
        case .host: if let o = host(ref) { stack.push(o) } else { stack.pushNil() }
        case .datastore: if let o = datastore(ref) { stack.push(o) } else { stack.pushNil() }
        case .cluster: if let o = cluster(ref) { stack.push(o) } else { stack.pushNil() }
        }
    }

    /// Pushes an array of the objects of `kind` for `refs` (unknown references skipped).
    func pushArray(_ kind: InventoryObjectKind, _ refs: [MoRef], on stack: some LuaStackAccess) throws {
        let known = refs.filter { contains(kind, $0) }
        try stack.pushArray(known) { push(kind, $0, on: stack) }
    }

    /// Pushes the objects of `kind` that match `filter`, as a plain array.
    /// A filter on tags over an inventory whose tags were not read is an error saying why:
    /// a wave selected by tag must never come back silently empty.
    func pushFiltered(_ kind: InventoryObjectKind, _ filter: InventoryFilter, on stack: some LuaStackAccess) throws {
        if kind == .vm, filter.usesTags, let why = tagsUnread { throw LuaFailure("filter 'tag': " + why) }
        try pushArray(kind, refs(kind, filter), on: stack)
    }

    /// Why the VMs' tags are nil, when some are: the inventory's own reason, or that it came
    /// without them (a file saved before tags were read). Nil when every VM's tags are known.
    var tagsUnread: String? {
        let inv = inventory
        if let why = inv.tagsUnread { return why }
        guard inv.vms.contains(where: { $0.tags == nil }) else { return nil }
        return "tags were not read: this inventory has none (a file saved without them, or a source that does not read them)"
    }

    /// The references of the objects of `kind` matching `filter`, in inventory order.
    func refs(_ kind: InventoryObjectKind, _ filter: InventoryFilter) -> [MoRef] {
        let inv = inventory
        return switch kind {
        case .vm: inv.vms.filter { filter.matches($0, in: inv) }.map(\.ref)
        case .host: inv.hosts.filter { filter.matches($0, in: inv) }.map(\.ref)
        case .datastore: inv.datastores.filter { filter.matches($0, in: inv) }.map(\.ref)
        case .cluster: inv.clusters.filter { filter.matches($0, in: inv) }.map(\.ref)
        }
    }

    /// Pushes the shared callable array of every object of `kind` (`inv.vms`): built once
    /// per snapshot membership, so loops over `inv.vms[i]` stay linear. Scripts should
    /// treat it as read-only (copy it before sorting).
    func pushAll(_ kind: InventoryObjectKind, on stack: some LuaStackAccess) throws {
        if let cached = arrays[kind] {
            stack.push(cached)
            return
        }
        let all: [MoRef] = switch kind {
        case .vm: inventory.vms.map(\.ref)
        case .host: inventory.hosts.map(\.ref)
        case .datastore: inventory.datastores.map(\.ref)
        case .cluster: inventory.clusters.map(\.ref)
        }
        try pushArray(kind, all, on: stack)
        stack.setMetatable(of: -1, to: try LuaInventoryView.listingMetatable(kind, on: stack))
        arrays[kind] = stack.reference(-1)
    }

    /// Pushes this view as the `inv` userdata.
    func pushInventory(on stack: some LuaStackAccess) {
        stack.push(self)
    }

    /// The view behind the `moonmotion.Inventory` userdata at `slot`, or nil.
    static func view(at slot: Int32, on stack: some LuaStackAccess) -> LuaInventoryView? {
        stack.object(at: slot, as: LuaInventoryView.self)
    }

    /// The reference of any inventory object userdata at `slot` (VM, Host, Datastore,
    /// Cluster) with its kind, or nil (for reading back what a hook returned).
    static func object(at slot: Int32, on stack: some LuaStackAccess) -> (kind: InventoryObjectKind, ref: MoRef)? {
        InventoryObjectKind.object(at: slot, access: stack).map { (kind: $0.0, ref: $0.1) }
    }
}

/// Weak references to objects by MoRef, pruned as it grows.
struct WeakCache<T: AnyObject> {
    private final class Box {
        weak var object: T?
        init(_ object: T) { self.object = object }
    }
    private var boxes: [MoRef: Box] = [:]
    private var insertsSincePrune = 0

    subscript(ref: MoRef) -> T? { boxes[ref]?.object }

    mutating func insert(_ object: T, for ref: MoRef) -> T {
        boxes[ref] = Box(object)
        insertsSincePrune += 1
        if insertsSincePrune >= 1024, insertsSincePrune >= boxes.count / 2 {
            boxes = boxes.filter { $0.value.object != nil }
            insertsSincePrune = 0
        }
        return object
    }
}
