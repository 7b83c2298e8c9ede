// Runs scripts/bench/lua/calls.lua inside Moonmotion's Lua runtime with Swift functions to
// call (see run.sh). Arguments: the path of calls.lua, N, ROUNDS.
import LuaHost
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: lua-bench path/to/calls.lua [N] [ROUNDS]")
    exit(2)
}
let runtime = try LuaRuntime(options: .init(configuresModulePath: false))
try runtime.extendMoonmotionModule { m in
    m.function("bench_abs") { call in
        let v = try call.integer(1)
        call.push(v < 0 ? -v : v)
        return .values(1)
    }
    m.valueFunction("bench_abs_values") { args in
        guard let v = args.first?.intValue else { return [.nil] }
        return [.integer(v < 0 ? -v : v)]
    }
    m.function("bench_park") { call in
        try call.suspend { completion in
            completion.resume()
            return nil
        }
    }
}
try runtime.registerAsync("bench_async") { _ in [] }
let prelude = """
    local mm = require "moonmotion"
    bench = {
      abs = mm.bench_abs, abs_values = mm.bench_abs_values, yield = mm.yield,
      park = mm.bench_park, sleep0 = function() mm.sleep(0) end, async = mm.bench_async, now = mm.now,
    }
    """
_ = try await runtime.run(source: prelude, chunkName: "=[bench]")
do {
    _ = try await runtime.run(file: arguments[1], arguments: arguments.dropFirst(2).map { .string($0) })
} catch let error as LuaError {
    print(error.description)
    exit(1)
}
runtime.shutdown()
