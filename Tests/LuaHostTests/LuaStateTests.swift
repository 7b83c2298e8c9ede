import CLuaShim
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import LuaHost

@Suite struct LuaStateTests {
    @Test func valuesRoundTrip() throws {
        try withState { state throws in
            let nested: LuaValue = .table(LuaTable(
                array: [1, 2.5, "three", true, .table(LuaTable(array: ["x"]))],
                fields: ["name": "vm-01", "sizes": [10, 20], "meta": ["deep": ["deeper": 42]]]))
            state.setGlobal("v", nested)
            let back = try state.global("v")
            #expect(back == nested)
            let fromLua = try state.run("return 1, 2.0, 'é', nil, false, {1, 2, x = {y = 'z'}}")
            #expect(fromLua == [1, .number(2.0), "é", nil, false, .table(LuaTable(array: [1, 2], fields: ["x": ["y": "z"]]))])
        }
    }

    @Test func readingUsesRawAccessAndRejectsWhatIsNotData() throws {
        try withState { state throws in
            // A metatable whose __index/__pairs would raise must not run.
            let values = try state.run("""
                local t = setmetatable({ a = 1 }, { __index = function() error("no") end,
                                                    __pairs = function() error("no") end,
                                                    __len = function() error("no") end })
                return t
                """)
            #expect(values == [["a": 1]])
            #expect(throws: LuaConversionError.self) { try state.run("local t = {} t.self = t return t") }
            #expect(throws: LuaConversionError.self) { try state.run("return print") }
            #expect(throws: LuaConversionError.self) { try state.run("return { [true] = 1 }") }
        }
    }

    @Test func swiftFunctionsBothForms() throws {
        try withState { state throws in
            state.setGlobal("add", function: { call in
                call.push(try call.integer(1) + call.integer(2))
                return .values(1)
            })
            state.pushValueFunction(named: "concat", { args in [.string(args.compactMap(\.stringValue).joined(separator: "+"))] })
            lua_setglobal(state.mainThread, "concat")
            #expect(try state.run("return add(40, 2), concat('a', 1, 'b')") == [42, "a+1+b"])
        }
    }

