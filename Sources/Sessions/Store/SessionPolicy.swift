public import Foundation

/// The rules every store applies the same way: default expiry, touch coalescing, size limits, time.
///
/// Give the same policy to whichever store you choose; swapping stores then changes nothing an
/// application can observe.
public struct SessionPolicy: Sendable {
    /// The expiry of sessions created without an explicit policy.
    public var expiration: ExpirationPolicy
    /// How stale the persisted `last_seen_at` may get before a read writes it again.
    ///
    /// Nil means the default, `min(60 s, idle / 10)`. Zero persists every use. Whatever the value,
    /// the persisted deadline stays ahead of real use by at least `idle - touchInterval`.
    public var touchInterval: Duration? {
        didSet { touchIntervalMilliseconds = touchInterval.map { max(0, $0.wholeMilliseconds) } }
    }
    /// ``touchInterval`` in milliseconds, kept in step with it for the hot path.
    private var touchIntervalMilliseconds: Int64?
    /// The largest session data accepted, in bytes. Default 1 MiB.
    public var maxDataSize: Int
    /// The largest user id accepted, in UTF-8 bytes. Default 1024.
    public var maxUserIDLength: Int
    /// The largest metadata accepted, counting every key and value in UTF-8 bytes. Default 64 KiB.
    public var maxMetadataSize: Int
    /// Client addresses and user agents longer than this many UTF-8 bytes are truncated, not
    /// rejected: they come from request headers, and a long header must not block a login. Default 512.
    public var maxClientFieldLength: Int
    /// The most live sessions one user may have; creating one more removes the user's first
    /// session in ``evictionOrder``, in the same transaction. Nil for no limit.
    public var maxSessionsPerUser: Int?
    /// Which session a new one pushes out when a user is at ``maxSessionsPerUser``.
    public var evictionOrder: EvictionOrder
    /// How many messages a session's log keeps; appending one more drops the oldest. Default 1000.
    public var maxMessagesPerSession: Int
    /// The largest message content accepted, in UTF-8 bytes. Default 256 KiB.
    public var maxMessageSize: Int
    /// Seals session data with AES-GCM before it is stored; nil stores it as it is.
    public var encryption: SessionEncryption?
    /// Where time comes from.
    public var clock: any SessionClock

    /// Which session gives way to a new one when a user has too many.
    public enum EvictionOrder: String, Sendable, Hashable, CaseIterable {
        /// The one created first.
        case oldestCreated
        /// The one used least recently.
        case leastRecentlySeen
    }

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - expiration: Default expiry for new sessions; 30 minutes idle, 24 hours absolute unless told otherwise.
    ///   - touchInterval: Nil for the default `min(60 s, idle / 10)`; zero to persist every use.
    ///   - maxDataSize: Largest session data in bytes.
    ///   - maxUserIDLength: Longest user ID, in UTF-8 bytes.
    ///   - maxMetadataSize: Largest metadata, keys and values together, in UTF-8 bytes.
    ///   - maxClientFieldLength: Longest ip or user agent kept; longer ones are clipped, not refused.
    ///   - maxSessionsPerUser: The most live sessions a user may have; one more evicts one. Nil for no limit.
    ///   - evictionOrder: Which of a user's sessions gives way to a new one.
    ///   - maxMessagesPerSession: Messages kept in each session's log; older ones are trimmed.
    ///   - maxMessageSize: Largest message content, in UTF-8 bytes.
    ///   - encryption: Seals session data and message content at rest; nil to store them plain.
    ///   - clock: The source of time; inject a ``ManualSessionClock`` in tests.
    public init(
        expiration: ExpirationPolicy = .hybrid(idle: .seconds(30 * 60), absolute: .seconds(24 * 3600)),
        touchInterval: Duration? = nil,
        maxDataSize: Int = 1 << 20,
        maxUserIDLength: Int = 1024,
        maxMetadataSize: Int = 64 << 10,
        maxClientFieldLength: Int = 512,
        maxSessionsPerUser: Int? = nil,
        evictionOrder: EvictionOrder = .oldestCreated,
        maxMessagesPerSession: Int = 1000,
        maxMessageSize: Int = 256 << 10,
        encryption: SessionEncryption? = nil,
        clock: any SessionClock = SystemSessionClock()
    ) {
        self.expiration = expiration
        self.touchInterval = touchInterval
        self.touchIntervalMilliseconds = touchInterval.map { max(0, $0.wholeMilliseconds) }
        self.maxDataSize = maxDataSize
        self.maxUserIDLength = maxUserIDLength
        self.maxMetadataSize = maxMetadataSize
        self.maxClientFieldLength = maxClientFieldLength
        self.maxSessionsPerUser = maxSessionsPerUser
        self.evictionOrder = evictionOrder
        self.maxMessagesPerSession = maxMessagesPerSession
        self.maxMessageSize = maxMessageSize
        self.encryption = encryption
        self.clock = clock
    }

