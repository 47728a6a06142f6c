import Synchronization

/// The memory side of ``CachedSessionStore``: sessions by token hash in LRU shards, each behind
/// its own `Mutex` so cores do not queue on one lock, plus negative entries and tombstones.
///
/// The entry and byte limits are global: shard sizes are counted in two atomics, and when an
/// insert takes them over the limit, shards give up their least recently used entries in turn.
/// (Splitting the limit evenly between shards instead would thrash whichever shard the hash
/// happens to load most.)
///
/// Every shard has an epoch that any change to its entries (a write here, an invalidation from
/// another process) increments. A read-through captures the epoch before reading the backing
/// store and caches its result only if the epoch is unchanged afterwards, so a slow read can never
/// put back a session that changed or died while it was in flight.
///
/// Results of this process's own writes are protected the same way at a coarser grain: a write
/// notes the ``generation`` (bumped by every invalidation anywhere in the cache) before it starts,
/// and if any invalidation happened before its result arrives, the result only evicts instead of
/// filling. A save racing a "log out everywhere" for the same user can therefore never leave the
/// revoked session in memory, and tombstoned tokens are never filled at all.
final class SessionCache: Sendable {
    /// One cached session.
    struct Entry: Sendable {
        /// The session as the backing store last returned it: `lastSeenAt` is the persisted value.
        var session: Session
        /// The latest use seen here; the in-memory extension of a sliding deadline.
        var lastUsed: SessionInstant
        /// A write of the use to the backing store is in flight.
        var touchPending: Bool
        /// When a hit last moved the entry to the front of the LRU order.
        var lastPromoted: SessionInstant
        /// The session's limits, kept beside the entry: a hit checks expiry without reading the
        /// session's shared fields, which usually sit in another cache line.
        let deadlines: SessionDeadlines

        init(session: Session, lastUsed: SessionInstant, touchPending: Bool = false) {
            self.session = session
            self.lastUsed = lastUsed
            self.touchPending = touchPending
            self.lastPromoted = lastUsed
            self.deadlines = session.deadlines
        }
    }

    /// The outcome of a lookup.
    enum Lookup {
        /// Answered from memory. `touchDue`: the caller should persist the use (only one caller is told).
        case hit(Session, touchDue: Bool)
        /// Known not to exist: a tombstone or a recent miss.
        case absent
        /// Not in memory; read through and pass `epoch` back to ``fill(_:with:epoch:now:)``.
        case miss(epoch: UInt64)
    }

    private struct ShardState {
        var entries: LRUCache<TokenHash, Entry>
        /// Tokens known not to exist, with when that knowledge expires (`.max` for tombstones).
        var absent: LRUCache<TokenHash, SessionInstant>
        var epoch: UInt64 = 0
        var stats = CacheStats()
    }

    private final class Shard: Sendable {
        let state: Mutex<ShardState>

        init(_ state: ShardState) {
            self.state = Mutex(state)
        }
    }

    private let shards: [Shard]
    private let shardMask: UInt64
    private let negativeTTL: Duration
    private let maxEntries: Int
    private let maxBytes: Int
    private let entryCount = Atomic<Int>(0)
    private let byteCount = Atomic<Int>(0)
    private let evictionCursor = Atomic<Int>(0)
    private let flushes = Atomic<Int>(0)
    private let coherenceUpdates = Atomic<Int>(0)
    private let invalidationGeneration = Atomic<UInt64>(0)

    /// Creates an empty cache.
    ///
    /// - Parameters:
    ///   - maxEntries: Sessions kept, across all shards.
    ///   - maxBytes: Bytes of session data kept, across all shards.
    ///   - maxAbsent: Negative entries and tombstones kept, across all shards.
    ///   - negativeTTL: How long "no such session" is remembered for a token never seen.
    ///   - shards: Number of shards, rounded up to a power of two.
    init(maxEntries: Int, maxBytes: Int, maxAbsent: Int, negativeTTL: Duration, shards: Int) {
        var count = 1
        while count < max(1, shards) { count <<= 1 }
        self.shardMask = UInt64(count - 1)
        self.negativeTTL = negativeTTL
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = max(1, maxBytes)
        self.shards = (0..<count).map { _ in
            Shard(
                ShardState(
                    entries: LRUCache(maxCount: max(1, maxEntries), maxCost: max(1, maxBytes)),
                    absent: LRUCache(maxCount: max(1, (maxAbsent + count - 1) / count))
                )
            )
        }
    }

