// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0335-existential-any.md
    .enableUpcomingFeature("ExistentialAny"),
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    .enableUpcomingFeature("MemberImportVisibility"),
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0409-access-level-on-imports.md
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-sessions",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sessions", targets: ["Sessions"]),
        .library(name: "SQLiteSessions", targets: ["SQLiteSessions"]),
        .library(name: "RedisSessions", targets: ["RedisSessions"]),
        .executable(name: "sessionctl", targets: ["sessionctl"]),
        .executable(name: "sessionbench", targets: ["sessionbench"]),
        .executable(name: "session-test-peer", targets: ["session-test-peer"]),
        .executable(name: "sessionfuzz", targets: ["sessionfuzz"]),
        // Framework integrations: each builds only with its trait on (`--traits Hummingbird`), so an
        // app that uses neither framework never fetches one.
        .library(name: "HummingbirdSessions", targets: ["HummingbirdSessions"]),
        .library(name: "HummingbirdSessionsAuth", targets: ["HummingbirdSessionsAuth"]),
        .executable(name: "sample-site", targets: ["sample-site"]),
        .executable(name: "hummingbird-auth-peer", targets: ["hummingbird-auth-peer"]),
        .library(name: "VaporSessions", targets: ["VaporSessions"]),
        // PostgreSQL: builds only with the Postgres trait, so an app without it never fetches postgres-nio.
        .library(name: "PostgresSessions", targets: ["PostgresSessions"]),
        .executable(name: "vapor-sample-site", targets: ["vapor-sample-site"]),
    ],
    traits: [
        .trait(name: "Hummingbird", description: "HummingbirdSessions: session middleware, request context and cookies for Hummingbird 2."),
        .trait(
            name: "HummingbirdAuth",
            description: "HummingbirdSessionsAuth: makes a session's user the hummingbird-auth identity; builds the sample site.",
            enabledTraits: ["Hummingbird"]
        ),
        .trait(name: "Vapor", description: "VaporSessions: a session driver, request helpers and an optional middleware for Vapor 4."),
        .trait(name: "Postgres", description: "PostgresSessions: sessions in PostgreSQL (postgres-nio), with every host's memory cache kept coherent."),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .target(
            name: "Sessions",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite3"])]
        ),
        .target(
            name: "SQLiteSessions",
            dependencies: [
                "Sessions",
                "CSQLite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RedisSessions",
            dependencies: [
                "Sessions",
                "SQLiteSessions",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PostgresSessions",
            dependencies: [
                "Sessions",
                "SQLiteSessions",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["Postgres"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sessionctl",
            dependencies: [
                "Sessions",
                "SQLiteSessions",
                "RedisSessions",
                "PostgresSessions",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/sessionctl",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sessionbench",
            dependencies: [
                "Sessions",
                "SQLiteSessions",
                "RedisSessions",
                "LocalRedisServer",
                "LocalPostgresServer",
                "PostgresSessions",
                "ChildProcesses",
                "CSQLite",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "tools/sessionbench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "session-test-peer",
            dependencies: [
                "Sessions", "SQLiteSessions", "RedisSessions", "PostgresSessions",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "tools/session-test-peer",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LocalPostgresServer",
            dependencies: ["ChildProcesses"],
            path: "tools/LocalPostgresServer",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LocalRedisServer",
            dependencies: ["ChildProcesses"],
            path: "tools/LocalRedisServer",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChildProcesses",
            dependencies: ["CChildProcess"],
            path: "tools/ChildProcesses",
            swiftSettings: swiftSettings
        ),
        .target(name: "CChildProcess", path: "tools/CChildProcess"),
        .target(
            name: "SessionFuzzing",
            dependencies: ["Sessions", "SQLiteSessions", "RedisSessions", .product(name: "NIOCore", package: "swift-nio")],
            path: "tools/SessionFuzzing",
            swiftSettings: swiftSettings
        ),
        .target(name: "CFuzzerDriver", path: "tools/CFuzzerDriver"),
        .executableTarget(
            name: "sessionfuzz",
            dependencies: ["SessionFuzzing", "CFuzzerDriver"],
            path: "tools/sessionfuzz",
            exclude: ["corpus", "crashes"],
            swiftSettings: swiftSettings
        ),
        .target(name: "CPowerLossVFS", dependencies: ["CSQLite"], path: "Tests/CPowerLossVFS"),
        .target(
            name: "HummingbirdSessions",
            dependencies: [
                "Sessions",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Hummingbird"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Hummingbird"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HummingbirdSessionsAuth",
            dependencies: [
                "Sessions",
                "HummingbirdSessions",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdAuth"])),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth", condition: .when(traits: ["HummingbirdAuth"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HummingbirdAuth"])),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "VaporSessions",
            dependencies: [
                "Sessions",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["Vapor"])),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "vapor-sample-site",
            dependencies: [
                "SampleShop",
                "Sessions",
                "VaporSessions",
                "RedisSessions",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["Vapor"])),
            ],
            path: "tools/vapor-sample-site",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SampleShop",
            path: "tools/sample-shop",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sample-site",
            dependencies: [
                "SampleShop",
                "Sessions",
                "SQLiteSessions",
                "RedisSessions",
                "HummingbirdSessions",
                "HummingbirdSessionsAuth",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdAuth"])),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth", condition: .when(traits: ["HummingbirdAuth"])),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "tools/sample-site",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hummingbird-auth-peer",
            dependencies: [
                "SampleShop",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdAuth"])),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth", condition: .when(traits: ["HummingbirdAuth"])),
            ],
            path: "tools/hummingbird-auth-peer",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionTestSupport",
            dependencies: [
                "Sessions", "SQLiteSessions", "RedisSessions", "PostgresSessions", "ChildProcesses",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            path: "Tests/SessionTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionsTests",
            dependencies: ["Sessions", .product(name: "MetricsTestKit", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLiteSessionsTests",
            dependencies: [
                "Sessions", "SQLiteSessions", "CSQLite", "CPowerLossVFS", "SessionTestSupport", "ChildProcesses",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RedisSessionsTests",
            dependencies: [
                "ChildProcesses",
                "LocalRedisServer",
                "Sessions",
                "SQLiteSessions",
                "RedisSessions",
                "SessionTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionCtlTests",
            dependencies: ["Sessions", "SQLiteSessions", "SessionTestSupport", "ChildProcesses"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HummingbirdSessionsTests",
            dependencies: [
                "Sessions",
                "SQLiteSessions",
                "RedisSessions",
                "HummingbirdSessions",
                "HummingbirdSessionsAuth",
                "SessionTestSupport",
                "ChildProcesses",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                .product(name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Hummingbird"])),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth", condition: .when(traits: ["HummingbirdAuth"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Hummingbird"])),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VaporSessionsTests",
            dependencies: [
                "Sessions",
                "SQLiteSessions",
                "RedisSessions",
                "VaporSessions",
                "SessionTestSupport",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["Vapor"])),
                .product(name: "VaporTesting", package: "vapor", condition: .when(traits: ["Vapor"])),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresSessionsTests",
            dependencies: [
                "Sessions", "SQLiteSessions", "PostgresSessions", "SessionTestSupport", "LocalPostgresServer",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["SessionFuzzing"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionStoreBehaviourTests",
            dependencies: [
                "Sessions", "SQLiteSessions", "RedisSessions", "SessionTestSupport",
                // The documentation's listings compile here (DocumentationExamples.swift).
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