    @Test func argumentErrorsReadLikeLuas() throws {
        try withState { state throws in
            state.setGlobal("add", function: { call in
                call.push(try call.integer(1) + call.integer(2))
                return .values(1)
            })
            let results = try state.run("""
                local ok1, e1 = pcall(function() return add(1, "x") end)
                local ok2, e2 = pcall(function() return add(1.5, 2) end)
                local t = { add = add }
                local ok3, e3 = pcall(function() return t:add(2) end)
                return e1, e2, e3
                """, chunkName: "@args.lua")
            #expect(results == [
                "args.lua:1: bad argument #2 to 'add' (number expected, got string)",
                "args.lua:2: bad argument #1 to 'add' (number has no integer representation)",
                "args.lua:4: calling 'add' on bad self (number expected, got table)",
            ])
        }
    }

    @Test func swiftErrorsGetTheScriptLocation() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "the disk is on fire" } }
        try withState { state throws in
            state.setGlobal("fail", function: { _ in throw Broken() })
            state.setGlobal("raw", function: { _ in throw LuaRaise("exactly this") })
            let results = try state.run("""
                local _, a = pcall(function()
                  fail()
                end)
                local _, b = pcall(function() raw() end)
                return a, b
                """, chunkName: "@where.lua")
            #expect(results == ["where.lua:2: the disk is on fire", "exactly this"])
        }
    }

    @Test func errorLocationAndTraceback() throws {
        try withState { state throws in
            let error = try #require(throws: LuaError.self) {
                try state.run("""
                    local function inner()
                      error("boom")
                    end
                    local function outer() inner() end
                    outer()
                    """, chunkName: "@script.lua")
            }
            #expect(error.message == "script.lua:2: boom")
            #expect(error.chunk == "script.lua")
            #expect(error.line == 2)
            #expect(error.kind == .runtime)
            let traceback = try #require(error.traceback)
            #expect(traceback.hasPrefix("stack traceback:"))
            #expect(traceback.contains("script.lua:2: in"))
            #expect(traceback.contains("script.lua:4: in"))
            #expect(traceback.contains("script.lua:5: in main chunk"))
            #expect(error.description.hasPrefix("script.lua:2: boom\nstack traceback:"))
        }
    }

    @Test func syntaxErrorsAndNonStringErrors() throws {
        try withState { state throws in
            let syntax = try #require(throws: LuaError.self) { try state.run("x = = 1", chunkName: "@bad.lua") }
            #expect(syntax.kind == .syntax)
            #expect(syntax.chunk == "bad.lua")
            #expect(syntax.line == 1)
            let table = try #require(throws: LuaError.self) { try state.run("error({ code = 7 })") }
            #expect(table.message == "(error object is a table value)")
            let custom = try #require(throws: LuaError.self) {
                try state.run("error(setmetatable({}, { __tostring = function() return 'custom!' end }))")
            }
            #expect(custom.message == "custom!")
        }
    }

    @Test func errorInLuaCallbackInvokedFromSwift() throws {
        try withState { state throws in
            // A Swift function calls a Lua callback; the callback's error reaches Swift as
            // LuaError with a traceback, and rethrowing raises it unchanged in Lua.
            let seen = ErrorBox()
            state.setGlobal("each", function: { call in
                let callback = try call.function(2)
                for value in try call.table(1).array {
                    do {
                        _ = try call.call(callback, [value])
                    } catch let error as LuaError {
                        seen.error = error
                        throw error
                    }
                }
                return .none
            })
            let results = try state.run("""
                local ok, err = pcall(each, { 1, 2, 3 }, function(v)
                  if v == 2 then error("callback failed on " .. v) end
                end)
                return ok, err
                """, chunkName: "@cb.lua")
            #expect(results == [false, "cb.lua:2: callback failed on 2"])
            let error = try #require(seen.error)
            #expect(error.line == 2)
            #expect(error.traceback?.contains("cb.lua:2: in function") == true)
            // Directly from Swift too.
            let f = try state.load("local a = ... ; return a .. nil", chunkName: "@direct.lua")
            let direct = try #require(throws: LuaError.self) { try state.call(f, ["x"]) }
            #expect(direct.message == "direct.lua:1: attempt to concatenate a nil value")
            #expect(direct.traceback != nil)
        }
    }

    @Test func registryReferencesAreCounted() throws {
        try withState { state throws in
            #expect(state.liveReferenceCount == 0)
            var refs: [LuaRef] = []
            state.setGlobal("keep", function: { call in
                refs.append(call.reference(1))
                return .none
            })
            try state.run("for i = 1, 50 do keep(function() return i end) end keep(nil)")
            #expect(state.liveReferenceCount == 50)  // keep(nil) holds no slot
            #expect(try state.call(refs[9]) == [10])
            refs.removeAll()
            #expect(state.liveReferenceCount == 0)
        }
    }

    @Test func referencesReleasedOnAnotherThreadAreDeferred() throws {
        let state = LuaState()
        defer { state.close() }
        let box = UncheckedSendable(try state.load("return 1", chunkName: "=x"))
        #expect(state.liveReferenceCount == 1)
        // Released on another thread: the unref waits for the owner thread.
        runOnNewThread { box.drop() }
        #expect(state.deferredReleases.withLock { $0.count } == 1)
        #expect(state.liveReferenceCount == 0)
    }

    @Test func modulesAreExtensible() throws {
        try withState { state throws in
            try state.addModule("demo") { m in m.set("a", 1) }
            try state.addModule("demo") { m in
                m.function("twice") { call in
                    call.push(try call.number(1) * 2)
                    return .values(1)
                }
            }
            #expect(try state.run("local d = require 'demo' return d.a, d.twice(21)") == [1, .number(42)])
            try state.addModule("demo") { m in m.set("late", "yes") }
            #expect(try state.run("return require('demo').late") == ["yes"])
        }
    }

    @Test func waitingNeedsTheRuntime() throws {
        try withState { state throws in
            state.setGlobal("park", function: { call in try call.suspend { _ in nil } })
            let error = try #require(throws: LuaError.self) { try state.run("park()", chunkName: "@p.lua") }
            #expect(error.message.contains("needs the Moonmotion runtime"))
        }
    }
}

final class ErrorBox: @unchecked Sendable {
    var error: LuaError?
}

/// Moves a value to another task where it is dropped (to test off-thread release).
final class UncheckedSendable<T>: @unchecked Sendable {
    private var value: T?
    init(_ value: T) { self.value = value }
    func drop() { value = nil }
}

/// Runs `body` on a fresh POSIX thread and waits for it.
func runOnNewThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t(bitPattern: 0)
    let box = Unmanaged.passRetained(Box(body))
    pthread_create(&thread, nil, { raw in
        Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, box.toOpaque())
    pthread_join(thread, nil)
}
