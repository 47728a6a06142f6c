public import Foundation

/// A place to keep sessions: what serving requests needs (create, load, save, touch, rotate,
/// delete, and a user's sessions). Every store in this package conforms, so an application picks
/// one by changing the line that creates it:
///
/// ```swift
/// let store: any SessionStore = InMemorySessionStore()                        // development
/// let store: any SessionStore = try SQLiteSessionStore(path: "sessions.sqlite") // one host, durable
/// ```
///
/// Semantics every conformer keeps (the shared behaviour suite checks them):
/// - A session is alive strictly before ``Session/expiresAt``. Expired sessions count as gone for
///   every operation even before ``SessionStoreAdministration/purgeExpired(limit:)`` removes them.
/// - Missing and expired are not errors: ``load(_:client:)`` returns nil and ``delete(_:)-(SessionToken)`` returns false.
/// - ``save(_:expectedVersion:)`` only updates: it never brings back a session that was deleted,
///   rotated away or expired in the meantime.
/// - Tokens are checked before any I/O; only their SHA-256 reaches storage.
///
/// Operators' operations (listing, counting, statistics, purging, health) are
/// ``SessionStoreAdministration``, and a session's message log is ``SessionMessageLog``; every
/// store in this package offers both. A store in front of another (a cache, a counter in a test)
/// implements only this protocol's short list, and more only where it changes something.
public protocol SessionStore: Sendable {
    /// The rules the store applies: default expiry, touch interval, limits, clock.
    var policy: SessionPolicy { get }

    /// Mints a token and stores a new session.
    ///
    /// - Parameter draft: Owner, data, metadata, optional expiry override and client details.
    /// - Returns: The token to give the client and the stored session.
    /// - Throws: ``SessionStoreError`` with ``SessionStoreError/Code/payloadTooLarge`` or
    ///   ``SessionStoreError/Code/invalidArgument`` for bad input, or a storage code.
    func create(_ draft: SessionDraft) async throws -> IssuedSession

    /// Returns the session for `token`, or nil when it is missing or expired.
    ///
    /// A use of a sliding session moves its deadline: the new `last_seen_at` is persisted when the
    /// stored one is older than the policy's touch interval, so most reads write nothing.
    ///
    /// - Parameters:
    ///   - token: The client's token.
    ///   - client: The requesting client, recorded as last-seen address and agent when the use is persisted.
    func load(_ token: SessionToken, client: SessionClient?) async throws -> Session?

    /// Stores a changed session's ``Session/userID``, ``Session/data`` and ``Session/metadata``.
    ///
    /// The session is found by its ``Session/tokenHash``. A save counts as a use (it moves a sliding deadline).
    ///
    /// - Parameters:
    ///   - session: The session with its new contents.
    ///   - expectedVersion: When given, the save succeeds only if the stored version still equals it.
    /// - Returns: The stored session with its new version.
    /// - Throws: ``SessionStoreError/Code/notFound`` when the session was deleted, rotated away or
    ///   has expired (it is never recreated); ``SessionStoreError/Code/conflict`` when the version differs.
    func save(_ session: Session, expectedVersion: Int64?) async throws -> Session

    /// Saves several sessions in one operation (one transaction where the store has them).
    ///
    /// - Returns: For each input, the stored session, or nil when it no longer exists.
    func save(_ sessions: [Session]) async throws -> [Session?]

