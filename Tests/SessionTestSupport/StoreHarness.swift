public import Foundation
public import Sessions
import SQLiteSessions
public import Testing

/// Every store the behaviour suite runs against.
public enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case cachedMemory
    case cachedSQLite

    public var testDescription: String { rawValue }
}

/// A fresh store of one kind, with a clock the test moves by hand and its own temporary files.
public struct StoreHarness: Sendable {
    public let kind: StoreKind
    public let store: any SessionStore
    public let clock: ManualSessionClock
    public let directory: URL?

    public static let start = SessionInstant(millisecondsSince1970: 1_767_225_600_000)

    public static func make(_ kind: StoreKind, policy adjust: (inout SessionPolicy) -> Void = { _ in }) throws -> StoreHarness {
        let clock = ManualSessionClock(start)
        var policy = SessionPolicy(clock: clock)
        adjust(&policy)
        switch kind {
        case .memory:
            return StoreHarness(kind: kind, store: InMemorySessionStore(policy: policy), clock: clock, directory: nil)
        case .sqlite:
            let directory = try makeTemporaryDirectory()
            return StoreHarness(kind: kind, store: try sqliteStore(in: directory, policy: policy), clock: clock, directory: directory)
        case .cachedMemory:
            let store = try CachedSessionStore(wrapping: InMemorySessionStore(policy: policy))
            return StoreHarness(kind: kind, store: store, clock: clock, directory: nil)
        case .cachedSQLite:
            let directory = try makeTemporaryDirectory()
            let store = try CachedSessionStore(wrapping: try sqliteStore(in: directory, policy: policy))
            return StoreHarness(kind: kind, store: store, clock: clock, directory: directory)
        }
    }

    private static func sqliteStore(in directory: URL, policy: SessionPolicy) throws -> SQLiteSessionStore {
        try SQLiteSessionStore(
            path: directory.appendingPathComponent("sessions.sqlite").path,
            policy: policy,
            configuration: .init(durability: .normal)
        )
    }

    public func tearDown() async throws {
        try await store.close()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }
}

/// Runs `body` with a fresh store and always tears it down.
public func withStore(
    _ kind: StoreKind,
    policy: (inout SessionPolicy) -> Void = { _ in },
    _ body: (StoreHarness) async throws -> Void
) async throws {
    let harness = try StoreHarness.make(kind, policy: policy)
    do {
        try await body(harness)
    } catch {
        try? await harness.tearDown()
        throw error
    }
    try await harness.tearDown()
}

public func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sessions-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Expects `body` to throw a ``SessionStoreError`` with `code`.
public func expectError<T>(
    _ code: SessionStoreError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async {
    do {
        let value = try await body()
        Issue.record("expected a \(code) error, got \(value)", sourceLocation: sourceLocation)
    } catch let error as SessionStoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a SessionStoreError, got \(error)", sourceLocation: sourceLocation)
    }
}

extension Data {
    public init(_ text: String) { self = Data(text.utf8) }
}
