import Foundation
import Sessions

/// The session-level statements, shared by the writer and the readers.
extension SQLiteConnection {
    /// The session a token opens, or nil.
    ///
    /// One primary-key lookup by the token's `SessionToken.selector` and a comparison
    /// of the token's hash; a token from before schema 3 (or of an imported session) is found by
    /// its hash in `sessions_legacy_token_idx` instead.
    ///
    /// - Parameters:
    ///   - now: Only a session live at this instant; nil for expired ones too.
    ///   - codec: How to read the data; the connection's own by default.
    ///     ``StoredDataCodec/passThrough`` when only the row matters, so a session whose data
    ///     cannot be opened can still be deleted or copied.
    func session(for token: SessionToken, liveAt now: SessionInstant?, codec: StoredDataCodec? = nil) throws(SessionStoreError) -> Session? {
        if let found = try session(id: token.selector, hash: token.hash, liveAt: now, codec: codec) { return found }
        return try legacySession(token.hash, liveAt: now, codec: codec)
    }

    /// The session with this id, if its token hash is `hash`.
    func session(id: Int64, hash: TokenHash, liveAt now: SessionInstant?, codec: StoredDataCodec? = nil) throws(SessionStoreError) -> Session? {
        try with(now == nil ? .selectByID : .selectLiveByID) { statement throws(SessionStoreError) in
            statement.bind(id, at: 1)
            if let now { statement.bind(now.millisecondsSince1970, at: 2) }
            guard try statement.step("loading a session") else { return nil }
            return try SessionRow.read(statement, codec: codec ?? self.codec, expecting: hash)
        }
    }

    /// The session with this token hash among those found by hash (ids below
    /// ``SessionSQL/legacyIDLimit``).
    func legacySession(_ hash: TokenHash, liveAt now: SessionInstant?, codec: StoredDataCodec? = nil) throws(SessionStoreError) -> Session? {
        try with(now == nil ? .selectLegacy : .selectLiveLegacy) { statement throws(SessionStoreError) in
            statement.bind(hash, at: 1)
            if let now { statement.bind(now.millisecondsSince1970, at: 2) }
            return try statement.step("loading a session") ? try SessionRow.read(statement, codec: codec ?? self.codec) : nil
        }
    }

    /// The session with this token hash, expired or not, for callers that have no token.
    ///
    /// With the session's `id` this is a primary-key lookup. Without it, only sessions found by
    /// hash have an index; the others cost a scan of the table, which is for operators' tools.
    func session(hash: TokenHash, id: Int64?, codec: StoredDataCodec? = nil) throws(SessionStoreError) -> Session? {
        if let id, let found = try session(id: id, hash: hash, liveAt: nil, codec: codec) { return found }
        if let found = try legacySession(hash, liveAt: nil, codec: codec) { return found }
        guard id == nil else { return nil }
        return try with(.selectByHashScan) { statement throws(SessionStoreError) in
            statement.bind(hash, at: 1)
            return try statement.step("looking a session up by hash") ? try SessionRow.read(statement, codec: codec ?? self.codec) : nil
        }
    }

    /// The live session with this id, or nil.
    func liveSession(id: Int64, at now: SessionInstant, codec: StoredDataCodec? = nil) throws(SessionStoreError) -> Session? {
        try with(.selectLiveByID) { statement throws(SessionStoreError) in
            statement.bind(id, at: 1)
            statement.bind(now.millisecondsSince1970, at: 2)
            return try statement.step("loading a session") ? try SessionRow.read(statement, codec: codec ?? self.codec) : nil
        }
    }

    /// Inserts a new session under its own id, its contents written at `clock`.
    ///
    /// - Throws: A storage error; ``isTakenID(_:)`` tells one for an id another process took.
    func insert(_ row: StoredSessionRow, clock: Int64, baseClock: Int64 = 0) throws(SessionStoreError) {
        try with(.insertSessionWithID) { statement throws(SessionStoreError) in
            SessionRow.bind(row, clock: clock, baseClock: baseClock, creation: true, to: statement)
            try statement.run("creating a session")
        }
    }

    /// Whether `error` is the primary-key violation of an insert whose id already exists.
    static func isTakenID(_ error: SessionStoreError) -> Bool {
        error.underlying?.code == SQLiteResultCode.constraintPrimaryKey.rawValue
    }

    /// The highest session id in the file (0 when empty).
    func maxSessionID(legacy: Bool = false) throws(SessionStoreError) -> Int64 {
        try with(legacy ? .maxLegacySessionID : .maxSessionID) { statement throws(SessionStoreError) in
            _ = try statement.step("reading the highest session id")
            return statement.int64(0)
        }
    }

    /// Writes every field of an existing session that a save or an expiry change may alter; the
    /// new contents were written at `clock`.
    func update(_ row: StoredSessionRow, clock: Int64) throws(SessionStoreError) {
        try with(.updateSession) { statement throws(SessionStoreError) in
            SessionRow.bind(row, clock: clock, creation: false, to: statement)
            try statement.run("updating a session")
        }
    }

    /// Writes a rotation, made at `clock`: the new token hash, the times and the version; the
    /// data stays as stored.
    func updateToken(_ session: Session, clock: Int64) throws(SessionStoreError) {
        try with(.updateToken) { statement throws(SessionStoreError) in
            statement.bind(session.id, at: 1)
            statement.bind(session.tokenHash, at: 2)
            statement.bind(session.updatedAt.millisecondsSince1970, at: 3)
            statement.bind(session.expiresAt.millisecondsSince1970, at: 4)
            statement.bind(session.version, at: 5)
            statement.bind(clock, at: 6)
            try statement.run("rotating a session's token")
        }
    }