    /// The current time from ``clock``.
    @inlinable
    public var now: SessionInstant { clock.now }

    /// The interval after which a use of a session with this idle timeout is persisted.
    public func touchInterval(forIdleTimeout idle: Duration) -> Duration {
        .milliseconds(touchIntervalMilliseconds(forIdleMilliseconds: idle.wholeMilliseconds))
    }

    private func touchIntervalMilliseconds(forIdleMilliseconds idle: Int64) -> Int64 {
        touchIntervalMilliseconds ?? min(60_000, idle / 10)
    }

    /// Whether a use at `now` should persist `last_seen_at` for `session`.
    ///
    /// Only sliding sessions need it, and only when the persisted value is at least one touch
    /// interval old. A session whose absolute deadline comes first gains nothing from a touch.
    public func needsTouch(_ session: Session, at now: SessionInstant) -> Bool {
        needsTouch(deadlines: session.deadlines, lastSeenAt: session.lastSeenAt, at: now)
    }

    /// Whether a use at `now` should persist `last_seen_at` for a session with these limits,
    /// whose persisted last use is `lastSeenAt`.
    public func needsTouch(deadlines: SessionDeadlines, lastSeenAt: SessionInstant, at now: SessionInstant) -> Bool {
        guard let idle = deadlines.idleTimeoutMilliseconds else { return false }
        let lastSeen = lastSeenAt.millisecondsSince1970
        if let absolute = deadlines.absoluteExpiresAt, lastSeen &+ idle >= absolute.millisecondsSince1970 {
            return false
        }
        return now.millisecondsSince1970 &- lastSeen >= touchIntervalMilliseconds(forIdleMilliseconds: idle)
    }

    // MARK: Validation

    /// Checks a new session request and fills in the defaults; throws before any I/O.
    public func validated(_ draft: SessionDraft) throws(SessionStoreError) -> SessionDraft {
        var draft = draft
        try validate(userID: draft.userID)
        try validate(data: draft.data)
        try validate(metadata: draft.metadata)
        try (draft.expiration ?? expiration).validate()
        if let limit = maxSessionsPerUser, limit < 1 {
            throw SessionStoreError(.configurationError, "SessionPolicy.maxSessionsPerUser is \(limit); it must be at least 1, or nil for no limit")
        }
        draft.ip = clipped(draft.ip)
        draft.userAgent = clipped(draft.userAgent)
        return draft
    }

    /// Checks the application-owned fields of a session about to be saved.
    public func validate(_ session: Session) throws(SessionStoreError) {
        try validate(userID: session.userID)
        try validate(data: session.data)
        try validate(metadata: session.metadata)
    }

