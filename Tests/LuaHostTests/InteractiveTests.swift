import Testing
@testable import LuaHost

@Suite struct InteractiveTests {
    @Test func compilesLikeLuaInteractiveMode() throws {
        try withState { state throws in
            guard case .complete(let expression, isExpression: true) = state.compileInteractive("1 + 1") else {
                Issue.record("1 + 1 should compile as an expression")
                return
            }
            #expect(try state.call(expression) == [2])
            guard case .complete(_, isExpression: true) = state.compileInteractive("=math.max(1, 5)") else {
                Issue.record("=expr should compile")
                return
            }
            guard case .complete(_, isExpression: false) = state.compileInteractive("x = 1") else {
                Issue.record("x = 1 should compile as a statement")
                return
            }
            guard case .incomplete = state.compileInteractive("function f(a)") else {
                Issue.record("an open function is incomplete")
                return
            }
            guard case .incomplete = state.compileInteractive("for i = 1, 3 do\n  print(i)") else {
                Issue.record("an open loop is incomplete")
                return
            }
            guard case .complete = state.compileInteractive("for i = 1, 3 do\n  print(i)\nend") else {
                Issue.record("a closed loop is complete")
                return
            }
            guard case .failed(let error) = state.compileInteractive("x = = 1") else {
                Issue.record("x = = 1 is a syntax error")
                return
            }
            #expect(error.message == "stdin:1: unexpected symbol near '='")
        }
    }

    @Test func completesGlobalsFieldsAndMethods() throws {
        try withState { state throws in
            state.setGlobal("vm", function: { call in
                call.push(TestVM(name: "x"))
                return .values(1)
            })
            try state.run("conn = vm() inventory = { clusters = { prod = 1 }, count = 3, [1] = 'x' }")
            #expect(state.completions(for: "pri") == ["print"])
            #expect(state.completions(for: "fun") == ["function"])
            #expect(state.completions(for: "string.fo") == ["string.format"])
            #expect(state.completions(for: "inventory.") == ["inventory.clusters", "inventory.count"])
            #expect(state.completions(for: "inventory.clusters.p") == ["inventory.clusters.prod"])
            #expect(state.completions(for: "conn.") == ["conn.name", "conn.powered"])
            #expect(state.completions(for: "conn:na") == ["conn:name"])
            #expect(state.completions(for: "io.stdout:wr") == ["io.stdout:write"])
            #expect(state.completions(for: "nothing.here") == [])
            #expect(state.completions(for: "1+x.") == [])
        }
    }
}
