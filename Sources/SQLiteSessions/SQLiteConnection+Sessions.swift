import Foundation
import Sessions

/// The session-level statements, shared by the writer and the readers.
extension SQLiteConnection {
    /// The live session with this token hash, or nil.
    func liveSession(_ hash: TokenHash, at now: SessionInstant) throws(SessionStoreError) -> Session? {
        try with(.selectLiveByHash) { statement throws(SessionStoreError) in
            statement.bind(hash, at: 1)
            statement.bind(now.millisecondsSince1970, at: 2)
            return try statement.step("loading a session") ? try SessionRow.read(statement, codec: codec) : nil
        }
    }

    /// The session with this token hash, expired or not, or nil.
    ///
    /// - Parameter codec: How to read the data; the connection's own by default.
    ///   ``StoredDataCodec/passThrough`` when only the row matters, so a session whose data
    ///   cannot be opened can still be deleted or copied.
    func anySession(_ hash: TokenHash, codec: StoredDataCodec? = nil) throws(SessionStoreError) -> Session? {
        try with(.selectByHash) { statement throws(SessionStoreError) in
            statement.bind(hash, at: 1)
            return try statement.step("loading a session") ? try SessionRow.read(statement, codec: codec ?? self.codec) : nil
        }
    }

    /// The live session with this id, or nil.
    func liveSession(id: Int64, at now: SessionInstant) throws(SessionStoreError) -> Session? {
        try with(.selectLiveByID) { statement throws(SessionStoreError) in
            statement.bind(id, at: 1)
            statement.bind(now.millisecondsSince1970, at: 2)
            return try statement.step("loading a session") ? try SessionRow.read(statement, codec: codec) : nil
        }
    }

    /// Inserts a new session and returns its rowid.
    func insert(_ session: Session) throws(SessionStoreError) -> Int64 {
        try with(.insertSession) { statement throws(SessionStoreError) in
            try SessionRow.bindInsert(session, to: statement, codec: codec)
            try statement.run("creating a session")
            return lastInsertRowID
        }
    }

    /// Writes every field of an existing session.
    func update(_ session: Session) throws(SessionStoreError) {
        try with(.updateSession) { statement throws(SessionStoreError) in
            try SessionRow.bindUpdate(session, to: statement, codec: codec)
            try statement.run("updating a session")
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
        origin: Int64
    ) throws(SessionStoreError) {
        try with(.insertChange) { statement throws(SessionStoreError) in
            statement.bind(sessionID, at: 1)
            statement.bind(tokenHash, at: 2)
            statement.bind(userID, at: 3)
            statement.bind(kind.rawValue, at: 4)
            statement.bind(now.millisecondsSince1970, at: 5)
            statement.bind(origin, at: 6)
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
                        origin: statement.optionalInt64(6)
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

    /// The highest sequence number the change log has ever handed out.
    func lastChangeSequence() throws(SessionStoreError) -> Int64 {
        try with(.lastChangeSequence) { statement throws(SessionStoreError) in
            _ = try statement.step("reading the change log position")
            return statement.int64(0)
        }
    }
}
