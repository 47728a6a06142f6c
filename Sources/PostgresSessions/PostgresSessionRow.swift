#if Postgres
import Foundation
import PostgresNIO
import Sessions

/// A `sessions` row as read: the session, and the revision a write compares against.
struct PostgresSessionRow: Sendable {
    /// The columns every read selects, in the order ``init(_:encryption:opening:)`` decodes.
    static let columns = """
        id, token_hash, user_id, data, metadata::text, created_at, updated_at, last_seen_at, idle_timeout_ms, \
        absolute_expires_at, version, ip, user_agent, last_seen_ip, last_seen_user_agent, revision
        """

    let session: Session
    let revision: Int64

    /// - Parameter opening: Open sealed data; false leaves it as stored, for callers that only
    ///   need times and users.
    init(_ row: PostgresRow, encryption: SessionEncryption?, opening: Bool = true) throws(SessionStoreError) {
        let columns: (Int64, Data, String?, Data, String?, Int64, Int64, Int64, Int64?, Int64?, Int64, String?, String?, String?, String?, Int64)
        do {
            columns = try row.decode(
                (Int64, Data, String?, Data, String?, Int64, Int64, Int64, Int64?, Int64?, Int64, String?, String?, String?, String?, Int64).self
            )
        } catch {
            throw SessionStoreError(.corruptDatabase, "a sessions row does not have the expected columns: \(error)")
        }
        let (id, hashBytes, userID, stored, metadata, createdAt, updatedAt, lastSeenAt, idle, absolute, version, ip, userAgent, lastSeenIP, lastSeenUserAgent, revision) = columns
        guard let hash = TokenHash(bytes: Array(hashBytes)) else {
            throw SessionStoreError(.corruptDatabase, "session row \(id) has a token_hash that is not 32 bytes")
        }
        session = Session(
            id: id,
            tokenHash: hash,
            userID: userID,
            data: opening ? try SessionEncryption.open(stored, using: encryption) : stored,
            metadata: try SessionMetadataText.decode(metadata, id: id),
            createdAt: SessionInstant(millisecondsSince1970: createdAt),
            updatedAt: SessionInstant(millisecondsSince1970: updatedAt),
            lastSeenAt: SessionInstant(millisecondsSince1970: lastSeenAt),
            deadlines: SessionDeadlines(
                idleTimeout: idle.map { .milliseconds($0) },
                absoluteExpiresAt: absolute.map { SessionInstant(millisecondsSince1970: $0) }
            ),
            version: version,
            ip: ip,
            userAgent: userAgent,
            lastSeenIP: lastSeenIP,
            lastSeenUserAgent: lastSeenUserAgent
        )
        self.revision = revision
    }
}

/// A session's data and metadata as they are written: the data sealed when encryption at rest
/// is on, the metadata as the text of a JSON object (NULL when empty): `metadata::jsonb ->> 'device'` in psql.
struct PostgresStoredSession {
    let data: ByteBuffer
    let metadata: String?

    init(_ session: Session, encryption: SessionEncryption?) throws(SessionStoreError) {
        try Self.checkText(session)
        let sealed = SessionEncryption.isSealed(session.data) ? session.data : try SessionEncryption.seal(session.data, using: encryption)
        data = ByteBuffer(bytes: sealed)
        metadata = try SessionMetadataText.encode(session.metadata)
    }

    /// PostgreSQL `text` cannot hold a NUL character, which the other stores keep: refused
    /// before anything is written, with the field named.
    static func checkText(_ session: Session) throws(SessionStoreError) {
        let fields: [(String, String?)] = [
            ("user ID", session.userID), ("ip", session.ip), ("user agent", session.userAgent),
            ("last seen ip", session.lastSeenIP), ("last seen user agent", session.lastSeenUserAgent),
        ]
        for (name, value) in fields where value?.utf8.contains(0) == true {
            throw SessionStoreError(.invalidArgument, "the session's \(name) contains a NUL character, which PostgreSQL text cannot store")
        }
    }
}
#endif
