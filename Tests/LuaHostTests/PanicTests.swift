import CLuaShim
import Testing
@testable import LuaHost

/// lua_atpanic: an error no protected call catches (a bug — Swift only calls Lua protected)
/// ends the process with a report and status 70, never abort()'s 134 and a core dump.
@Suite struct PanicTests {
    @Test func anUnprotectedErrorExitsSeventyWithAReport() async throws {
        let result = await #expect(processExitsWith: .exitCode(70), observing: [\.standardErrorContent]) {
            let state = LuaState()
            lua_pushstring(state.mainThread, "boom from nowhere")
            _ = lua_error(state.mainThread)  // no pcall around it: Lua panics
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains(
            "moonmotion: internal error: unprotected Lua error: boom from nowhere; this is a bug, please report it with the script"),
            "\(stderr)")
    }

    @Test func aNonStringErrorValueIsNamedByItsType() async throws {
        let result = await #expect(processExitsWith: .exitCode(70), observing: [\.standardErrorContent]) {
            let state = LuaState()
            lua_createtable(state.mainThread, 0, 0)
            _ = lua_error(state.mainThread)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("unprotected Lua error: (error object is a table value); this is a bug"), "\(stderr)")
    }
}
