import Foundation
import Sessions
import SQLiteSessions

extension SessionRecord {
    /// The record of a shared session, as hosts write it to Redis and to the change stream.
    init(_ shared: SharedSession, source: String) {
        self.init(shared.session, source: source)
        clock = Self.clockText(shared.clock)
        baseClock = Self.clockText(shared.baseClock)
    }

    /// The shared session this record describes, its data as stored.
    ///
    /// - Throws: `SessionStoreError.Code.corruptDatabase` for a record that does not
    ///   describe a session.
    func shared() throws(SessionStoreError) -> SharedSession {
        SharedSession(session: try session(), clock: clock.flatMap { Int64($0) } ?? 0, baseClock: baseClock.flatMap { Int64($0) } ?? 0)
    }

    /// Parses a record's text into a shared session.
    static func shared(_ text: String) throws(SessionStoreError) -> SharedSession {
        try decode(text).shared()
    }
}

extension RedisStoredMessage {
    /// A message as the file stores it, for a session's log in Redis; sealed content stays sealed.
    init(_ stored: StoredMessage) {
        id = stored.id
        role = stored.role
        createdAt = stored.createdAt.millisecondsSince1970
        metadata = stored.metadata
        switch stored.content {
        case .text(let text): content = text
        case .sealed(let data): sealedContent = data
        }
    }

    /// The message in the form the file stores.
    func stored() throws(SessionStoreError) -> StoredMessage {
        let stored: StoredMessage.Content
        if let sealedContent {
            stored = .sealed(sealedContent)
        } else if let content {
            stored = .text(content)
        } else {
            throw SessionStoreError(.corruptDatabase, "message \(id) in Redis has no content")
        }
        return StoredMessage(id: id, role: role, content: stored, metadata: metadata, createdAt: SessionInstant(millisecondsSince1970: createdAt))
    }
}
