public import Foundation

/// A user and how many live sessions they have.
public struct UserSessionCount: Sendable, Hashable, Codable {
    /// The user's id.
    public var userID: String
    /// How many live sessions the user has.
    public var sessions: Int

    /// Creates a count; each parameter sets the property of the same name.
    public init(userID: String, sessions: Int) {
        self.userID = userID
        self.sessions = sessions
    }
}

/// What a store's `distribution(of:boundaries:)` measures over its live sessions.
public enum SessionMeasure: Sendable, Hashable {
    /// Time since creation.
    case age
    /// Time left before the deadline.
    case timeToLive
}

/// Figures about a store's change log (`session_changes`).
public struct ChangeLogSummary: Sendable, Hashable, Codable {
    /// How many entries the log holds.
    public var entries: Int
    /// The sequence number of the oldest entry; nil when the log is empty.
    public var oldestSequence: Int64?
    /// The sequence number of the newest entry; nil when the log is empty.
    public var newestSequence: Int64?
    /// When the oldest entry was written; nil when the log is empty.
    public var oldestAt: SessionInstant?
    /// When the newest entry was written; nil when the log is empty.
    public var newestAt: SessionInstant?
    /// Entries per kind (`created`, `deleted`...).
    public var kinds: [String: Int]

    /// Creates a summary; each parameter sets the property of the same name.
    public init(
        entries: Int, oldestSequence: Int64?, newestSequence: Int64?, oldestAt: SessionInstant?, newestAt: SessionInstant?,
        kinds: [String: Int]
    ) {
        self.entries = entries
        self.oldestSequence = oldestSequence
        self.newestSequence = newestSequence
        self.oldestAt = oldestAt
        self.newestAt = newestAt
        self.kinds = kinds
    }
}

/// What a store's `sealedDataCheck(using:)` found: how many stored values the keys open.
public struct SealedDataCheck: Sendable, Hashable, Codable {
    /// Counts of stored values of one kind (session data or message contents): how many the keys
    /// open, how many are plain, how many the keys cannot open.
    public struct Counts: Sendable, Hashable, Codable {
        /// Sealed, and the keys open it.
        public var opened = 0
        /// Not sealed.
        public var plain = 0
        /// Sealed, and the keys cannot open it: another key, or damaged.
        public var unopenable = 0

        /// Creates counts that are all zero.
        public init() {}

        /// Counts `stored` as plain, opened by `encryption`, or unopenable.
        public mutating func add(_ stored: Data, opening encryption: SessionEncryption) {
            if !SessionEncryption.isSealed(stored) {
                plain += 1
            } else if (try? encryption.open(stored)) != nil {
                opened += 1
            } else {
                unopenable += 1
            }
        }
    }

    /// Counts over the sessions' data.
    public var sessions = Counts()
    /// Counts over the messages' contents.
    public var messages = Counts()

    /// Creates a check with every count at zero.
    public init() {}
}

/// What a store's `verification()` found: the invariants that do not hold, and what is worth
/// knowing but breaks nothing.
public struct SessionStoreVerification: Sendable, Hashable, Codable {
    /// Broken invariants: the file needs attention. Empty when everything holds.
    public var problems: [String]
    /// Facts worth knowing that break nothing, such as change-log times that go back or autovacuum falling behind.
    public var notes: [String]

    /// Creates a verification result; each parameter sets the property of the same name.
    public init(problems: [String], notes: [String]) {
        self.problems = problems
        self.notes = notes
    }
}
