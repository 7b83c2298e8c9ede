import ArgumentParser
import Foundation
import LuaBindings
import VCenterModel
import VCenterSimulator

/// `moonmotion inventory [--json]`: what the vCenter (or an inventory file) holds, as tables
/// — clusters, datastores, then every VM — or as the JSON document later commands load as an
/// offline inventory.
struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Show the vCenter's clusters, hosts, datastores and VMs.",
        discussion: """
            Reads the inventory in one batched retrieval per object type and prints each \
            cluster (hosts, VMs, committed storage), each datastore (capacity, free, VMs, \
            committed storage), then each VM (cluster, host, power, committed storage, \
            folder, guest OS; custom attributes with --attributes, vSphere tags with --tags). \
            --no-vms leaves the VM list out.

            --json writes one JSON document instead, with the field names a Lua script \
            reads (vm.power is "power"): {"vms": [{"name", "moref", "host", "cluster", \
            "datastores", "committed", "power", "folder", "attributes", "tags", "guest_os", ...}], \
            "hosts": [...], "datastores": [...], "clusters": [...]} — save it and use it later \
            as an offline inventory (--inventory FILE here, in plan and in run). Files written \
            by older versions (committed_bytes, power_state, ...) still load.

            Tags ("category:tag") come from vCenter's Automation REST API (vSphere 6.5 and \
            later), read with the same user, password and TLS settings. Where it does not \
            answer (an ESXi host, an older vCenter, an account it refuses) the rest is read, \
            each VM's tags are unknown (absent in JSON, "?" in the TAGS column) and one line \
            says why ("tags were not read: ..."; "tags_unread" in JSON).

            It needs a vCenter: --url or GOVC_URL. Without one it fails, unless --simulate \
            (the built-in simulated vCenter: 3 clusters × 8 hosts, 3,000 VMs), --generate SPEC \
            (a simulated inventory of your own) or --inventory FILE (a saved one) says where \
            else to read.

            Errors are one line on stderr with exit status 1: a wrong password \
            (InvalidLogin), an untrusted or mismatching TLS certificate (with the \
            thumbprints), a server that is not vSphere, an unreachable host, a timeout.

            Examples:
              moonmotion inventory --url vc01.example.com --username admin --password-file ~/.vcpass
              GOVC_URL=user:pass@vc01 moonmotion inventory --json > inventory.json
              moonmotion inventory --generate clusters=2,hosts=4,vms=200 --json > test-inventory.json
              moonmotion inventory --inventory test-inventory.json --no-vms
            """
    )

    @OptionGroup(title: "vCenter") var connection: ConnectionOptions

    @Option(help: ArgumentHelp(
        "Show a simulated inventory generated from this spec instead of a vCenter's (implies --simulate).",
        discussion: "Keys as for `run --generate`: clusters, hosts (per cluster), vms, from, to, datastores, shared, seed, size, …, disks=1-4, flash, rdm, iso, off, pods, folders=a|b, attr.NAME=v1|v2, tag.CATEGORY=t1|t2, guests=id1|id2 (see `moonmotion help plan`)",
        valueName: "spec"))
    var generate: String?

    @Option(help: ArgumentHelp("Show this saved inventory (a `moonmotion inventory --json` file) instead of a vCenter's.", valueName: "file"))
    var inventory: String?

    @Flag(help: "Write the whole inventory as one JSON document on stdout.")
    var json = false

    @Flag(help: "Leave the list of VMs out (clusters, datastores and totals only).")
    var noVms = false

    @Flag(help: "In the list of VMs: a column of custom attributes (name=value, ...).")
    var attributes = false

    @Flag(help: "In the list of VMs: a column of vSphere tags (category:tag, ...).")
    var tags = false

    @Flag(help: "With --json: indent the document for people.")
    var pretty = false

    func validate() throws {
        if generate != nil, let url = connection.url, !url.isEmpty {
            throw ValidationError("--generate shows a simulated inventory, --url a real one: give one of them")
        }
        if inventory != nil, generate != nil || connection.url.map({ !$0.isEmpty }) == true {
            throw ValidationError("--inventory shows a saved inventory; --generate or --url would read another: give one of them")
        }
    }

    mutating func run() async throws {
        if let inventory {
            let loaded: Inventory
            do {
                (loaded, _) = try Backend.loadInventory(file: inventory, generate: "", referenceDate: Date())
            } catch {
                throw CommandFailure.exit(error)
            }
            try show(loaded, source: "inventory file \(inventory)")
            return
        }
        let connected: ConnectedVCenter
        do {
            if let generate {
                connected = try ConnectionOptions.simulated(generate: generate, announce: "--generate")
            } else {
                connected = try await connection.connect()
            }
        } catch {
            throw CommandFailure.exit(error)
        }
        let inventory: Inventory
        do {
            var inv = try await connected.vcenter.inventory()
            if inv.about == nil { inv.about = try? await connected.vcenter.about() }
            inventory = inv
        } catch {
            await connected.vcenter.close()
            throw CommandFailure.exit(error)
        }
        await connected.vcenter.close()
        try show(inventory, source: connected.vcenter.displayName)
    }

    private func show(_ inventory: Inventory, source: String) throws {
        if json && pretty {
            var data = try inventory.jsonData(pretty: true)
            data.append(0x0A)
            FileHandle.standardOutput.write(data)
        } else if json {
            // Written as it is encoded, a VM at a time: the whole document (10 MB for 10,000
            // VMs with their disks) and the encoder's tree of it are never held at once.
            try inventory.writeJSON { FileHandle.standardOutput.write($0) }
            FileHandle.standardOutput.write(Data([0x0A]))
        } else {
            var summary = InventorySummary(inventory, source: source)
            summary.listsVMs = !noVms
            summary.showsAttributes = attributes
            summary.showsTags = tags
            print(summary.text, terminator: "")
        }
    }
}

