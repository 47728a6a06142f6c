import Logging
import Synchronization
import Tracing

/// A memory cache in front of any ``SessionStore``.
///
/// ```swift
/// let store = try CachedSessionStore(wrapping: SQLiteSessionStore(path: "sessions.sqlite"))
/// ```
///
/// - A load that hits is answered from memory: one lock, no allocation, no suspension. Expiry is
///   still checked against the clock, and a sliding session's deadline moves in memory at once.
/// - A miss reads through to the backing store and fills the cache (sync-on-access).
/// - Writes go to the backing store first; memory changes only after they succeed.
/// - Deleted, revoked and rotated-away tokens leave tombstones, so a slow request cannot put a dead
///   session back and a replayed dead cookie costs no I/O; unknown tokens are remembered briefly.
/// - Changes made by other processes to the same SQLite file (another instance, `sessionctl`, a
///   `DELETE` typed into `sqlite3`) stop being served within ``Configuration/coherenceInterval``:
///   loads follow the backing store's change log (see ``SessionChangeFeed``).
/// - Uses of a sliding session are written back only when the persisted `last_seen_at` is older
///   than the policy's touch interval, in the background, so the persisted deadline stays ahead
///   of real use while almost no read writes.
///
/// Use one cache per backing store instance: the cache ignores change-log entries its backing
/// store instance wrote, because it made those changes itself.
public final class CachedSessionStore: SessionStore {
    /// The store behind the cache.
    public let backing: any SessionStore
    /// Sizes and timings.
    public let configuration: Configuration

    let cache: SessionCache
    let housekeeping: CacheHousekeeping
    private let pendingTouches = PendingWork()
    private let closed = Atomic<Bool>(false)
    private let tracing: SessionTracing

    /// Puts a cache in front of `backing`.
    ///
    /// - Throws: When the backing store's change log cannot be opened.
    public init(wrapping backing: any SessionStore, configuration: Configuration = Configuration()) throws {
        self.backing = backing
        self.policy = backing.policy
        self.configuration = configuration
        self.tracing = SessionTracing(configuration.tracer, store: "cached")
        self.cache = SessionCache(
            maxEntries: configuration.maxEntries,
            maxBytes: configuration.maxBytes,
            maxAbsent: configuration.maxNegativeEntries,
            negativeTTL: configuration.negativeTTL,
            shards: configuration.shards
        )
        let feed = backing as? any SessionChangeFeed
        let housekeeping = CacheHousekeeping(
            reader: try feed?.makeChangeReader(),
            ownOrigin: feed?.changeOrigin,
            interval: configuration.coherenceInterval,
            metrics: CacheMetrics(prefix: configuration.metricsPrefix, factory: configuration.metricsFactory),
            logger: configuration.logger
        )
        self.housekeeping = housekeeping
        if let notifying = backing as? any SessionChangeNotifying {
            // Weak: the store outlives a cache that was dropped, and must not keep it alive.
            notifying.addChangeListener { [weak cache, weak housekeeping] hint in
                guard let cache, let housekeeping else { return }
                switch hint {
                case .revoked(let hash): cache.remove(hash, gone: true)
                case .stale(let hash): cache.remove(hash, gone: false)
                case .changed: housekeeping.runHinted(cache)
                case .reset: cache.removeAll()
                }
            }
        }
    }

    /// The backing store's rules, read once: the cache applies exactly what the store applies.
    public let policy: SessionPolicy

    // MARK: Reads

    public func load(_ token: SessionToken, client: SessionClient?) async throws -> Session? {
        // Without a tracer, no closure and no extra async frame on the hit path.
        guard let tracer = tracing.activeAsLastSeen else { return try await load(token, client: client, span: nil) }
        return try await tracing.withSpan(tracer, "sessions.load") { span in try await load(token, client: client, span: span) }
    }

    @inline(__always)
    private func load(_ token: SessionToken, client: SessionClient?, span: (any Span)?) async throws -> Session? {
        try checkOpen()
        housekeeping.runIfDue(cache)
        let now = policy.now
        switch cache.lookup(token.hash, now: now, policy: policy) {
        case .hit(let session, let touchDue):
            span?.attributes["sessions.cache"] = "hit"
            if touchDue { persistUse(token, client: client) }
            return session
        case .absent:
            span?.attributes["sessions.cache"] = "absent"
            return nil
        case .miss(let epoch):
            span?.attributes["sessions.cache"] = "miss"
            let session = try await backing.load(token, client: client)
            cache.fill(token.hash, with: session, epoch: epoch, now: now)
            return session
        }
    }

    public func timeToLive(_ token: SessionToken) async throws -> Duration? {
        try checkOpen()
        housekeeping.runIfDue(cache)
        let now = policy.now
        if let session = cache.peek(token.hash, now: now) { return session.timeToLive(at: now) }
        if cache.isAbsent(token.hash, now: now) { return nil }
        return try await backing.timeToLive(token)
    }

    public func sessions(forUser userID: String) async throws -> [Session] {
        try await backing.sessions(forUser: userID)
    }

    /// The cache's own counters, without asking the backing store.
    public var cacheStats: CacheStats { cache.stats }

