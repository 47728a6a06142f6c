// swift-tools-version:6.0
// The sample shop's benchmark routes on Vapor with Fluent's SQLite sessions, and Fluent's
// sessions on PostgreSQL driven directly (bench-postgres), for sessionbench to measure beside
// this repository's stores. A package of its own, so swift-sessions never depends
// on Fluent; sessionbench builds it when it runs its Vapor rows. Sources/SampleShop and the
// counting driver are symbolic links to the same files the repository's own sites use.
import PackageDescription

let package = Package(
    name: "fluent-peer",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
    ],
    targets: [
        .target(name: "SampleShop"),
        .executableTarget(
            name: "fluent-peer",
            dependencies: [
                "SampleShop",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
            ],
            path: "Sources/FluentPeer",
            swiftSettings: [.define("FluentPeer"), .swiftLanguageMode(.v6)]
        ),
    ]
)