    /// Runs `body` on the shard of `hash` and carries its change in size into the global counters.
    private func mutate<R>(_ hash: TokenHash, _ body: (inout ShardState) -> R) -> R {
        mutate(shard(hash), body)
    }

    private func mutate<R>(_ shard: Shard, _ body: (inout ShardState) -> R) -> R {
        let (result, entries, bytes) = shard.state.withLock { state in
            let (count, cost) = (state.entries.count, state.entries.totalCost)
            let result = body(&state)
            return (result, state.entries.count - count, state.entries.totalCost - cost)
        }
        if entries != 0 { entryCount.add(entries, ordering: .relaxed) }
        if bytes != 0 { byteCount.add(bytes, ordering: .relaxed) }
        return result
    }

    /// Evicts least recently used entries, shard by shard in turn, until both limits hold.
    private func enforceLimits() {
        var attempts = 0
        while entryCount.load(ordering: .relaxed) > maxEntries || byteCount.load(ordering: .relaxed) > maxBytes {
            let next = shards[evictionCursor.add(1, ordering: .relaxed).newValue & Int(shardMask)]
            let evicted = mutate(next) { state -> Bool in
                guard state.entries.removeLeastRecentlyUsed() != nil else { return false }
                state.stats.evictions += 1
                return true
            }
            attempts = evicted ? 0 : attempts + 1
            if attempts > shards.count { return }
        }
    }

    private func shard(_ hash: TokenHash) -> Shard {
        // The digest is uniformly random; its top byte spreads keys evenly without hashing again.
        shards[Int((hash.w0 >> 56) & shardMask)]
    }

    /// The bytes an entry counts against the byte limit: everything of variable size it holds.
    static func cost(of session: Session) -> Int {
        session.data.count
            + session.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
            + (session.userID?.utf8.count ?? 0)
            + (session.ip?.utf8.count ?? 0) + (session.userAgent?.utf8.count ?? 0)
            + (session.lastSeenIP?.utf8.count ?? 0) + (session.lastSeenUserAgent?.utf8.count ?? 0)
    }

    /// Looks a session up, extending a sliding session's deadline in memory.
    ///
    /// An entry that looks expired is dropped and reported as a miss: another process may have
    /// kept the session alive, so only the backing store can say it is gone.
    ///
    /// - Complexity: O(1): one lock, one dictionary lookup, no allocation, no suspension.
    func lookup(_ hash: TokenHash, now: SessionInstant, policy: SessionPolicy) -> Lookup {
        mutate(hash) { state in
            let found: (Lookup, sliding: Bool)?? = state.entries.access(hash) { entry -> (result: (Lookup, sliding: Bool)?, promote: Bool) in
                let lastUsed = max(entry.lastUsed, entry.session.lastSeenAt)
                guard now < entry.deadlines.expiresAt(lastSeenAt: lastUsed) else { return (nil, false) }
                // Move to the front of the LRU list only when not used within the last second.
                let promote = now.millisecondsSince1970 &- entry.lastPromoted.millisecondsSince1970 >= 1000
                if promote { entry.lastPromoted = now }
                var touchDue = false
                if entry.deadlines.idleTimeoutMilliseconds != nil {
                    entry.lastUsed = max(lastUsed, now)
                    if !entry.touchPending
                        && policy.needsTouch(deadlines: entry.deadlines, lastSeenAt: entry.session.lastSeenAt, at: now)
                    {
                        entry.touchPending = true
                        touchDue = true
                    }
                }
                let hit = Lookup.hit(entry.session.with(lastSeenAt: entry.lastUsed), touchDue: touchDue)
                return ((hit, entry.deadlines.idleTimeoutMilliseconds != nil), promote)
            }
            switch found {
            case .some(.some(let (hit, sliding))):
                state.stats.hits += 1
                if sliding, case .hit(_, touchDue: false) = hit { state.stats.touchesSkipped += 1 }
                return hit
            case .some(.none):
                state.entries.removeValue(forKey: hash)
                state.stats.misses += 1
                return .miss(epoch: state.epoch)
            case .none:
                if let until = state.absent.peek(hash) {
                    if now < until {
                        state.stats.negativeHits += 1
                        return .absent
                    }
                    state.absent.removeValue(forKey: hash)
                }
                state.stats.misses += 1
                return .miss(epoch: state.epoch)
            }
        }
    }

