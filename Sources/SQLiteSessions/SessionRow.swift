import Foundation
import Sessions

/// Moves ``Session`` values in and out of `sessions` rows.
enum SessionRow {
    /// Reads the row the statement is on if its token hash is `hash`; nil for another session's
    /// row, whose data is then not even opened.
    static func read(_ statement: SQLiteStatement, codec: StoredDataCodec, expecting hash: TokenHash) throws(SessionStoreError) -> Session? {
        guard statement.tokenHash(1) == hash else { return nil }
        return try read(statement, codec: codec)
    }

    /// Reads the row the statement is on; its columns are ``SessionSQL/sessionColumns``.
    static func read(_ statement: SQLiteStatement, codec: StoredDataCodec) throws(SessionStoreError) -> Session {
        guard let hash = statement.tokenHash(1) else {
            throw SessionStoreError(.corruptDatabase, "session row \(statement.int64(0)) has a token_hash that is not 32 bytes")
        }
        return Session(
            id: statement.int64(0),
            tokenHash: hash,
            userID: statement.optionalString(2),
            data: try codec.open(statement.data(3)),
            metadata: try SessionMetadataText.decode(statement.optionalString(4), id: statement.int64(0)),
            createdAt: SessionInstant(millisecondsSince1970: statement.int64(5)),
            updatedAt: SessionInstant(millisecondsSince1970: statement.int64(6)),
            lastSeenAt: SessionInstant(millisecondsSince1970: statement.int64(7)),
            deadlines: SessionDeadlines(
                idleTimeout: statement.optionalInt64(8).map { .milliseconds($0) },
                absoluteExpiresAt: statement.optionalInt64(9).map { SessionInstant(millisecondsSince1970: $0) }
            ),
            version: statement.int64(10),
            ip: statement.optionalString(11),
            userAgent: statement.optionalString(12),
            lastSeenIP: statement.optionalString(13),
            lastSeenUserAgent: statement.optionalString(14)
        )
    }

    /// Reads every row a query returns.
    static func readAll(_ statement: SQLiteStatement, codec: StoredDataCodec, context: String) throws(SessionStoreError) -> [Session] {
        var sessions: [Session] = []
        while try statement.step(context) {
            sessions.append(try read(statement, codec: codec))
        }
        return sessions
    }

    /// The parameters of a whole session row, numbered the same in every statement that writes
    /// one (``SessionSQL/insertSessionWithID``, ``SessionSQL/updateSession``, the import's replace):
    ///
    /// | ?1 token_hash | ?2 user_id | ?3 data | ?4 metadata | ?5 created_at | ?6 updated_at |
    /// | ?7 last_seen_at | ?8 idle_timeout_ms | ?9 absolute_expires_at | ?10 expires_at | ?11 version | ?12 ip |
    /// | ?13 user_agent | ?14 last_seen_ip | ?15 last_seen_user_agent | ?16 id | ?17 clock | ?18 base_clock |
    ///
    /// - Parameters:
    ///   - clock: The ``HybridClock`` reading of the write that made these contents.
    ///   - baseClock: The reading of the contents they were made from; nil leaves the statement's
    ///     own default (0 for a new row, the row's clock for a replacement).
    ///   - creation: Whether to bind what only a new or replaced row writes (created_at, ip,
    ///     user_agent, base_clock); a save leaves them, and their bindings, alone.
    static func bind(_ row: StoredSessionRow, clock: Int64, baseClock: Int64? = nil, creation: Bool, to statement: SQLiteStatement) {
        let session = row.session
        statement.bind(session.tokenHash, at: 1)
        statement.bind(session.userID, at: 2)
        statement.bind(row.storedData, at: 3)
        statement.bind(row.metadataText, at: 4)
        statement.bind(session.updatedAt.millisecondsSince1970, at: 6)
        statement.bind(session.lastSeenAt.millisecondsSince1970, at: 7)
        statement.bind(session.deadlines.idleTimeoutMilliseconds, at: 8)
        statement.bind(session.deadlines.absoluteExpiresAt?.millisecondsSince1970, at: 9)
        statement.bind(session.expiresAt.millisecondsSince1970, at: 10)
        statement.bind(session.version, at: 11)
        statement.bind(session.lastSeenIP, at: 14)
        statement.bind(session.lastSeenUserAgent, at: 15)
        statement.bind(session.id, at: 16)
        statement.bind(clock, at: 17)
        guard creation else { return }
        statement.bind(session.createdAt.millisecondsSince1970, at: 5)
        statement.bind(session.ip, at: 12)
        statement.bind(session.userAgent, at: 13)
        statement.bind(baseClock, at: 18)
    }
}

/// A session as it goes into a row: its data already sealed and its metadata already JSON, so
/// the writer thread only binds and steps. Built by the caller, before the write is enqueued.
struct StoredSessionRow: Sendable {
    let session: Session
    /// `Session.data` as stored: sealed when encryption is on.
    let storedData: Data
    /// `Session.metadata` as stored: a JSON object, or nil when empty.
    let metadataText: String?

    init(_ session: Session, codec: StoredDataCodec) throws(SessionStoreError) {
        self.session = session
        self.storedData = try codec.seal(session.data)
        self.metadataText = try SessionMetadataText.encode(session.metadata)
    }

    /// A session whose data is already in its stored form (sealed when the file's is): a copy
    /// from another host or from Redis, which is stored exactly as it came.
    init(asStored session: Session) throws(SessionStoreError) {
        self.session = session
        self.storedData = session.data
        self.metadataText = try SessionMetadataText.encode(session.metadata)
    }

    /// The same stored data and metadata with the other fields of `session` (the row as a save
    /// or rotation leaves it; its data and metadata are the ones this row was built from).
    func replacingSession(with session: Session) -> StoredSessionRow {
        StoredSessionRow(session: session, storedData: storedData, metadataText: metadataText)
    }

    /// The same stored contents under another id and token hash (a re-minted selector).
    func with(id: Int64, tokenHash: TokenHash) -> StoredSessionRow {
        StoredSessionRow(session: session.reidentified(id: id, tokenHash: tokenHash), storedData: storedData, metadataText: metadataText)
    }

    private init(session: Session, storedData: Data, metadataText: String?) {
        self.session = session
        self.storedData = storedData
        self.metadataText = metadataText
    }
}

extension Session {
    /// This session under another id and token hash.
    func reidentified(id: Int64, tokenHash: TokenHash) -> Session {
        Session(
            id: id,
            tokenHash: tokenHash,
            userID: userID,
            data: data,
            metadata: metadata,
            createdAt: createdAt,
            updatedAt: updatedAt,
            lastSeenAt: lastSeenAt,
            deadlines: deadlines,
            version: version,
            ip: ip,
            userAgent: userAgent,
            lastSeenIP: lastSeenIP,
            lastSeenUserAgent: lastSeenUserAgent
        )
    }
}