    /// Writes a use together with new limits (`SessionStore.touch(_:expiration:client:)`
    /// with an expiration), made at `clock`; the data stays as stored.
    func updateLimits(_ session: Session, clock: Int64) throws(SessionStoreError) {
        try with(.updateLimits) { statement throws(SessionStoreError) in
            statement.bind(session.id, at: 1)
            statement.bind(session.lastSeenAt.millisecondsSince1970, at: 2)
            statement.bind(session.deadlines.idleTimeoutMilliseconds, at: 3)
            statement.bind(session.deadlines.absoluteExpiresAt?.millisecondsSince1970, at: 4)
            statement.bind(session.expiresAt.millisecondsSince1970, at: 5)
            statement.bind(session.version, at: 6)
            statement.bind(session.lastSeenIP, at: 7)
            statement.bind(session.lastSeenUserAgent, at: 8)
            statement.bind(clock, at: 9)
            try statement.run("changing a session's expiry")
        }
    }

    /// Writes just the fields a use changes.
    func updateLastSeen(_ session: Session) throws(SessionStoreError) {
        try with(.touchSession) { statement throws(SessionStoreError) in
            statement.bind(session.id, at: 1)
            statement.bind(session.lastSeenAt.millisecondsSince1970, at: 2)
            statement.bind(session.expiresAt.millisecondsSince1970, at: 3)
            statement.bind(session.lastSeenIP, at: 4)
            statement.bind(session.lastSeenUserAgent, at: 5)
            try statement.run("recording a session's use")
        }
    }

    /// Deletes a session by id.
    func deleteSession(id: Int64) throws(SessionStoreError) {
        try with(.deleteByID) { statement throws(SessionStoreError) in
            statement.bind(id, at: 1)
            try statement.run("deleting a session")
        }
    }

    /// Appends one entry to `session_changes`; call inside the transaction that made the change.
    func logChange(
        _ kind: SessionChange.Kind,
        sessionID: Int64?,
        tokenHash: TokenHash,
        userID: String?,
        at now: SessionInstant,
        origin: Int64,
        messageID: Int64? = nil
    ) throws(SessionStoreError) {
        try with(.insertChange) { statement throws(SessionStoreError) in
            statement.bind(sessionID, at: 1)
            statement.bind(tokenHash, at: 2)
            statement.bind(userID, at: 3)
            statement.bind(kind.rawValue, at: 4)
            statement.bind(now.millisecondsSince1970, at: 5)
            statement.bind(origin, at: 6)
            statement.bind(messageID, at: 7)
            try statement.run("logging a session change")
        }
    }

    /// Change-log entries after `sequence`, oldest first.
    func changes(after sequence: Int64, limit: Int) throws(SessionStoreError) -> [SessionChange] {
        try with(.selectChanges) { statement throws(SessionStoreError) in
            statement.bind(sequence, at: 1)
            statement.bind(limit, at: 2)
            var changes: [SessionChange] = []
            while try statement.step("reading the change log") {
                guard let hash = statement.tokenHash(2) else { continue }
                let kindText = statement.string(4)
                guard let kind = SessionChange.Kind(rawValue: kindText) else {
                    throw SessionStoreError(.corruptDatabase, "change \(statement.int64(0)) has unknown kind \"\(kindText)\"")
                }
                changes.append(
                    SessionChange(
                        sequence: statement.int64(0),
                        sessionID: statement.optionalInt64(1),
                        tokenHash: hash,
                        userID: statement.optionalString(3),
                        kind: kind,
                        at: SessionInstant(millisecondsSince1970: statement.int64(5)),
                        origin: statement.optionalInt64(6),
                        messageID: statement.optionalInt64(7)
                    )
                )
            }
            return changes
        }
    }

    /// Deletes up to `limit` of the oldest change-log entries that are older than `cutoff` and that
    /// every replication cursor has passed.
    ///
    /// Entries go in sequence order, stopping at the first one written at or after `cutoff`, so
    /// each call costs a few index steps however long the log is.
    func trimChangeLog(before cutoff: SessionInstant, limit: Int) throws(SessionStoreError) {
        let oldestCursor = try with(.oldestCursor) { statement throws(SessionStoreError) in
            _ = try statement.step("reading replication cursors")
            return statement.optionalInt64(0)
        }
        let firstYoung = try with(.firstYoungChange) { statement throws(SessionStoreError) in
            statement.bind(cutoff.millisecondsSince1970, at: 1)
            return try statement.step("finding where the change log is young") ? statement.int64(0) : nil
        }
        var bound = firstYoung ?? .max
        if let oldestCursor { bound = min(bound, oldestCursor + 1) }
        try with(.trimChanges) { statement throws(SessionStoreError) in
            statement.bind(bound, at: 1)
            statement.bind(limit, at: 2)
            try statement.run("trimming the change log")
        }
    }

    /// How many entries the change log holds.
    func changeLogLength() throws(SessionStoreError) -> Int64 {
        try with(.changeLogLength) { statement throws(SessionStoreError) in
            _ = try statement.step("measuring the change log")
            return statement.int64(0)
        }
    }

    /// The highest sequence number the change log has ever handed out.
    func lastChangeSequence() throws(SessionStoreError) -> Int64 {
        try with(.lastChangeSequence) { statement throws(SessionStoreError) in
            _ = try statement.step("reading the change log position")
            return statement.int64(0)
        }
    }
}