    /// Checks session data against ``maxDataSize``, and that it does not begin with the bytes
    /// that mark sealed data (``SessionEncryption/magic``), which no JSON or text begins with.
    public func validate(data: Data) throws(SessionStoreError) {
        guard data.count <= maxDataSize else {
            throw SessionStoreError(
                .payloadTooLarge,
                "session data is \(data.count) bytes; the limit is \(maxDataSize) bytes (SessionPolicy.maxDataSize)"
            )
        }
        guard !SessionEncryption.isSealed(data) else {
            throw SessionStoreError(
                .invalidArgument,
                "session data may not begin with the bytes 00 53 45 01, which mark data sealed by SessionEncryption"
            )
        }
    }

    /// Checks a user id: not empty, at most ``maxUserIDLength`` bytes, no NUL.
    public func validate(userID: String?) throws(SessionStoreError) {
        guard let userID else { return }
        guard !userID.isEmpty else {
            throw SessionStoreError(.invalidArgument, "user id is empty; pass nil for an anonymous session")
        }
        guard userID.utf8.count <= maxUserIDLength else {
            throw SessionStoreError(
                .invalidArgument,
                "user id is \(userID.utf8.count) bytes; the limit is \(maxUserIDLength) (SessionPolicy.maxUserIDLength)"
            )
        }
        guard !userID.utf8.contains(0) else {
            throw SessionStoreError(.invalidArgument, "user id contains a NUL byte")
        }
    }

    /// Checks metadata against ``maxMetadataSize``.
    public func validate(metadata: [String: String]) throws(SessionStoreError) {
        let size = metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard size <= maxMetadataSize else {
            throw SessionStoreError(
                .payloadTooLarge,
                "session metadata is \(size) bytes; the limit is \(maxMetadataSize) bytes (SessionPolicy.maxMetadataSize)"
            )
        }
    }

    /// Validates a client description and clips its fields to ``maxClientFieldLength``.
    public func clipped(_ client: SessionClient?) -> SessionClient? {
        guard let client else { return nil }
        return SessionClient(ip: clipped(client.ip), userAgent: clipped(client.userAgent))
    }

    private func clipped(_ field: String?) -> String? {
        guard let field, field.utf8.count > maxClientFieldLength else { return field }
        let utf8 = Array(field.utf8.prefix(maxClientFieldLength + 1))
        var end = maxClientFieldLength
        // Never cut a multi-byte character in half: back up to the start of the one at `end`.
        while end > 0 && utf8[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: utf8[..<end], as: UTF8.self)
    }

    /// Checks a message before it is appended.
    public func validate(_ message: SessionMessageDraft) throws(SessionStoreError) {
        guard maxMessagesPerSession >= 1 else {
            throw SessionStoreError(.configurationError, "SessionPolicy.maxMessagesPerSession is \(maxMessagesPerSession); it must be at least 1")
        }
        guard message.content.utf8.count <= maxMessageSize else {
            throw SessionStoreError(
                .payloadTooLarge,
                "message content is \(message.content.utf8.count) bytes; the limit is \(maxMessageSize) (SessionPolicy.maxMessageSize)"
            )
        }
        try validate(metadata: message.metadata)
    }

    /// The sessions, among a user's live `sessions`, that must go so one more fits under
    /// ``maxSessionsPerUser``: the first ones in ``evictionOrder``.
    public func sessionsToEvict(from sessions: [Session]) -> [Session] {
        guard let limit = maxSessionsPerUser, sessions.count >= limit else { return [] }
        let ordered: [Session]
        switch evictionOrder {
        case .oldestCreated: ordered = sessions.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        case .leastRecentlySeen: ordered = sessions.sorted { ($0.lastSeenAt, $0.id) < ($1.lastSeenAt, $1.id) }
        }
        return Array(ordered.prefix(sessions.count - limit + 1))
    }

    /// Checks a listing or purge limit.
    public static func validate(limit: Int, name: String = "limit") throws(SessionStoreError) {
        guard limit > 0 else {
            throw SessionStoreError(.invalidArgument, "\(name) must be positive, got \(limit)")
        }
    }
}
