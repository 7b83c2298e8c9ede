// swift-tools-version:6.2
// Moonmotion: a Swift runtime that embeds Lua 5.4 and drives VMware vCenter for mass migrations.
// Module map and ownership: docs/ARCHITECTURE.md.
import PackageDescription

let package = Package(
    name: "moonmotion",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "moonmotion", targets: ["moonmotion"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
    ],
    targets: [
        // MARK: C libraries
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        // Lua is linked statically as well (liblua5.4.a from liblua5.4-dev, whole archive, so its
        // definitions win over the shared library's): API calls skip the PLT, about 3 of the
        // ~20 ns a Swift function call from Lua costs (scripts/bench/lua/run.sh).
        .target(
            name: "CLuaShim",
            dependencies: ["CLua"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--whole-archive", "-Xlinker", "-l:liblua5.4.a", "-Xlinker", "--no-whole-archive"])]
        ),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CLibEdit", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),

        // MARK: Swift modules
        .target(
            name: "LuaHost",
            dependencies: [
                "CLuaShim",
                "Locking",
                .product(name: "Collections", package: "swift-collections"),
            ]
        ),
        .target(name: "VimXML", dependencies: ["CLibXML2"]),
        .target(name: "Locking", dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .target(name: "VCenterModel", dependencies: ["Locking"]),
        .target(
            name: "VSphereSOAP",
            dependencies: [
                "Locking",
                "VimXML",
                "VCenterModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Gantt chart of a migration: `plan --out`'s timeline, the live page's and the report's.
        .target(name: "Gantt", dependencies: ["VCenterModel"]),
        .target(
            name: "VCenterSimulator",
            dependencies: [
                "Locking",
                "VCenterModel",
                "Gantt",
                .product(name: "Collections", package: "swift-collections"),
            ]
        ),
        .target(
            name: "MigrationEngine",
            dependencies: [
                "Locking",
                "VCenterModel",
                // A run's jobs as Gantt data (`JobTimeline`), shared by the report and the live page.
                "Gantt",
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The Scheduler is a class whose state is arrays it reads and writes a few hundred
            // times per job: in release, the run-time exclusivity checks of those accesses were
            // a fifth of its instructions (BENCHMARKS.md, issue 12). Debug builds, and so every
            // test run, keep the checks.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // The web side of `run --listen`: status page, /api/status, /metrics.
        .target(
            name: "StatusServer",
            dependencies: [
                "Locking",
                "MigrationEngine",
                "VCenterModel",
                "Gantt",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The run report (`run --report`, `moonmotion report`): built from a journal alone.
        .target(name: "RunReport", dependencies: ["MigrationEngine", "VCenterModel", "Gantt"]),
        .target(
            name: "RunNotifications",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "LuaBindings",
            // Not CLuaShim: the bindings reach Lua only through LuaHost's stack API.
            dependencies: ["Locking", "LuaHost", "VCenterModel", "MigrationEngine"]
        ),
        .executableTarget(
            name: "moonmotion",
            dependencies: [
                "Locking",
                "LuaHost",
                "LuaBindings",
                "VCenterModel",
                "VSphereSOAP",
                "VCenterSimulator",
                "MigrationEngine",
                "RunNotifications",
                "StatusServer",
                "RunReport",
                "CLibEdit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmark of the engine alone (scripts/bench/engine/run.sh).
        .executableTarget(name: "engine-bench", dependencies: ["MigrationEngine", "VCenterModel", "VCenterSimulator", .product(name: "Collections", package: "swift-collections")], path: "scripts/bench/engine/Sources"),
        // Benchmark of Lua calls into Swift and coroutine round trips (scripts/bench/lua/run.sh).
        .executableTarget(name: "lua-bench", dependencies: ["LuaHost"], path: "scripts/bench/lua/Sources"),
        // Fuzz targets (scripts/fuzz): libFuzzer targets when built with FUZZING and
        // --sanitize=fuzzer; in a normal build, replayers of saved inputs.
        .executableTarget(name: "response-fuzz", dependencies: ["VSphereSOAP"], path: "Fuzz/ResponseFuzz"),
        .executableTarget(name: "lua-api-fuzz", dependencies: ["LuaBindings", "LuaHost", "VCenterModel", "VCenterSimulator"], path: "Fuzz/LuaAPIFuzz"),

        // MARK: Tests (mirror Sources; IntegrationTests drive the built binary and the test vCenter)
        // TestSupport: starts and stops the test vCenter (scripts/vcsim) and the built binary for tests.
        .target(name: "TestSupport", dependencies: ["VCenterModel"], path: "Tests/TestSupport"),
        .testTarget(name: "LuaHostTests", dependencies: ["Locking", "LuaHost", "CLuaShim"]),
        // Fixtures are read by path (#filePath), not as resources: a resource bundle accessor imports
        // Foundation into the test module, whose ICU headers clash with libxml2's (see VimXML).
        .testTarget(name: "VimXMLTests", dependencies: ["VimXML"], exclude: ["Fixtures"]),
        .testTarget(name: "VSphereSOAPTests", dependencies: ["Locking", "VSphereSOAP", "VCenterModel", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "VCenterModelTests", dependencies: ["VCenterModel"]),
        .testTarget(name: "VCenterSimulatorTests", dependencies: ["Locking", "VCenterSimulator", "VCenterModel"]),
        .testTarget(name: "MigrationEngineTests", dependencies: [
            "Locking", "MigrationEngine", "VCenterModel", "VCenterSimulator", "TestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),  // to write a journal as an older Moonmotion did
        ]),
        .testTarget(name: "LuaBindingsTests", dependencies: ["Locking", "LuaBindings", "LuaHost", "VCenterModel", "VCenterSimulator", "MigrationEngine", "VSphereSOAP", "TestSupport"]),
        .testTarget(name: "RunNotificationsTests", dependencies: ["RunNotifications"]),
        .testTarget(name: "StatusServerTests", dependencies: [
            "StatusServer", "MigrationEngine", "VCenterModel", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .testTarget(name: "RunReportTests", dependencies: [
            "RunReport", "MigrationEngine", "VCenterModel", "TestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),  // to write a journal as a newer Moonmotion would
        ]),
        .testTarget(name: "IntegrationTests", dependencies: ["VCenterModel", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
