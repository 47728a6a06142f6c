public import Sessions
import Synchronization

/// A store that forwards to another and counts the calls, for tests that must prove a request
/// reached the store (or did not). It implements only the request path (``Sessions/SessionStore``):
/// batch saves and deletes and `exists` come from the protocol's defaults, through the counted calls.
public final class CountingSessionStore: SessionStore {
    /// The calls made, by method name.
    public struct Calls: Sendable, Equatable {
        public var loads = 0
        public var creates = 0
        public var saves = 0
        public var rotations = 0
        public var deletes = 0
        public var other = 0

        /// Every call.
        public var total: Int { loads + creates + saves + rotations + deletes + other }
        /// Calls that may write.
        public var writes: Int { creates + saves + rotations + deletes }
    }

    public let backing: any SessionStore
    private let counts = Mutex(Calls())
    private let beforeSave: (@Sendable (Int) async throws -> Void)?

    /// - Parameters:
    ///   - backing: The store that does the work.
    ///   - beforeSave: Runs before each compare-and-swap save or rotation is forwarded, with its
    ///     number (1 for the first): a test makes another writer win the race there.
    public init(wrapping backing: any SessionStore, beforeSave: (@Sendable (Int) async throws -> Void)? = nil) {
        self.backing = backing
        self.beforeSave = beforeSave
    }

    /// The calls made so far.
    public var calls: Calls { counts.withLock { $0 } }

    private func count(_ field: WritableKeyPath<Calls, Int>) {
        counts.withLock { $0[keyPath: field] += 1 }
    }

    public var policy: SessionPolicy { backing.policy }

    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        count(\.creates)
        return try await backing.create(draft)
    }

    public func load(_ token: SessionToken, client: SessionClient?) async throws -> Session? {
        count(\.loads)
        return try await backing.load(token, client: client)
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        count(\.saves)
        try await beforeSave?(counts.withLock { $0.saves + $0.rotations })
        return try await backing.save(session, expectedVersion: expectedVersion)
    }

    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client: SessionClient?) async throws -> Session? {
        count(\.other)
        return try await backing.touch(token, expiration: expiration, client: client)
    }

    public func timeToLive(_ token: SessionToken) async throws -> Duration? {
        count(\.other)
        return try await backing.timeToLive(token)
    }

    public func delete(_ token: SessionToken) async throws -> Bool {
        count(\.deletes)
        return try await backing.delete(token)
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        count(\.rotations)
        try await beforeSave?(counts.withLock { $0.saves + $0.rotations })
        return try await backing.rotate(token, saving: changes, expectedVersion: expectedVersion)
    }

    public func sessions(forUser userID: String) async throws -> [Session] {
        count(\.other)
        return try await backing.sessions(forUser: userID)
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        count(\.deletes)
        return try await backing.deleteSessions(forUser: userID)
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        count(\.deletes)
        return try await backing.revokeSession(hash, ofUser: userID)
    }

    public func close() async throws {
        try await backing.close()
    }
}
