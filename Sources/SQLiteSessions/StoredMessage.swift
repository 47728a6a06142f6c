package import Foundation
package import Sessions

/// A message as `session_messages` holds it: the content as text, or sealed when encryption at
/// rest is on. Copies between hosts carry this form, so no host needs another's keys to relay
/// them and no copy holds what the file does not.
package struct StoredMessage: Sendable, Hashable {
    /// The content as stored.
    package enum Content: Sendable, Hashable {
        case text(String)
        case sealed(Data)
    }

    /// A ``HybridClock`` reading (or, for messages from before schema 4, a small number).
    package var id: Int64
    package var role: SessionMessage.Role
    package var content: Content
    package var metadata: [String: String]
    package var createdAt: SessionInstant

    package init(id: Int64, role: SessionMessage.Role, content: Content, metadata: [String: String], createdAt: SessionInstant) {
        self.id = id
        self.role = role
        self.content = content
        self.metadata = metadata
        self.createdAt = createdAt
    }
}

extension SQLiteConnection {
    /// Inserts a message into the log of session `id` and drops the oldest beyond `keeping`.
    ///
    /// - Returns: False when a message with this id was already there (a copy applied twice).
    func insertMessage(_ message: StoredMessage, session id: Int64, keeping: Int) throws(SessionStoreError) -> Bool {
        let insert = try cachedStatement(
            "INSERT OR IGNORE INTO session_messages (id, session_id, role, content, metadata, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        )
        defer { insert.reset() }
        insert.bind(message.id, at: 1)
        insert.bind(id, at: 2)
        insert.bind(message.role.rawValue, at: 3)
        switch message.content {
        case .text(let text): insert.bind(text, at: 4)
        case .sealed(let data): insert.bind(data, at: 4)
        }
        insert.bind(try SessionMetadataText.encode(message.metadata), at: 5)
        insert.bind(message.createdAt.millisecondsSince1970, at: 6)
        try insert.run("appending a message")
        guard changes > 0 else { return false }
        // Keep the newest N: drop everything up to the (N+1)-th newest.
        let trim = try cachedStatement("""
            DELETE FROM session_messages WHERE session_id = ?1 AND id <= \
            (SELECT id FROM session_messages WHERE session_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)
            """)
        defer { trim.reset() }
        trim.bind(id, at: 1)
        trim.bind(keeping, at: 2)
        try trim.run("trimming a message log")
        return true
    }

    /// The message with this id in its stored form, with the id and the current token hash of
    /// its session.
    func storedMessage(id: Int64) throws(SessionStoreError) -> (sessionID: Int64, tokenHash: TokenHash, message: StoredMessage)? {
        let statement = try cachedStatement("""
            SELECT m.session_id, m.role, m.content, m.metadata, m.created_at, s.token_hash \
            FROM session_messages AS m JOIN sessions AS s ON s.id = m.session_id WHERE m.id = ?1
            """)
        defer { statement.reset() }
        statement.bind(id, at: 1)
        guard try statement.step("reading a message"), let hash = statement.tokenHash(5) else { return nil }
        guard let role = SessionMessage.Role(rawValue: statement.string(1)) else {
            throw SessionStoreError(.corruptDatabase, "message \(id) has unknown role \"\(statement.string(1))\"")
        }
        let content: StoredMessage.Content = statement.isBlob(2) ? .sealed(statement.data(2)) : .text(statement.string(2))
        let message = StoredMessage(
            id: id,
            role: role,
            content: content,
            metadata: try SessionMetadataText.decode(statement.optionalString(3), id: id),
            createdAt: SessionInstant(millisecondsSince1970: statement.int64(4))
        )
        return (statement.int64(0), hash, message)
    }

    /// The newest `count` messages of session `id` in their stored form, oldest first.
    func storedMessages(ofSession id: Int64, last count: Int) throws(SessionStoreError) -> [StoredMessage] {
        let statement = try cachedStatement(
            "SELECT id, role, content, metadata, created_at FROM session_messages WHERE session_id = ?1 ORDER BY id DESC LIMIT ?2"
        )
        defer { statement.reset() }
        statement.bind(id, at: 1)
        statement.bind(count, at: 2)
        var messages: [StoredMessage] = []
        while try statement.step("reading a message log") {
            let messageID = statement.int64(0)
            guard let role = SessionMessage.Role(rawValue: statement.string(1)) else {
                throw SessionStoreError(.corruptDatabase, "message \(messageID) has unknown role \"\(statement.string(1))\"")
            }
            messages.append(StoredMessage(
                id: messageID,
                role: role,
                content: statement.isBlob(2) ? .sealed(statement.data(2)) : .text(statement.string(2)),
                metadata: try SessionMetadataText.decode(statement.optionalString(3), id: messageID),
                createdAt: SessionInstant(millisecondsSince1970: statement.int64(4))
            ))
        }
        return messages.reversed()
    }
}