    /// A live cached session without counting it as a use; nil when not cached or expired.
    ///
    /// - Complexity: O(1).
    func peek(_ hash: TokenHash, now: SessionInstant) -> Session? {
        shard(hash).state.withLock { state in
            guard let entry = state.entries.peek(hash) else { return nil }
            let lastUsed = max(entry.lastUsed, entry.session.lastSeenAt)
            guard now < entry.deadlines.expiresAt(lastSeenAt: lastUsed) else { return nil }
            return entry.session.with(lastSeenAt: lastUsed)
        }
    }

    /// Whether memory knows the token does not exist.
    ///
    /// - Complexity: O(1).
    func isAbsent(_ hash: TokenHash, now: SessionInstant) -> Bool {
        shard(hash).state.withLock { state in
            guard let until = state.absent.peek(hash) else { return false }
            return now < until
        }
    }

    /// Caches what a read-through found, unless the shard changed since `epoch`.
    ///
    /// - Parameter session: The loaded session, or nil when the backing store has none.
    /// - Complexity: O(1) amortized.
    func fill(_ hash: TokenHash, with session: Session?, epoch: UInt64, now: SessionInstant) {
        mutate(hash) { state in
            guard state.epoch == epoch else {
                state.stats.fillsRejected += 1
                return
            }
            guard let session else {
                state.absent.insert(now + negativeTTL, forKey: hash)
                return
            }
            guard state.entries.peek(hash) == nil else { return }
            state.absent.removeValue(forKey: hash)
            state.stats.evictions += state.entries.insert(
                Entry(session: session, lastUsed: session.lastSeenAt),
                forKey: hash,
                cost: Self.cost(of: session)
            )
        }
        enforceLimits()
    }

    /// The current invalidation generation; take it before a write and pass it to ``store(_:startedAt:)``.
    var generation: UInt64 { invalidationGeneration.load(ordering: .acquiring) }

    /// Caches the result of a write this process made.
    ///
    /// Nothing is cached when the token is tombstoned, when a newer version is cached already, or
    /// when any invalidation happened since `generation` was read (the entry is then dropped, and
    /// the next load reads the truth through).
    ///
    /// - Complexity: O(1) amortized.
    func store(_ session: Session, startedAt generation: UInt64) {
        let hash = session.tokenHash
        mutate(hash) { state in
            state.epoch &+= 1
            if let until = state.absent.peek(hash), until == .distantFuture { return }
            guard invalidationGeneration.load(ordering: .acquiring) == generation else {
                state.entries.removeValue(forKey: hash)
                return
            }
            state.absent.removeValue(forKey: hash)
            let existing = state.entries.peek(hash)
            if let existing, existing.session.version > session.version { return }
            let entry = Entry(
                session: session,
                lastUsed: max(existing?.lastUsed ?? session.lastSeenAt, session.lastSeenAt),
                touchPending: existing?.touchPending ?? false
            )
            state.stats.evictions += state.entries.insert(entry, forKey: hash, cost: Self.cost(of: session))
        }
        enforceLimits()
    }

