public import Sessions

/// What replication to another store (Redis) needs from the SQLite store: named cursors in
/// `replication_cursors`, and the stored state of sessions by hash, expired or not.
extension SQLiteSessionStore {
    /// The position of the replication cursor `name`, or nil when it is not registered.
    public func replicationCursor(_ name: String) async throws -> Int64? {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("SELECT seq FROM replication_cursors WHERE name = ?1")
            defer { statement.reset() }
            statement.bind(name, at: 1)
            return try statement.step("reading a replication cursor") ? statement.int64(0) : nil
        }
    }

    /// Registers or moves the replication cursor `name`. While it exists, change-log entries after
    /// it are kept, however old.
    ///
    /// The move is committed without an fsync: a power cut may take the cursor back, and the
    /// changes after it are sent again, which is harmless.
    public func setReplicationCursor(_ name: String, to sequence: Int64) async throws {
        try checkOpen()
        let policy = self.policy
        try await writer.writeInBackground { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("""
                INSERT INTO replication_cursors (name, seq, updated_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
                """)
            defer { statement.reset() }
            statement.bind(name, at: 1)
            statement.bind(sequence, at: 2)
            statement.bind(policy.now.millisecondsSince1970, at: 3)
            try statement.run("moving a replication cursor")
        }
    }

    /// Removes the replication cursor `name`, so the change log may be trimmed past it.
    public func removeReplicationCursor(_ name: String) async throws {
        try checkOpen()
        try await writer.write { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("DELETE FROM replication_cursors WHERE name = ?1")
            defer { statement.reset() }
            statement.bind(name, at: 1)
            try statement.run("removing a replication cursor")
        }
    }

    /// A session to look up by its token hash, and its id when known (from the change log or a
    /// copy's record): with the id it is a primary-key lookup, without it a scan for sessions
    /// created since schema 3.
    public struct StoredSessionKey: Sendable, Hashable {
        /// The session's token hash.
        public var tokenHash: TokenHash
        /// The session's stable id; nil when unknown.
        public var id: Int64?

        /// Creates a key; each parameter sets the property of the same name.
        public init(tokenHash: TokenHash, id: Int64?) {
            self.tokenHash = tokenHash
            self.id = id
        }
    }

    /// The stored sessions with these token hashes, expired ones included; absent ones are left out.
    ///
    /// For copying sessions elsewhere (replication): data is returned exactly as stored, so
    /// data sealed by encryption at rest stays sealed (`SessionEncryption.open(_:)`
    /// opens it) and the copy holds nothing the file does not.
    public func storedSessions(_ keys: [StoredSessionKey]) async throws -> [TokenHash: Session] {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            var found: [TokenHash: Session] = [:]
            for key in keys {
                if let session = try connection.session(hash: key.tokenHash, id: key.id, codec: .passThrough) { found[key.tokenHash] = session }
            }
            return found
        }
    }

    /// `storedSessions(_:)` with keys for hashes alone: a scan of the table for
    /// sessions created since schema 3, so for tools and tests, not for serving.
    public func storedSessions(_ hashes: [TokenHash]) async throws -> [TokenHash: Session] {
        try await storedSessions(hashes.map { StoredSessionKey(tokenHash: $0, id: nil) })
    }

    /// A page of sessions like ``list(_:)``, with data exactly as stored (see
    /// ``storedSessions(_:)``): for copying every session elsewhere.
    public func storedSessions(_ query: SessionQuery) async throws -> SessionPage {
        try await list(query, codec: .passThrough)
    }

    /// The oldest change-log entry still kept, or nil when the log is empty.
    public func oldestChangeSequence() async throws -> Int64? {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            try connection.integer("SELECT min(seq) FROM session_changes", "reading the change log")
        }
    }
}
