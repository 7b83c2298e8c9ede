import Foundation
import LuaBindings
import LuaHost
import VCenterModel
import VCenterSimulator

/// A runtime with the bindings installed and a connector that hands out `backend`.
struct BindingsHarness {
    let runtime: LuaRuntime
    let bindings: LuaBindings

    /// `connect` is what `mm.connect{...}` gets; it receives the script's request.
    init(connect: @escaping VCenterConnector, sandbox: SandboxOptions = .none) throws {
        runtime = try LuaRuntime(options: .init(sandbox: sandbox, configuresModulePath: false))
        bindings = try LuaBindings.install(into: runtime, connector: connect)
    }

    /// Every `mm.connect` returns this backend (the same instance).
    init(backend: any VCenter, url: String = "simulated", simulated: Bool = true, sandbox: SandboxOptions = .none) throws {
        let connected = ConnectedVCenter(backend, url: url, isSimulated: simulated)
        try self.init(connect: { _ in connected }, sandbox: sandbox)
    }

    /// Runs a script and returns its results as plain values.
    func run(_ source: String, chunk: String = "=test") async throws -> [LuaValue] {
        let refs = try await runtime.run(source: source, chunkName: chunk)
        return try await runtime.perform { _ in try refs.map { try $0.value() } }
    }

    /// Runs a script that must fail; returns the error message.
    func failure(_ source: String) async -> String? {
        do {
            _ = try await runtime.run(source: source, chunkName: "=test")
            return nil
        } catch let error as LuaError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    func shutdown() async {
        await bindings.closeAll()
        runtime.shutdown()
    }
}

/// A small simulated vCenter: 2 clusters × 3 hosts, 24 VMs on legacy-* datastores.
func smallSimulator(clock: SimulatorClock = .virtual, spec: String = "clusters=2,hosts=3,vms=24,datastores=2,snapshots=0.5,consolidate=0.25") throws -> SimulatedVCenter {
    var config = SimulatorConfiguration()
    config.clock = clock
    return try SimulatedVCenter(generating: spec, configuration: config)
}
