import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// Options every command takes: which database, and how to print.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The session database (default: $SESSION_DB, else ./sessions.sqlite).")
    var db: String?

    @Option(name: .long, help: ArgumentHelp(
        "A PostgreSQL session store instead of a file (default: $SESSION_POSTGRES_URL): stats, list, show, revoke, purge and verify work against it.",
        valueName: "postgres://user:password@host:port/database"
    ))
    var postgres: String?

    @Option(name: .long, help: "The PostgreSQL schema the session tables live in (default: $SESSION_POSTGRES_SCHEMA, else the connection's).")
    var postgresSchema: String?

    @Flag(name: .long, help: "Print JSON for scripts instead of text for people.")
    var json = false

    var path: String {
        db ?? ProcessInfo.processInfo.environment["SESSION_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "sessions.sqlite"
    }

    /// Opens the store for changing it, refusing to create a database that does not exist.
    ///
    /// Without encryption in `policy`, sealed data passes through still sealed.
    func open(
        policy: SessionPolicy = SessionPolicy(),
        durability: SQLiteSessionStore.Durability = .full,
        create: Bool = false
    ) throws -> SQLiteSessionStore {
        try refusePostgres()
        if !create { try requireFile() }
        return try SQLiteSessionStore(path: path, policy: policy, configuration: Self.configuration(durability: durability, readOnly: false))
    }

    /// Opens the store for looking at it: writable when possible (so it is migrated like any
    /// other open), read-only when the file cannot be written (a backup, a read-only mount).
    ///
    /// - Parameter policy: With encryption, sealed data is opened; without, it stays sealed.
    func openForReading(policy: SessionPolicy = SessionPolicy()) throws -> SQLiteSessionStore {
        try requireFile()
        do {
            return try open(policy: policy)
        } catch let error as SessionStoreError where error.code == .readOnly {
            return try SQLiteSessionStore(path: path, policy: policy, configuration: Self.configuration(durability: .full, readOnly: true))
        }
    }

    /// A one-shot command reads each page about once: mapping the file would only make the
    /// process look bigger, so pages are read into the small page cache instead. Sealed data
    /// the command has no key for is passed through still sealed.
    private static func configuration(durability: SQLiteSessionStore.Durability, readOnly: Bool) -> SQLiteSessionStore.Configuration {
        SQLiteSessionStore.Configuration(
            durability: durability, readerConnections: 2, memoryMapSize: 0, writerCacheSize: 8 << 20,
            readOnly: readOnly, keepsSealedData: true
        )
    }

    private func refusePostgres() throws {
        if postgres != nil {
            throw ValidationError("this command works on a SQLite file only; --postgres works with stats, list, show, revoke, purge and verify")
        }
    }

    private func requireFile() throws {
        try refusePostgres()
        guard FileManager.default.fileExists(atPath: path) else {
            throw SessionStoreError(.notFound, "no session database at \(path) (pass --db PATH or set SESSION_DB)")
        }
    }
}

/// `--keys`, for the commands that read or write session data: they seal with the first key and
/// open with all of them. Commands that never touch data do not take it.
struct KeyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Encryption keys, id:base64,… with the current key first (default: $SESSION_ENCRYPTION_KEYS).",
        valueName: "keys"
    ))
    var keys: String?

    /// The encryption the keys describe, or nil without keys.
    func encryption() throws -> SessionEncryption? {
        guard let text = keys ?? ProcessInfo.processInfo.environment["SESSION_ENCRYPTION_KEYS"], !text.isEmpty else { return nil }
        return try SessionEncryption(parsing: text)
    }

    /// The default policy, sealing and opening with the keys.
    func policy() throws -> SessionPolicy {
        SessionPolicy(encryption: try encryption())
    }
}

/// For the commands that never read or write session data: `--keys` would do nothing there, so
/// it is refused with a clear error instead of being accepted and ignored.
struct RefusedKeyOptions: ParsableArguments {
    @Option(name: .long, help: .hidden)
    var keys: String?

    func validate() throws {
        if keys != nil {
            throw ValidationError("this command never opens session data, so it takes no --keys (show, export --decrypt, import, demo, reencrypt and verify do)")
        }
    }
}

/// Writes `value` as pretty JSON with sorted keys to standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
