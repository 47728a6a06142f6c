import ArgumentParser
import Foundation
#if Postgres
import Logging
#endif
#if Postgres
import PostgresSessions
#endif
import Sessions
import SQLiteSessions

/// What `stats`, `list`, `show`, `revoke`, `purge` and `verify` ask of a store: the SQLite file
/// and, with the Postgres trait, a PostgreSQL database answer the same questions.
protocol InspectedStore: SessionStoreAdministration {
    var policy: SessionPolicy { get }
    /// The file's path or the server's address, for messages.
    var location: String { get }
    /// What ``verification()`` checks, for people.
    var verifiedAspects: String { get }
    /// How long the change log keeps what replication no longer needs.
    var changeLogRetention: Duration { get }
    func storedSession(for token: SessionToken) async throws -> Session?
    func sessions(hashPrefix prefix: String, limit: Int) async throws -> [Session]
    func history(ofSession id: Int64, limit: Int) async throws -> [SessionChange]
    func messages(ofSession id: Int64, last count: Int) async throws -> [SessionMessage]
    func topUsers(limit: Int) async throws -> [UserSessionCount]
    func distribution(of measure: SessionMeasure, boundaries: [Duration]) async throws -> [Int]
    func changeLogSummary() async throws -> ChangeLogSummary
    func deleteStored(_ hash: TokenHash, id: Int64?) async throws -> Bool
    func verification() async throws -> SessionStoreVerification
    func sealedDataCheck(using encryption: SessionEncryption) async throws -> SealedDataCheck
}

extension SQLiteSessionStore: InspectedStore {
    var location: String { path }
    var verifiedAspects: String { "integrity, schema, expiry columns, user index, change log" }
    var changeLogRetention: Duration { configuration.changeLogRetention }
}

#if Postgres
extension PostgresSessionStore: InspectedStore {
    var location: String { "PostgreSQL at \(endpoint)" }
    var verifiedAspects: String { "schema, triggers, indexes, expiry columns" }
    var changeLogRetention: Duration { configuration.changeRetention }
}
#endif

extension StoreOptions {
    /// Where the inspecting commands look: `--postgres`, `--db`, then `$SESSION_POSTGRES_URL`,
    /// then `$SESSION_DB` (both variables set is refused, as the factory refuses it).
    enum Target {
        case file(String)
        case postgres(url: String, schema: String?)
    }

    var target: Target {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
            let schema = postgresSchema ?? variable("SESSION_POSTGRES_SCHEMA")
            if let postgres {
                guard db == nil else { throw ValidationError("give --db or --postgres, not both") }
                return .postgres(url: postgres, schema: schema)
            }
            if let db { return .file(db) }
            if let url = variable("SESSION_POSTGRES_URL") {
                guard variable("SESSION_DB") == nil else {
                    throw ValidationError("SESSION_POSTGRES_URL and SESSION_DB are both set; pass --db or --postgres to choose")
                }
                return .postgres(url: url, schema: schema)
            }
            return .file(path)
        }
    }

    /// Opens the store the command inspects: the SQLite file as ``openForReading(policy:)`` or
    /// ``open(policy:durability:create:)`` does, or the PostgreSQL database, whose tables must
    /// already exist (a tool never creates them).
    ///
    /// - Parameter writable: A SQLite file opened for a change, not only for looking.
    func openInspected(policy: SessionPolicy = SessionPolicy(), writable: Bool = false) async throws -> any InspectedStore {
        switch try target {
        case .file:
            return writable ? try open(policy: policy) : try openForReading(policy: policy)
        case .postgres(let url, let schema):
            #if Postgres
            var configuration = try PostgresSessionStore.Configuration(url: url)
            configuration.schema = schema
            configuration.keepsSealedData = true
            configuration.migratesSchema = false
            configuration.logger = Logger(label: "sessionctl.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
            try await PostgresSessionStore.checkConnection(configuration)
            let store = try PostgresSessionStore(configuration: configuration, policy: policy)
            do {
                try await store.prepare()
            } catch {
                try? await store.close()
                throw error
            }
            return store
            #else
            _ = (url, schema)
            throw SessionStoreError(
                .configurationError,
                "this sessionctl was built without PostgreSQL; build it with --traits Postgres (swift build -c release --product sessionctl --traits Postgres)"
            )
            #endif
        }
    }
}