/// The text of `moonmotion inventory`: per cluster and per datastore, then totals.
struct InventorySummary {
    let inventory: Inventory
    let source: String
    /// Whether a table of every VM follows the datastores.
    var listsVMs = true
    /// Whether that table has a column of custom attributes.
    var showsAttributes = false
    /// Whether that table has a column of tags.
    var showsTags = false

    init(_ inventory: Inventory, source: String) {
        self.inventory = inventory
        self.source = source
    }

    var text: String {
        var out = source + "\n\n"
        var vmsByCluster: [MoRef: (count: Int, bytes: Int64)] = [:]
        var vmsByDatastore: [MoRef: (count: Int, bytes: Int64)] = [:]
        var standalone = (count: 0, bytes: Int64(0))
        for vm in inventory.vms {
            if let c = vm.cluster {
                vmsByCluster[c, default: (0, 0)].count += 1
                vmsByCluster[c, default: (0, 0)].bytes += vm.committedBytes
            } else {
                standalone.count += 1
                standalone.bytes += vm.committedBytes
            }
            // A VM's committed bytes are split evenly over its datastores (vSphere does not say more).
            let share = vm.datastores.isEmpty ? 0 : vm.committedBytes / Int64(vm.datastores.count)
            for ds in vm.datastores {
                vmsByDatastore[ds, default: (0, 0)].count += 1
                vmsByDatastore[ds, default: (0, 0)].bytes += share
            }
        }

        var clusterRows = [["CLUSTER", "HOSTS", "VMS", "COMMITTED"]]
        for cluster in inventory.clusters.sorted(by: { $0.name < $1.name }) {
            let hosts = inventory.hosts(in: cluster.ref)
            let usable = hosts.filter(\.isUsable).count
            let v = vmsByCluster[cluster.ref] ?? (0, 0)
            clusterRows.append([cluster.name, usable == hosts.count ? "\(hosts.count)" : "\(hosts.count) (\(hosts.count - usable) unusable)",
                                "\(v.count)", ByteText.format(v.bytes)])
        }
        let standaloneHosts = inventory.hosts.filter { $0.cluster == nil }
        if !standaloneHosts.isEmpty || standalone.count > 0 {
            clusterRows.append(["(standalone)", "\(standaloneHosts.count)", "\(standalone.count)", ByteText.format(standalone.bytes)])
        }
        out += Table.render(clusterRows, rightAligned: [1, 2, 3]) + "\n"

        var dsRows = [["DATASTORE", "TYPE", "CAPACITY", "FREE", "FREE %", "VMS", "COMMITTED"]]
        for ds in inventory.datastores.sorted(by: { $0.name < $1.name }) {
            let v = vmsByDatastore[ds.ref] ?? (0, 0)
            let percent = ds.capacityBytes > 0 ? Double(ds.freeBytes) * 100 / Double(ds.capacityBytes) : 0
            dsRows.append([ds.name + (ds.accessible ? "" : " (inaccessible)"), ds.type, ByteText.format(ds.capacityBytes),
                           ByteText.format(ds.freeBytes), "\(Int(percent.rounded()))%", "\(v.count)", ByteText.format(v.bytes)])
        }
        out += Table.render(dsRows, rightAligned: [2, 3, 4, 5, 6]) + "\n"
        if listsVMs, !inventory.vms.isEmpty { out += vmTable + "\n" }

        let committed = inventory.vms.reduce(Int64(0)) { $0 + $1.committedBytes }
        let capacity = inventory.datastores.reduce(Int64(0)) { $0 + $1.capacityBytes }
        let free = inventory.datastores.reduce(Int64(0)) { $0 + $1.freeBytes }
        out += "\(inventory.clusters.count) clusters, \(inventory.hosts.count) hosts, \(inventory.vms.count) VMs "
            + "(\(ByteText.format(committed)) committed), \(inventory.datastores.count) datastores "
            + "(\(ByteText.format(free)) free of \(ByteText.format(capacity)))\n"
        if let why = inventory.tagsUnread { out += why + "\n" }
        return out
    }
}

