/// How a session's deadline is computed.
///
/// A session stores at most two limits: an idle timeout (the deadline slides forward each time
/// the session is used) and an absolute deadline (fixed when the policy is applied). Its effective
/// deadline, ``Session/expiresAt``, is whichever comes first. A session is alive strictly before
/// its deadline: at the deadline itself it has expired.
public enum ExpirationPolicy: Sendable, Hashable, CustomStringConvertible {
    /// A fixed lifetime counted from when the policy is applied (creation, or ``SessionStore/setExpiration(_:for:)``).
    case absolute(Duration)
    /// A sliding lifetime: the session expires after this long without use.
    case idle(Duration)
    /// Both: the session expires after `idle` without use, and `absolute` after the policy was applied
    /// at the latest, whichever comes first (OWASP's recommended pairing).
    case hybrid(idle: Duration, absolute: Duration)

    /// The longest lifetime a policy may have: one hundred years.
    public static let maximumLifetime: Duration = .seconds(100 * 365 * 24 * 3600)

    /// The sliding timeout, if the policy has one.
    public var idleTimeout: Duration? {
        switch self {
        case .absolute: nil
        case .idle(let idle), .hybrid(let idle, _): idle
        }
    }

    /// The fixed lifetime, if the policy has one.
    public var absoluteLifetime: Duration? {
        switch self {
        case .idle: nil
        case .absolute(let lifetime), .hybrid(_, let lifetime): lifetime
        }
    }

    /// Checks that every duration is at least one millisecond and at most ``maximumLifetime``.
    ///
    /// - Throws: ``SessionStoreError/Code/invalidArgument`` naming the bad duration.
    public func validate() throws(SessionStoreError) {
        for (name, duration) in [("idle timeout", idleTimeout), ("absolute lifetime", absoluteLifetime)] {
            guard let duration else { continue }
            guard duration >= .milliseconds(1) else {
                throw SessionStoreError(.invalidArgument, "\(name) must be at least 1 ms, got \(duration)")
            }
            guard duration <= Self.maximumLifetime else {
                throw SessionStoreError(.invalidArgument, "\(name) of \(duration) exceeds the maximum of 100 years")
            }
        }
    }

    public var description: String {
        switch self {
        case .absolute(let lifetime): "absolute(\(lifetime))"
        case .idle(let idle): "idle(\(idle))"
        case .hybrid(let idle, let absolute): "hybrid(idle: \(idle), absolute: \(absolute))"
        }
    }
}

/// The two persisted limits of one session.
public struct SessionDeadlines: Sendable, Hashable {
    /// The sliding timeout in milliseconds: integer arithmetic on the hot path, where `Duration`
    /// would cost 128-bit multiplications on every check.
    private let idleMilliseconds: Int64?

    /// The fixed deadline, or nil.
    public let absoluteExpiresAt: SessionInstant?

    /// The sliding timeout, or nil.
    public var idleTimeout: Duration? { idleMilliseconds.map { .milliseconds($0) } }

    /// Creates the limits from a sliding timeout (kept in whole milliseconds, truncated) and a fixed
    /// deadline; nil for either means that limit does not apply.
    public init(idleTimeout: Duration?, absoluteExpiresAt: SessionInstant?) {
        self.idleMilliseconds = idleTimeout?.wholeMilliseconds
        self.absoluteExpiresAt = absoluteExpiresAt
    }

    /// The limits `policy` gives a session when applied at `now`.
    public init(_ policy: ExpirationPolicy, appliedAt now: SessionInstant) {
        self.init(idleTimeout: policy.idleTimeout, absoluteExpiresAt: policy.absoluteLifetime.map { now + $0 })
    }

    /// The sliding timeout in whole milliseconds, or nil.
    public var idleTimeoutMilliseconds: Int64? { idleMilliseconds }

    /// The effective deadline for a session last seen at `lastSeenAt`: `min(lastSeenAt + idle, absolute)`.
    public func expiresAt(lastSeenAt: SessionInstant) -> SessionInstant {
        guard let idle = idleMilliseconds else { return absoluteExpiresAt ?? .distantFuture }
        let (sum, overflow) = lastSeenAt.millisecondsSince1970.addingReportingOverflow(idle)
        let sliding = SessionInstant(millisecondsSince1970: overflow ? .max : sum)
        guard let absolute = absoluteExpiresAt else { return sliding }
        return min(sliding, absolute)
    }
}
