#if Postgres
import Foundation
import PostgresNIO
public import Sessions

extension PostgresSessionStore {
    /// Appends a message to a live session's log and drops the oldest beyond
    /// `SessionPolicy.maxMessagesPerSession`, in one transaction; an append is a use of
    /// the session, recorded as a load records one.
    public func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage {
        try policy.validate(message)
        let now = policy.now
        guard let row = try await readLive(token.hash, at: now) else {
            throw SessionStoreError(.notFound, "session \(token.hash.shortHex) does not exist or has expired; the message was not stored")
        }
        if policy.needsTouch(row.session, at: now) {
            // A lost race means another writer just stored the session; the append stands.
            _ = try await recordUse(row, row.session.used(at: now, by: nil))
        }
        let sealed = try policy.encryption.map { encryption throws(SessionStoreError) in ByteBuffer(bytes: try encryption.seal(Data(message.content.utf8))) }
        let content = sealed == nil ? message.content : nil
        let metadata = try SessionMetadataText.encode(message.metadata)
        let keep = Int64(policy.maxMessagesPerSession)
        // Two statements in one transaction: the insert locks the session's row, so appends to
        // one session take turns, and the trim (a statement of its own, with a fresh snapshot)
        // sees every message committed before it.
        try await schemaReady()
        let id: Int64? = try await PostgresErrors.mapping("appending a message to session \(token.hash.shortHex)") {
            try await client.withTransaction(logger: logger) { connection in
                var added: (id: Int64, session: Int64)?
                for try await (id, session) in try await connection.query(
                    """
                    WITH owner AS (
                        SELECT id FROM sessions WHERE token_hash = \(token.hash.bytea) AND expires_at > \(now.millisecondsSince1970) FOR UPDATE
                    )
                    INSERT INTO session_messages (session_id, role, content, sealed, metadata, created_at)
                    SELECT id, \(message.role.rawValue), \(content), \(sealed), \(metadata), \(now.millisecondsSince1970) FROM owner
                    RETURNING id, session_id
                    """,
                    logger: logger
                ).decode((Int64, Int64).self) {
                    added = (id, session)
                }
                guard let added else { return nil }
                try await connection.query(
                    """
                    DELETE FROM session_messages WHERE session_id = \(added.session) AND id IN (
                        SELECT id FROM session_messages WHERE session_id = \(added.session) ORDER BY id DESC OFFSET \(keep))
                    """,
                    logger: logger
                )
                return added.id
            }
        }
        guard let id else {
            throw SessionStoreError(.notFound, "session \(token.hash.shortHex) was deleted while a message was appended")
        }
        countWrite()
        return SessionMessage(id: id, role: message.role, content: message.content, createdAt: now, metadata: message.metadata)
    }

    public func messages(for token: SessionToken, last count: Int) async throws -> [SessionMessage]? {
        try SessionPolicy.validate(limit: count, name: "count")
        let now = policy.now
        guard let row = try await readLive(token.hash, at: now) else { return nil }
        return try await messages(ofSessionID: row.session.id, last: count, "reading the messages of session \(token.hash.shortHex)")
    }

    /// The newest `count` messages of the session with internal id `id`, oldest first. Sealed
    /// content is opened; a tool without the keys (``Configuration/keepsSealedData``) gets a
    /// placeholder naming the key.
    func messages(ofSessionID id: Int64, last count: Int, _ doing: String) async throws(SessionStoreError) -> [SessionMessage] {
        let encryption = policy.encryption
        let placeholder = encryption == nil && configuration.keepsSealedData
        let newestFirst = try await rows(
            """
            SELECT id, role, content, sealed, metadata::text, created_at FROM session_messages
            WHERE session_id = \(id) ORDER BY id DESC LIMIT \(Int64(count))
            """,
            doing
        ) { row throws -> SessionMessage in
            let (id, role, content, sealed, metadata, createdAt) = try row.decode((Int64, String, String?, Data?, String?, Int64).self)
            guard let role = SessionMessage.Role(rawValue: role) else {
                throw SessionStoreError(.corruptDatabase, "message \(id) has the role \"\(role.prefix(20))\"")
            }
            let text: String
            if let sealed, placeholder {
                text = "(sealed with key \"\(SessionEncryption.keyID(of: sealed) ?? "?")\")"
            } else if let sealed {
                guard let opened = String(validating: try SessionEncryption.open(sealed, using: encryption), as: UTF8.self) else {
                    throw SessionStoreError(.corruptDatabase, "message \(id) holds content that is not UTF-8 text")
                }
                text = opened
            } else {
                text = content ?? ""
            }
            return SessionMessage(
                id: id, role: role, content: text, createdAt: SessionInstant(millisecondsSince1970: createdAt),
                metadata: try SessionMetadataText.decode(metadata, id: id)
            )
        }
        return newestFirst.reversed()
    }
}
#endif
