import Foundation
public import Sessions
import Tracing

extension SQLiteSessionStore {
    public func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage {
        try await tracing.withSpan("sessions.append_message") { span in
            try checkOpen()
            try policy.validate(message)
            let (policy, origin, hash, clock) = (self.policy, self.origin, token.hash, self.clock)
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
                // A clock reading: unique across hosts, so copies of the log on other hosts merge in order.
                let id = clock.next(at: now)
                let content: StoredMessage.Content = connection.codec.encryption != nil
                    ? .sealed(try connection.codec.seal(Data(message.content.utf8)))
                    : .text(message.content)
                let stored = StoredMessage(id: id, role: message.role, content: content, metadata: message.metadata, createdAt: now)
                _ = try connection.insertMessage(stored, session: row.id, keeping: policy.maxMessagesPerSession)
                try connection.logChange(.appended, sessionID: row.id, tokenHash: hash, userID: row.userID, at: now, origin: origin, messageID: id)
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

    /// The stored form of the messages with these ids (content sealed when the file's is), with
    /// their sessions' ids and current token hashes, for copying them to another host; ids that
    /// are gone are left out.
    package func storedMessages(_ ids: [Int64]) async throws -> [Int64: (sessionID: Int64, tokenHash: TokenHash, message: StoredMessage)] {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            var found: [Int64: (sessionID: Int64, tokenHash: TokenHash, message: StoredMessage)] = [:]
            for id in ids {
                if let stored = try connection.storedMessage(id: id) { found[id] = stored }
            }
            return found
        }
    }

    /// The stored form of the newest `count` messages of each of these sessions, by session id.
    package func storedMessages(ofSessions ids: [Int64], last count: Int) async throws -> [Int64: [StoredMessage]] {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            var found: [Int64: [StoredMessage]] = [:]
            for id in ids {
                let messages = try connection.storedMessages(ofSession: id, last: count)
                if !messages.isEmpty { found[id] = messages }
            }
            return found
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
                metadata: try SessionMetadataText.decode(statement.optionalString(3), id: statement.int64(0))
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
