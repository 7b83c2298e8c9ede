import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel

/// Runs a Lua chunk with `util = require "moonmotion.util"` and returns its results.
private func lua(_ harness: StrategyHarness, _ source: String) async throws -> [LuaValue] {
    let refs = try await harness.runtime.run(source: "local util = require 'moonmotion.util'\n" + source, chunkName: "=test")
    return try await harness.runtime.perform { _ in try refs.map { try $0.value() } }
}

private func luaString(_ harness: StrategyHarness, _ source: String) async throws -> String {
    guard case .string(let s)? = try await lua(harness, source).first else { return "(not a string)" }
    return s
}

private func luaError(_ harness: StrategyHarness, _ source: String) async -> String {
    do {
        _ = try await lua(harness, source)
        return "(no error)"
    } catch {
        return String(describing: error)
    }
}

/// stdlib/moonmotion/util.lua (issue 13.4), and `strategy.by` on dotted paths and booleans.
@Suite("moonmotion.util (stdlib)")
struct UtilLibraryTests {
    static func harness() throws -> StrategyHarness { try StrategyHarness(spec: "clusters=1,hosts=1,vms=1") }

    @Test("util.bytes agrees with ByteUnits.format for every value tried (edges, unit changes, 0.99 TiB, fractions, negatives)")
    func bytesAgree() async throws {
        let h = try Self.harness()
        defer { h.shutdown() }
        var values: [Double] = [0, 1, 512, 1023, 1024, 1025, 1536, 10_240, 1_048_575, 1_048_576, 0x1p30, 0x1p40, 0x1p50, 0x1p55,
                                120 * 0x1p30, 1012 * 0x1p30, 999.94 * 0x1p30, 999.95 * 0x1p30, 999.96 * 0x1p30, 1023.99 * 0x1p40,
                                84.8 * 0x1p40, 0.5, 1.5, 1023.5, 1.25 * 0x1p20, 150 * 0x1p20 + 0.3, -512, -1536, -1012 * 0x1p30]
        // A deterministic spread over every unit.
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<400 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let exponent = Double(x >> 58) // 0…63
            let mantissa = Double((x >> 20) & 0xFFFF) / 65_536
            values.append(((1 + mantissa) * pow(2, min(exponent, 55))).rounded())
        }
        let literals = values.map { String(format: "%.17g", $0) }.joined(separator: ", ")
        let lua = try await luaString(h, "local out = {} for _, v in ipairs { \(literals) } do out[#out + 1] = util.bytes(v) end return table.concat(out, '\\n')")
        let swift = values.map { ByteUnits.format($0) }
        let got = lua.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(got.count == swift.count)
        for (i, (l, s)) in zip(got, swift).enumerated() where l != s {
            Issue.record("util.bytes(\(literals.split(separator: ",")[i])) = \(l), ByteUnits.format = \(s)")
        }
        #expect(got.contains("120.0 GiB") && got.contains("0.99 TiB") && got.contains("512 B"))
        // Integers and the error for a non-number.
        #expect(try await luaString(h, "return util.bytes(1024 * 1024 * 1024 * 120)") == "120.0 GiB")
        #expect(await luaError(h, "return util.bytes('1')").contains("util.bytes: expected a number of bytes, got string"))
    }

    @Test("util.duration is ProgressRenderer.duration")
    func duration() async throws {
        let h = try Self.harness()
        defer { h.shutdown() }
        let values: [Double] = [-5, 0, 0.4, 0.5, 44.6, 59.5, 60, 725, 3599.4, 3600, 11_220, 86_399, 86_400, 187_200, 1e7]
        let literals = values.map { String(format: "%.17g", $0) }.joined(separator: ", ")
        let lua = try await luaString(h, "local out = {} for _, v in ipairs { \(literals) } do out[#out + 1] = util.duration(v) end return table.concat(out, ' ')")
        #expect(lua == values.map { ProgressRenderer.duration($0) }.joined(separator: " "))
        #expect(try await luaString(h, "return util.duration(nil) .. util.duration(0/0) .. util.duration(math.huge)") == "???")
    }

    @Test("util.time and util.date take float epochs (os.date raises on them), nil gives -")
    func times() async throws {
        let h = try Self.harness()
        defer { h.shutdown() }
        let osDate = await luaError(h, "return os.date('!%T', 1.5)")
        #expect(osDate != "(no error)", "os.date accepts floats now: util.time may be simpler")
        #expect(try await luaString(h, "return util.time(1765029807.75, true)") == "14:03:27")
        #expect(try await luaString(h, "return util.date(1765029807.75, true)") == "2025-12-06 14:03:27")
        #expect(try await luaString(h, "return util.time(nil) .. util.date(nil)") == "--")
        #expect(try await luaString(h, "return tostring(util.time(100.9) == os.date('%H:%M:%S', 100))") == "true")
        #expect(await luaError(h, "return util.time('noon')").contains("util.time: expected epoch seconds (a number), got string"))
    }

    @Test("util.columns: headers, a rule, numbers right, text left, keys with dotted paths and functions")
    func columns() async throws {
        let h = try Self.harness()
        defer { h.shutdown() }
        let plain = try await luaString(h, """
            return util.columns({ { "app-01", 12, "esx-01" }, { "db-1", 1500 } }, { headers = { "VM", "GiB", "host" } })
            """)
        #expect(plain == """
            VM       GiB  host
            ------  ----  ------
            app-01    12  esx-01
            db-1    1500
            """)
        let keyed = try await luaString(h, """
            local items = { { name = "vé-1", host = { name = "h1" }, size = 2^30 }, { name = "v2", size = 512 } }
            return util.columns(items, { keys = { "name", "host.name", function(x) return util.bytes(x.size) end } })
            """)
        #expect(keyed == "vé-1  h1  1.0 GiB\nv2        512 B")
        #expect(await luaError(h, "return util.columns({}, { header = {} })").contains("unknown option 'header'"))
    }

    @Test("util.sort_by: several keys, -descending, dotted paths, booleans, nil last, stable")
    func sortBy() async throws {
        let h = try Self.harness()
        defer { h.shutdown() }
        let order = try await luaString(h, """
            local t = {
              { n = "a", on = true,  vm = { power = "poweredOn" },  size = 3 },
              { n = "b", on = false, vm = { power = "poweredOff" }, size = 3 },
              { n = "c", on = true,  vm = { power = "poweredOff" }, size = 9 },
              { n = "d", on = false, vm = {},                      size = 1 },
              { n = "e",             vm = { power = "poweredOn" },  size = 3 },
            }
            local function names(list) local s = "" for _, x in ipairs(list) do s = s .. x.n end return s end
            local r = {}
            r[#r + 1] = names(util.sort_by(t, "vm.power"))
            r[#r + 1] = names(util.sort_by(t, "on"))
            r[#r + 1] = names(util.sort_by(t, "-size", "n"))
            r[#r + 1] = names(util.sort_by(t, function(x) return x.n end))
            r[#r + 1] = names(util.sort_by(t, "size"))
            return table.concat(r, " ")
            """)
        // Each sort starts from the order the one before left: poweredOff before poweredOn, nil
        // last; false before true, nil last (stable within); size 9 first, then the 3s by name;
        // by name; by size, ties in their previous order.
        #expect(order == "bcaed bdcae cabed abcde dabec")
        #expect(await luaError(h, "util.sort_by({}, 42)").contains("util.sort_by: a key is a field name, a dotted path"))
        #expect(await luaError(h, "util.sort_by({})").contains("give at least one key"))
    }

    @Test("util.top and util.where")
    func topAndWhere() async throws {
        let h = try Self.harness()
        defer { h.shutdown() }
        let result = try await luaString(h, """
            local vms = {
              { name = "a", committed = 10, power = "poweredOn", host = { name = "h1" } },
              { name = "b", committed = 30, power = "poweredOff", host = { name = "h2" } },
              { name = "c", committed = 20, power = "poweredOff", host = { name = "h1" } },
              { name = "d", power = "poweredOn", host = { name = "h2" } },
            }
            local function names(list) local s = "" for _, x in ipairs(list) do s = s .. x.name end return s end
            return table.concat({
              names(util.top(vms, 2, "committed")), names(util.top(vms, 10, "committed")),
              names(util.where(vms, { power = "poweredOff" })),
              names(util.where(vms, { ["host.name"] = "h1", committed = function(v) return v and v > 15 end })),
              names(vms), tostring(#util.top({ 3, 1, 2 }, 2)) .. util.top({ 3, 1, 2 }, 1)[1],
            }, " ")
            """)
        #expect(result == "bc bcad bc c abcd 23")
    }

    @Test("strategy.by takes dotted paths and booleans (it raised 'attempt to compare' before); labels may be functions")
    func strategyBy() async throws {
        let h = try Self.harness()
        defer { h.shutdown() }
        let result = try await luaString(h, """
            local strategy = require "moonmotion.strategy"
            local t = { { n = "a", vm = { power = "poweredOn" }, tools = true }, { n = "b", vm = { power = "poweredOff" }, tools = false },
                        { n = "c", vm = {} } }
            local function names(list) local s = "" for _, x in ipairs(list) do s = s .. x.n end return s end
            local a = { table.unpack(t) } table.sort(a, strategy.by("vm.power"))
            local b = { table.unpack(t) } table.sort(b, strategy.by("tools"))
            local c = { table.unpack(t) } table.sort(c, strategy.by("tools", true))
            return names(a) .. " " .. names(b) .. " " .. names(c)
            """)
        #expect(result == "bac bac abc")
        let labels = try await lua(h, """
            local strategy = require "moonmotion.strategy"
            local inv = { vms = { { name = "x", consolidation_needed = true } } }
            local jobs = strategy.vms_needing_consolidation(inv, { label = function(vm) return "fix " .. vm.name end })
            return jobs[1].label
            """)
        #expect(labels == [.string("fix x")])
        let bad = await luaError(h, """
            local strategy = require "moonmotion.strategy"
            return strategy.vms_needing_consolidation({ vms = { { name = "x", consolidation_needed = true } } }, { label = function() return 1 end })
            """)
        #expect(bad.contains("label: the function returned a number for x; return a string or nil"), "\(bad)")
    }
}