    /// Marks a session as used now and persists that, optionally replacing its expiry.
    ///
    /// - Parameters:
    ///   - token: The client's token.
    ///   - expiration: A new policy applied from now, or nil to keep the session's limits.
    ///   - client: The requesting client, recorded as last-seen address and agent.
    /// - Returns: The updated session, or nil when it is missing or expired.
    func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client: SessionClient?) async throws -> Session?

    /// Time left before the session expires, or nil when it is missing or expired.
    func timeToLive(_ token: SessionToken) async throws -> Duration?

    /// Whether a live session exists for `token`. Does not count as a use.
    func exists(_ token: SessionToken) async throws -> Bool

    /// Deletes a session.
    ///
    /// - Returns: Whether it existed (an expired, unpurged session counts as not existing).
    func delete(_ token: SessionToken) async throws -> Bool

    /// Deletes several sessions in one operation.
    ///
    /// - Returns: How many existed.
    func delete(_ tokens: [SessionToken]) async throws -> Int

    /// Gives a session a new token in one atomic step, optionally storing changes with it; the old
    /// token stops working at once.
    ///
    /// Creation time and message log are kept, and so are data, user and metadata unless `changes`
    /// replaces them; the version increases. Rotate on login and on any privilege change (OWASP
    /// Session Management Cheat Sheet): passing the session with its new ``Session/userID`` as
    /// `changes` logs in with one write.
    ///
    /// - Parameters:
    ///   - token: The client's current token.
    ///   - changes: A session whose ``Session/userID``, ``Session/data`` and ``Session/metadata``
    ///     are stored with the new token; nil keeps the stored ones.
    ///   - expectedVersion: When given, the rotation happens only if the stored version still equals it.
    /// - Returns: The new token and session, or nil when the old token is missing or expired.
    /// - Throws: ``SessionStoreError/Code/conflict`` when `expectedVersion` differs;
    ///   ``SessionStoreError/Code/payloadTooLarge`` or ``SessionStoreError/Code/invalidArgument``
    ///   for changes a save would refuse.
    func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession?

    /// A user's live sessions, oldest first.
    ///
    /// - Complexity: Proportional to that user's sessions, through the per-user index.
    func sessions(forUser userID: String) async throws -> [Session]

    /// Deletes all of a user's sessions ("log out everywhere").
    ///
    /// - Returns: How many live sessions were deleted.
    func deleteSessions(forUser userID: String) async throws -> Int

    /// Deletes one of a user's sessions, named by its token hash: "sign out that device" on a page
    /// that lists ``sessions(forUser:)``. A session of another user, or an anonymous one, is left alone.
    ///
    /// - Returns: Whether a live session of `userID` was deleted.
    func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool

    /// Finishes pending writes and releases files and connections. Later calls throw
    /// ``SessionStoreError/Code/closed``. Closing twice is harmless.
    func close() async throws
}

extension SessionStore {
    /// Saves each session in turn; stores with transactions save them in one.
    public func save(_ sessions: [Session]) async throws -> [Session?] {
        var saved: [Session?] = []
        for session in sessions {
            do {
                saved.append(try await save(session, expectedVersion: nil))
            } catch let error as SessionStoreError where error.code == .notFound {
                saved.append(nil)
            }
        }
        return saved
    }

    /// Deletes each session in turn; stores with transactions delete them in one.
    public func delete(_ tokens: [SessionToken]) async throws -> Int {
        var deleted = 0
        for token in tokens where try await delete(token) { deleted += 1 }
        return deleted
    }

    /// Whether ``timeToLive(_:)`` finds a live session.
    public func exists(_ token: SessionToken) async throws -> Bool {
        try await timeToLive(token) != nil
    }

    /// Mints a token and stores a new session.
    ///
    /// - Parameters:
    ///   - userID: The owner, or nil for an anonymous session.
    ///   - data: Initial session data.
    ///   - metadata: Free-form string attributes.
    ///   - expiration: Expiry for this session; nil for the store default.
    ///   - client: The client's address and user agent.
    public func create(
        userID: String? = nil,
        data: Data = Data(),
        metadata: [String: String] = [:],
        expiration: ExpirationPolicy? = nil,
        client: SessionClient? = nil
    ) async throws -> IssuedSession {
        try await create(
            SessionDraft(
                userID: userID,
                data: data,
                metadata: metadata,
                expiration: expiration,
                ip: client?.ip,
                userAgent: client?.userAgent
            )
        )
    }

    /// Returns the session for `token`, or nil when it is missing or expired.
    public func load(_ token: SessionToken) async throws -> Session? {
        try await load(token, client: nil)
    }

    /// Stores a changed session without a version check.
    public func save(_ session: Session) async throws -> Session {
        try await save(session, expectedVersion: nil)
    }

    /// Gives a session a new token; the old one stops working at once. Data, user and metadata are kept.
    ///
    /// - Returns: The new token and session, or nil when the old token is missing or expired.
    public func rotate(_ token: SessionToken) async throws -> IssuedSession? {
        try await rotate(token, saving: nil, expectedVersion: nil)
    }

    /// Marks a session as used now and persists that.
    public func touch(_ token: SessionToken) async throws -> Session? {
        try await touch(token, expiration: nil, client: nil)
    }

    /// Marks a session as used now and persists that, optionally replacing its expiry.
    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?) async throws -> Session? {
        try await touch(token, expiration: expiration, client: nil)
    }

    /// Replaces a session's expiry, counted from now, like Redis `EXPIRE`.
    ///
    /// An idle timeout starts counting now, so the session counts as used; this is
    /// ``touch(_:expiration:client:)`` with a policy, under the name people look for.
    ///
    /// - Returns: The updated session, or nil when it is missing or expired.
    public func setExpiration(_ expiration: ExpirationPolicy, for token: SessionToken) async throws -> Session? {
        try await touch(token, expiration: expiration, client: nil)
    }

}