extension InventorySummary {
    /// One row per VM, by name: where it runs, its power state and size, and what a strategy
    /// selects by (folder, guest OS, attributes).
    var vmTable: String {
        var header = ["VM", "CLUSTER", "HOST", "POWER", "COMMITTED", "FOLDER", "GUEST OS"]
        if showsAttributes { header.append("ATTRIBUTES") }
        if showsTags { header.append("TAGS") }
        var rows = [header]
        rows.reserveCapacity(inventory.vms.count + 1)
        for vm in inventory.vms.sorted(by: { $0.name < $1.name }) {
            var row = [
                vm.name + (vm.isTemplate ? " (template)" : ""),
                vm.cluster.map { inventory.name(of: $0) } ?? "-",
                vm.host.map { inventory.name(of: $0) } ?? "-",
                vm.powerState, ByteText.format(vm.committedBytes),
                vm.folderPath ?? "-", vm.guestOS ?? vm.guestId ?? "-",
            ]
            if showsAttributes {
                row.append(vm.customAttributes.keys.sorted().map { "\($0)=\(vm.customAttributes[$0] ?? "")" }.joined(separator: ", "))
            }
            if showsTags {
                // "?": not read (see the line under the totals), as opposed to none ("").
                row.append(vm.tags.map { $0.map(\.description).joined(separator: ", ") } ?? "?")
            }
            rows.append(row)
        }
        return Table.render(rows, rightAligned: [4])
    }
}

/// Sizes: IEC units, as everywhere (`ByteUnits`): `512.0 MiB`, `1.2 TiB`.
enum ByteText {
    static func format(_ bytes: Int64) -> String { ByteUnits.format(bytes) }
}

/// Left-aligned text columns with two spaces between them.
enum Table {
    static func render(_ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : (i == row.count - 1 ? cell : cell + pad)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

/// A command's failure: one clear line on stderr (`InvalidLogin: …`), exit status 1.
enum CommandFailure {
    /// Prints `error` as one line and returns the exit code to throw.
    static func exit(_ error: any Error) -> ExitCode {
        FileHandle.standardError.write(Data("moonmotion: \(error)\n".utf8))
        return ExitCode.failure
    }
}
