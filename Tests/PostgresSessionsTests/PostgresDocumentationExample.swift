#if Postgres
import Sessions
import PostgresSessions

/// The listing of PostgresSessions.docc/PostgreSQL.md, compiled here (not run: it names a server
/// of its own).
func postgresDocumentationExample() throws -> CachedSessionStore {
    // Package.swift: .package(url: "…/swift-sessions", from: "…", traits: ["Postgres"])
    let store = try CachedSessionStore(wrapping: PostgresSessionStore(url: "postgres://app:secret@db.internal/app"))
    return store
}
#endif
