import Foundation
public import Sessions

/// What one ``SQLiteSessionStore/reencrypt(batchSize:after:decrypting:)`` batch did.
public struct ReencryptionBatch: Sendable, Hashable {
    /// Session rows whose data was rewritten with the current key (or opened, without encryption).
    public var sessionsRewritten: Int
    /// Session rows already in the target form.
    public var sessionsCurrent: Int
    /// Messages whose content was rewritten.
    public var messagesRewritten: Int
    /// The last session id looked at; pass it to the next call. Nil when the whole table was done.
    public var next: Int64?
}

extension SQLiteSessionStore {
    /// Rewrites one batch of sessions, and their messages, into the store's current form: sealed
    /// with `SessionEncryption.currentKeyID` when the policy has encryption, plain
    /// when it has none (to turn encryption off, pass the old keys as `decrypting` to a store
    /// whose policy has no encryption).
    ///
    /// Each batch is one short write transaction, so a service using the file waits at most
    /// one batch. Only the stored bytes change: versions, times and the change log stay as they
    /// are, because the sessions themselves do not change (caches hold opened data, so nothing
    /// needs invalidating). Redis copies made by a replicator are rewritten on their session's
    /// next change or the replicator's next resync.
    ///
    /// - Parameters:
    ///   - batchSize: Sessions per transaction.
    ///   - after: Continue after this session id (the previous batch's ``ReencryptionBatch/next``).
    ///   - decrypting: The keys to open existing data with; nil uses the policy's. Needed to
    ///     turn encryption off: open with the old keys, store plain.
    /// - Throws: `SessionStoreError.Code.decryptionFailed` when data is sealed with a
    ///   key the store does not have; nothing of that batch is written.
    public func reencrypt(batchSize: Int = 500, after: Int64 = 0, decrypting: SessionEncryption? = nil) async throws -> ReencryptionBatch {
        try checkOpen()
        try SessionPolicy.validate(limit: batchSize, name: "batchSize")
        let target = policy.encryption
        let opener = decrypting ?? target
        return try await writer.write { connection throws(SessionStoreError) in
            var batch = ReencryptionBatch(sessionsRewritten: 0, sessionsCurrent: 0, messagesRewritten: 0, next: nil)
            let select = try connection.cachedStatement("SELECT id, data FROM sessions WHERE id > ?1 ORDER BY id LIMIT ?2")
            defer { select.reset() }
            select.bind(after, at: 1)
            select.bind(batchSize, at: 2)
            var rows: [(id: Int64, data: Data)] = []
            while try select.step("reading sessions to re-encrypt") {
                rows.append((select.int64(0), select.data(1)))
            }
            select.reset()
            let update = try connection.cachedStatement("UPDATE sessions SET data = ?2 WHERE id = ?1")
            for row in rows {
                // Messages are looked at even when the data is current: a save rewrites the
                // data with the current key but leaves older messages as they were.
                batch.messagesRewritten += try Self.reencryptMessages(ofSession: row.id, connection, opener: opener, target: target)
                guard let rewritten = try Self.rewrite(row.data, opener: opener, target: target) else {
                    batch.sessionsCurrent += 1
                    continue
                }
                update.bind(row.id, at: 1)
                update.bind(rewritten, at: 2)
                try update.run("re-encrypting session \(row.id)")
                batch.sessionsRewritten += 1
            }
            batch.next = rows.count == batchSize ? rows.last?.id : nil
            return batch
        }
    }

    /// Rewrites the messages of one session; returns how many changed.
    private static func reencryptMessages(
        ofSession id: Int64,
        _ connection: SQLiteConnection,
        opener: SessionEncryption?,
        target: SessionEncryption?
    ) throws(SessionStoreError) -> Int {
        let select = try connection.cachedStatement("SELECT id, content FROM session_messages WHERE session_id = ?1")
        defer { select.reset() }
        select.bind(id, at: 1)
        var messages: [(id: Int64, content: Data)] = []
        while try select.step("reading messages to re-encrypt") {
            messages.append((select.int64(0), select.isBlob(1) ? select.data(1) : Data(select.string(1).utf8)))
        }
        select.reset()
        let update = try connection.cachedStatement("UPDATE session_messages SET content = ?2 WHERE id = ?1")
        var rewritten = 0
        for message in messages {
            guard let content = try rewrite(message.content, opener: opener, target: target) else { continue }
            update.bind(message.id, at: 1)
            if target == nil {
                // Plain content is stored as text, as when encryption was never on.
                update.bind(String(decoding: content, as: UTF8.self), at: 2)
            } else {
                update.bind(content, at: 2)
            }
            try update.run("re-encrypting message \(message.id)")
            rewritten += 1
        }
        return rewritten
    }

    /// `stored` in the target form, or nil when it already is.
    private static func rewrite(_ stored: Data, opener: SessionEncryption?, target: SessionEncryption?) throws(SessionStoreError) -> Data? {
        let keyID = SessionEncryption.keyID(of: stored)
        if let target {
            if keyID == target.currentKeyID { return nil }
        } else if !SessionEncryption.isSealed(stored) {
            return nil
        }
        let plain = try SessionEncryption.open(stored, using: opener)
        return try SessionEncryption.seal(plain, using: target)
    }
}

extension SQLiteSessionStore {
    /// How many sessions' data is sealed with each key id; plain data is counted under nil.
    /// Drop an old key once it counts nothing here (after `sessionctl reencrypt`).
    public func dataKeyUsage() async throws -> [String?: Int] {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            // The header holds at most 4 + 1 + 64 bytes; no need to read whole values.
            let statement = try connection.cachedStatement("SELECT substr(data, 1, 69) FROM sessions")
            defer { statement.reset() }
            var usage: [String?: Int] = [:]
            while try statement.step("counting encryption keys in use") {
                usage[SessionEncryption.keyID(of: statement.data(0)), default: 0] += 1
            }
            return usage
        }
    }
}

extension SQLiteSessionStore {
    /// What `encryption` makes of the stored data: how many session values and messages are
    /// sealed and open with it, are plain, or fail to open (sealed with a key it does not hold,
    /// or damaged). Reads every value once, for `sessionctl verify --keys`.
    public func sealedDataCheck(using encryption: SessionEncryption) async throws -> SealedDataCheck {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            var check = SealedDataCheck()
            for (sql, isSession) in [("SELECT data FROM sessions", true), ("SELECT CAST(content AS BLOB) FROM session_messages", false)] {
                let statement = try connection.prepare(sql)
                while try statement.step("checking sealed data") {
                    if isSession {
                        check.sessions.add(statement.data(0), opening: encryption)
                    } else {
                        check.messages.add(statement.data(0), opening: encryption)
                    }
                }
            }
            return check
        }
    }
}
