import Foundation
public import Sessions
import Tracing

extension SQLiteSessionStore {
    public func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage {
        try await tracing.withSpan("sessions.append_message") { span in
            try checkOpen()
            try policy.validate(message)
            let metadata = try SessionRow.encodeMetadata(message.metadata)
            let (policy, origin, hash) = (self.policy, self.origin, token.hash)
            return try await writer.write(span: span) { connection throws(SessionStoreError) in
                let now = policy.now
                guard let row = try connection.session(for: token, liveAt: now, codec: .passThrough) else {
                    throw SessionStoreError(.notFound, "session \(hash.shortHex) does not exist or has expired; the message was not stored")
                }
                if policy.needsTouch(row, at: now) {
                    let touched = row.used(at: now, by: nil)
                    try connection.updateLastSeen(touched)
                    try connection.logChange(.touched, sessionID: row.id, tokenHash: hash, userID: row.userID, at: now, origin: origin)
                }
                let insert = try connection.cachedStatement(
                    "INSERT INTO session_messages (session_id, role, content, metadata, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
                )
                insert.bind(row.id, at: 1)
                insert.bind(message.role.rawValue, at: 2)
                if connection.codec.encryption != nil {
                    insert.bind(try connection.codec.seal(Data(message.content.utf8)), at: 3)
                } else {
                    insert.bind(message.content, at: 3)
                }
                insert.bind(metadata, at: 4)
                insert.bind(now.millisecondsSince1970, at: 5)
                try insert.run("appending a message")
                let id = connection.lastInsertRowID
                // Keep the newest N: drop everything up to the (N+1)-th newest.
                let trim = try connection.cachedStatement("""
                    DELETE FROM session_messages WHERE session_id = ?1 AND id <= \
                    (SELECT id FROM session_messages WHERE session_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)
                    """)
                trim.bind(row.id, at: 1)
                trim.bind(policy.maxMessagesPerSession, at: 2)
                try trim.run("trimming a message log")
                return SessionMessage(id: id, role: message.role, content: message.content, createdAt: now, metadata: message.metadata)
            }
        }
    }

    public func messages(for token: SessionToken, last count: Int) async throws -> [SessionMessage]? {
        try checkOpen()
        try SessionPolicy.validate(limit: count, name: "count")
        let now = policy.now
        return try await read { connection throws(SessionStoreError) -> [SessionMessage]? in
            guard let row = try connection.session(for: token, liveAt: now, codec: .passThrough) else { return nil }
            return try Self.messages(ofSession: row.id, last: count, connection)
        }
    }

    /// The newest `count` messages of the session with this id, live or expired, oldest first;
    /// for tools (`sessionctl show`).
    public func messages(ofSession id: Int64, last count: Int) async throws -> [SessionMessage] {
        try checkOpen()
        try SessionPolicy.validate(limit: count, name: "count")
        return try await read { connection throws(SessionStoreError) in
            try Self.messages(ofSession: id, last: count, connection)
        }
    }

    private static func messages(ofSession id: Int64, last count: Int, _ connection: SQLiteConnection) throws(SessionStoreError) -> [SessionMessage] {
        let statement = try connection.cachedStatement(
            "SELECT id, role, content, metadata, created_at FROM session_messages WHERE session_id = ?1 ORDER BY id DESC LIMIT ?2"
        )
        defer { statement.reset() }
        statement.bind(id, at: 1)
        statement.bind(count, at: 2)
        var messages: [SessionMessage] = []
        while try statement.step("reading a message log") {
            guard let role = SessionMessage.Role(rawValue: statement.string(1)) else {
                throw SessionStoreError(.corruptDatabase, "message \(statement.int64(0)) has unknown role \"\(statement.string(1))\"")
            }
            messages.append(SessionMessage(
                id: statement.int64(0),
                role: role,
                content: try content(statement, codec: connection.codec),
                createdAt: SessionInstant(millisecondsSince1970: statement.int64(4)),
                metadata: try SessionRow.decodeMetadata(statement.optionalString(3), id: statement.int64(0))
            ))
        }
        return messages.reversed()
    }

    /// A message's content: text as it is, or a sealed blob opened. A tool without the keys
    /// (``Configuration/keepsSealedData``) gets a placeholder naming the key.
    private static func content(_ statement: SQLiteStatement, codec: StoredDataCodec) throws(SessionStoreError) -> String {
        guard statement.isBlob(2) else { return statement.string(2) }
        let stored = statement.data(2)
        if codec.encryption == nil && codec.keepsSealedData {
            return "(sealed with key \"\(SessionEncryption.keyID(of: stored) ?? "?")\")"
        }
        let opened = try codec.open(stored)
        guard let text = String(validating: opened, as: UTF8.self) else {
            throw SessionStoreError(.corruptDatabase, "message \(statement.int64(0)) holds content that is not UTF-8 text")
        }
        return text
    }
}
