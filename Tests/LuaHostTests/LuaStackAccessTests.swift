import LuaHost
import Testing

/// The stack API other modules use instead of the C API: raw, never raising, never
/// converting in place. These run outside any protected call, as the bindings do: were a
/// metamethod to run and raise here, the process would end (status 70), not the test fail.
@Suite struct LuaStackAccessTests {
    /// A reference to what `source` returns.
    private func value(_ source: String, in state: LuaState) throws -> LuaRef {
        let chunk = try state.load(source, chunkName: "=test")
        return try #require(try state.callReturningReferences(chunk).first)
    }

    /// A table whose every metamethod raises.
    private static let hostileTable = """
        local function boom(what) return function() error("metamethod " .. what .. " ran") end end
        return setmetatable({ 10, 20, a = "A" }, {
          __index = boom("__index"), __newindex = boom("__newindex"), __len = boom("__len"),
          __pairs = boom("__pairs"), __eq = boom("__eq"), __tostring = boom("__tostring"),
        })
        """

    @Test func rawReadsAndWritesNeverRunAMetamethod() throws {
        try withState { state in
            let table = try value(Self.hostileTable, in: state)
            let stack = LuaThreadStack(state: state)
            let base = stack.top
            stack.push(table)
            #expect(stack.withRawField("a", of: -1) { stack.string(at: $0) } == "A")
            #expect(stack.withRawField("missing", of: -1) { stack.type($0) } == .nil)
            #expect(stack.withRawElement(2, of: -1) { stack.integer(at: $0) } == 20)
            #expect(stack.rawLength(-1) == 2)
            stack.push(30)
            stack.setRawElement(3)
            stack.setRawField("b", .string("B"))
            #expect(try stack.stringKeys(of: -1).sorted() == ["a", "b"])
            var count = 0
            try stack.forEachRawPair(of: -1) { _, _ in count += 1 }
            #expect(count == 5)
            #expect(stack.top == base + 1)
            stack.setTop(base)
        }
    }

    @Test func traversalKeepsNumberKeysAndRestoresTheStackOnThrow() throws {
        struct Stop: Error {}
        try withState { state in
            let table = try value("return { 10, 20, 30, x = 1 }", in: state)
            let stack = LuaThreadStack(state: state)
            stack.push(table)
            let top = stack.top
            var keys: [String] = []
            // Reading a number key as a string must not turn it into one: `next` would then
            // raise "invalid key to 'next'" outside any protected call.
            try stack.forEachRawPair(of: -1) { key, _ in
                keys.append(stack.string(at: key) ?? "?")
                #expect(stack.type(key) == (keys.last == "x" ? .string : .number))
                stack.push("pushed and left behind")
            }
            #expect(keys.sorted() == ["1", "2", "3", "x"])
            #expect(stack.top == top)
            #expect(throws: Stop.self) {
                try stack.forEachRawPair(of: -1) { _, _ in
                    stack.push(1)
                    throw Stop()
                }
            }
            #expect(stack.top == top)
            stack.pop()
        }
    }

    @Test func readsOfAnythingButATableFindNothing() throws {
        try withState { state in
            let stack = LuaThreadStack(state: state)
            let base = stack.top
            stack.push(42)
            #expect(stack.pushRawField("x", of: -1) == .nil)
            stack.pop()
            #expect(stack.pushRawElement(1, of: -1) == .nil)
            stack.pop()
            var pairs = 0
            try stack.forEachRawPair(of: -1) { _, _ in pairs += 1 }
            #expect(pairs == 0)
            #expect(stack.rawLength(-1) == 0)
            // A number read as a string is converted on a copy.
            #expect(stack.string(at: -1) == "42")
            #expect(stack.type(-1) == .number)
            #expect(stack.integer(at: -1) == 42 && stack.number(at: -1) == 42)
            #expect(stack.top == base + 1)
            stack.setTop(base)
        }
    }

    @Test func objectsAreFoundByTheirTypeOnly() throws {
        try withState { state in
            state.setGlobal("new_task", function: { call in
                call.push(TestTask(id: try call.string(1)))
                return .values(1)
            })
            let task = try value("return new_task('t-1')", in: state)
            let closed = try value("local t = new_task('t-2'); do local c <close> = t end; return t", in: state)
            let forged = try value("return io.stdout", in: state)
            let stack = LuaThreadStack(state: state)
            let base = stack.top
            stack.push(task)
            #expect(stack.object(at: -1, as: TestTask.self)?.id == "t-1")
            #expect(stack.object(at: -1, as: TestVM.self) == nil)
            #expect(stack.typeName(-1) == "moonmotion.Task")
            stack.push(closed)
            #expect(stack.object(at: -1, as: TestTask.self) == nil)
            #expect(stack.typeName(-1) == "userdata")
            stack.push(forged)
            #expect(stack.object(at: -1, as: TestTask.self) == nil)
            #expect(stack.typeName(-1) == "userdata")
            stack.push("text")
            #expect(stack.typeName(-1) == "string")
            stack.setTop(base)
        }
    }

    @Test func callablesAndWhereFunctionsAreDefined() throws {
        try withState { state in
            let function = try value("return function() end", in: state)
            let callable = try value("return setmetatable({}, { __call = function() end })", in: state)
            let plain = try value("return {}", in: state)
            let stack = LuaThreadStack(state: state)
            let base = stack.top
            stack.push(function)
            #expect(stack.isCallable(-1))
            #expect(stack.functionLocation(-1) == "test:1")
            stack.push(callable)
            #expect(stack.isCallable(-1))
            #expect(stack.functionLocation(-1) == nil)
            stack.push(plain)
            #expect(!stack.isCallable(-1))
            #expect(stack.top == base + 3)
            stack.setTop(base)
        }
    }

    @Test func registryValuesAreMadeOncePerState() throws {
        try withState { state in
            let stack = LuaThreadStack(state: state)
            var made = 0
            func make() throws {
                made += 1
                try stack.newTable()
            }
            let first = try stack.registryValue("test.once", make: make)
            let second = try stack.registryValue("test.once", make: make)
            #expect(made == 1)
            stack.push(first)
            stack.push(second)
            #expect(stack.identity(at: -1) == stack.identity(at: -2))
            stack.pop(2)
        }
    }

    @Test func loadedModulesAreReadRaw() throws {
        try withState { state in
            let stack = LuaThreadStack(state: state)
            #expect(stack.pushLoadedModule("string") == .table)
            #expect(stack.withRawField("rep", of: -1) { stack.type($0) } == .function)
            stack.pop()
            #expect(stack.pushLoadedModule("no.such.module") == .nil)
            stack.pop()
        }
    }
}