    /// The first broken invariant of the cache's internal structures, or nil; for tests.
    package func cacheInvariantViolation() -> String? { cache.invariantViolation() }

    /// Applies changes other processes made, now, instead of at the next due load.
    public func synchronize() {
        housekeeping.run(cache)
    }

    // MARK: Writes

    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        if draft.userID != nil, policy.maxSessionsPerUser != nil, policy.evictionOrder == .leastRecentlySeen {
            // The backing store picks whom to evict by last use: let it see the uses served from memory.
            await pendingTouches.waitForWorkBegunSoFar()
        }
        let generation = cache.generation
        let issued = try await backing.create(draft)
        for evicted in issued.evicted { cache.remove(evicted, gone: true) }
        cache.store(issued.session, startedAt: generation)
        return issued
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        let generation = cache.generation
        do {
            let saved = try await backing.save(session, expectedVersion: expectedVersion)
            cache.store(saved, startedAt: generation)
            return saved
        } catch let error as SessionStoreError where error.code == .notFound {
            cache.remove(session.tokenHash, gone: true)
            throw error
        } catch let error as SessionStoreError where error.code == .conflict {
            // Someone else wrote a newer version; whatever memory holds may be older still.
            cache.remove(session.tokenHash, gone: false)
            throw error
        }
    }

    public func save(_ sessions: [Session]) async throws -> [Session?] {
        let generation = cache.generation
        let saved = try await backing.save(sessions)
        for (session, result) in zip(sessions, saved) {
            if let result { cache.store(result, startedAt: generation) } else { cache.remove(session.tokenHash, gone: true) }
        }
        return saved
    }

    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client: SessionClient?) async throws -> Session? {
        let generation = cache.generation
        let touched = try await backing.touch(token, expiration: expiration, client: client)
        if let touched { cache.store(touched, startedAt: generation) } else { cache.remove(token.hash, gone: false) }
        return touched
    }

    public func delete(_ token: SessionToken) async throws -> Bool {
        defer { cache.remove(token.hash, gone: true) }
        return try await backing.delete(token)
    }

    public func delete(_ tokens: [SessionToken]) async throws -> Int {
        defer { for token in tokens { cache.remove(token.hash, gone: true) } }
        return try await backing.delete(tokens)
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        let generation = cache.generation
        let rotated: IssuedSession?
        do {
            rotated = try await backing.rotate(token, saving: changes, expectedVersion: expectedVersion)
        } catch {
            // A conflict means memory may hold an older version; after any failure, read again.
            cache.remove(token.hash, gone: false)
            throw error
        }
        cache.remove(token.hash, gone: true)
        if let rotated { cache.store(rotated.session, startedAt: generation) }
        return rotated
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        defer { cache.removeSessions(ofUser: userID) }
        return try await backing.deleteSessions(forUser: userID)
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        let revoked = try await backing.revokeSession(hash, ofUser: userID)
        // Only a session that really was this user's may be remembered as gone.
        if revoked { cache.remove(hash, gone: true) }
        return revoked
    }

    /// Waits for background write-backs of sessions' uses, then closes the backing store.
    /// Loads fail with ``SessionStoreError/Code/closed`` from the start of the call.
    public func close() async throws {
        closed.store(true, ordering: .releasing)
        await pendingTouches.waitForWorkBegunSoFar()
        try await backing.close()
    }

    private func checkOpen() throws(SessionStoreError) {
        if closed.load(ordering: .acquiring) {
            throw SessionStoreError(.closed, "the cached session store was closed")
        }
    }

    /// Waits until every write-back of a use started so far has finished (later ones are not waited for).
    public func waitForPendingTouches() async {
        await pendingTouches.waitForWorkBegunSoFar()
    }

    /// Writes a use back to the backing store without making the reader wait.
    private func persistUse(_ token: SessionToken, client: SessionClient?) {
        let ticket = pendingTouches.begin()
        let (backing, cache, logger, pending) = (self.backing, self.cache, configuration.logger, pendingTouches)
        Task {
            defer { pending.end(ticket) }
            do {
                cache.completeTouch(token.hash, with: try await backing.touch(token, expiration: nil, client: client))
            } catch {
                cache.failTouch(token.hash)
                logger.warning(
                    "writing back a session's use failed; it stays valid until its stored deadline",
                    metadata: ["session": "\(token.hash.shortHex)", "error": "\(error)"]
                )
            }
        }
    }
}

extension CachedSessionStore: SessionChangeFeed {
    /// The backing store's origin: the cache writes through it. 0 when the backing store keeps no change log.
    public var changeOrigin: Int64 {
        (backing as? any SessionChangeFeed)?.changeOrigin ?? 0
    }

    /// A reader of the backing store's change log, which records every write made through this cache.
    ///
    /// - Throws: ``SessionStoreError/Code/configurationError`` when the backing store keeps no change log.
    public func makeChangeReader() throws -> any SessionChangeReader {
        guard let feed = backing as? any SessionChangeFeed else {
            throw SessionStoreError(.configurationError, "\(type(of: backing)) keeps no change log, so a cache in front of it cannot follow its changes or stream events")
        }
        return try feed.makeChangeReader()
    }
}
