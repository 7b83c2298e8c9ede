import Testing
@testable import LuaHost

/// stdlib/moonmotion/pretty.lua, found the way the executable finds it.
@Suite struct PrettyTests {
    private func format(_ expression: String, options: String = "nil") throws -> String {
        try withState { state throws in
            try state.configureModulePath()
            state.setGlobal("vm", function: { call in
                call.push(TestVM(name: "x"))
                return .values(1)
            })
            let source = "local pretty = require 'moonmotion.pretty' local v = \(expression) return pretty.format(v, \(options))"
            return try state.run(source).first?.stringValue ?? "<none>"
        }
    }

    @Test func stdlibIsFoundFromTheExecutable() throws {
        #expect(LuaModulePath.checkoutStdlib() != nil)
    }

    @Test func scalarsAndFlatTables() throws {
        #expect(try format("'a\\nb\"c'") == #""a\nb\"c""#)
        #expect(try format("1.0") == "1.0")
        #expect(try format("{}") == "{}")
        #expect(try format("{ 1, 2, x = true, ['two words'] = 3, [10] = 'ten' }")
                == #"{ 1, 2, [10] = "ten", ["two words"] = 3, x = true }"#)
    }

    @Test func keysSortNaturally() throws {
        #expect(try format("{ ['vm-10'] = 1, ['vm-2'] = 2, ['vm-1'] = 3 }")
                == #"{ ["vm-1"] = 3, ["vm-2"] = 2, ["vm-10"] = 1 }"#)
    }

    @Test func nestingCyclesAndLimits() throws {
        #expect(try format("(function() local t = { a = {} } t.a.back = t return t end)()") == "{ a = { back = <cycle> } }")
        #expect(try format("{ a = { b = { c = 1 } } }", options: "{ max_depth = 2 }") == "{ a = { b = {...} } }")
        let long = try format("(function() local t = {} for i = 1, 100 do t[i] = i end return t end)()", options: "{ max_items = 5 }")
        #expect(long == "{ 1, 2, 3, 4, 5, ... 95 more }")
        let wide = try format("{ first = string.rep('x', 60), second = string.rep('y', 60) }")
        #expect(wide == "{\n  first = \"\(String(repeating: "x", count: 60))\",\n  second = \"\(String(repeating: "y", count: 60))\"\n}")
    }

    @Test func userdataAndMetatables() throws {
        #expect(try format("vm()").hasPrefix("moonmotion.VM: 0x"))
        #expect(try format("setmetatable({}, { __tostring = function() return 'custom' end })") == "custom")
        #expect(try format("setmetatable({ a = 1 }, { __index = function() error('no') end })") == "{ a = 1 }")
    }
}