    /// Records the result of a persisted use: the new persisted `last_seen_at`, or the session's end.
    func completeTouch(_ hash: TokenHash, with session: Session?) {
        mutate(hash) { state in
            guard let session else {
                state.epoch &+= 1
                invalidationGeneration.add(1, ordering: .releasing)
                if state.entries.removeValue(forKey: hash) != nil { state.stats.invalidations += 1 }
                return
            }
            state.stats.touchesPersisted += 1
            _ = state.entries.update(hash) { entry in
                entry.touchPending = false
                if session.version >= entry.session.version {
                    entry = Entry(session: session, lastUsed: max(entry.lastUsed, session.lastSeenAt))
                }
            }
        }
    }

    /// Extends a cached sliding session's deadline in memory for a use the backing store saw
    /// (an appended message).
    func noteUse(_ hash: TokenHash, at now: SessionInstant) {
        shard(hash).state.withLock { state in
            _ = state.entries.update(hash) { entry in entry.lastUsed = max(entry.lastUsed, now) }
        }
    }

    /// Records that persisting a use failed, so a later use tries again.
    func failTouch(_ hash: TokenHash) {
        shard(hash).state.withLock { state in
            state.stats.touchesFailed += 1
            _ = state.entries.update(hash) { $0.touchPending = false }
        }
    }

    /// Drops a session.
    ///
    /// - Parameter gone: The token can never be valid again (deleted, revoked, rotated away):
    ///   remember that, so loads of it cost no I/O and no slow read can bring it back.
    /// - Complexity: O(1).
    func remove(_ hash: TokenHash, gone: Bool) {
        mutate(hash) { state in
            state.epoch &+= 1
            invalidationGeneration.add(1, ordering: .releasing)
            if state.entries.removeValue(forKey: hash) != nil { state.stats.invalidations += 1 }
            if gone {
                state.absent.insert(.distantFuture, forKey: hash)
            } else {
                state.absent.removeValue(forKey: hash)
            }
        }
    }

    /// Drops every session of `userID`, leaving tombstones.
    ///
    /// - Complexity: O(n) in the entries cached.
    func removeSessions(ofUser userID: String) {
        invalidationGeneration.add(1, ordering: .releasing)
        for shard in shards {
            mutate(shard) { state in
                state.epoch &+= 1
                var hashes: [TokenHash] = []
                state.entries.forEach { hash, entry in
                    if entry.session.userID == userID { hashes.append(hash) }
                }
                for hash in hashes {
                    state.entries.removeValue(forKey: hash)
                    state.absent.insert(.distantFuture, forKey: hash)
                    state.stats.invalidations += 1
                }
            }
        }
    }

    /// Drops everything, tombstones and negative entries included.
    ///
    /// - Complexity: O(n).
    func removeAll() {
        flushes.add(1, ordering: .relaxed)
        invalidationGeneration.add(1, ordering: .releasing)
        for shard in shards {
            mutate(shard) { state in
                state.epoch &+= 1
                state.stats.invalidations += state.entries.count
                state.entries.removeAll()
                state.absent.removeAll()
            }
        }
    }

    /// Counts a change-log poll that applied something.
    func recordCoherenceUpdate() {
        coherenceUpdates.add(1, ordering: .relaxed)
    }

    /// The counters of every shard, summed.
    ///
    /// - Complexity: O(shards).
    var stats: CacheStats {
        var total = shards.reduce(into: CacheStats()) { total, shard in
            shard.state.withLock { state in
                var stats = state.stats
                stats.entries = state.entries.count
                stats.bytes = state.entries.totalCost
                total = total + stats
            }
        }
        total.flushes = flushes.load(ordering: .relaxed)
        total.coherenceUpdates = coherenceUpdates.load(ordering: .relaxed)
        return total
    }

    /// The first broken invariant of any shard's LRU structures, or nil.
    func invariantViolation() -> String? {
        for (index, shard) in shards.enumerated() {
            let violation = shard.state.withLock { state in
                state.entries.invariantViolation() ?? state.absent.invariantViolation()
            }
            if let violation { return "shard \(index): \(violation)" }
        }
        return nil
    }
}
