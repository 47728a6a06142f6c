/// What ``SessionStoreAdministration/list(_:)`` returns: a filter and a page position.
public struct SessionQuery: Sendable, Hashable {
    /// Only this user's sessions; nil for all.
    public var userID: String?
    /// Include sessions that have expired but are not purged yet.
    public var includeExpired: Bool
    /// Continue after this position; nil for the first page.
    public var after: SessionCursor?
    /// At most this many sessions per page.
    public var limit: Int

    /// Creates a query; each parameter sets the property of the same name.
    public init(userID: String? = nil, includeExpired: Bool = false, after: SessionCursor? = nil, limit: Int = 100) {
        self.userID = userID
        self.includeExpired = includeExpired
        self.after = after
        self.limit = limit
    }
}

/// An opaque position in a listing. Pass ``SessionPage/next`` back as ``SessionQuery/after``.
///
/// The text is store-specific (a session id for SQLite and memory, a SCAN cursor for Redis) and
/// safe to put in a URL.
public struct SessionCursor: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// One page of a listing.
public struct SessionPage: Sendable {
    /// The sessions on this page.
    public var sessions: [Session]
    /// Where the next page starts; nil when this was the last page.
    public var next: SessionCursor?

    /// Creates a page; each parameter sets the property of the same name.
    public init(sessions: [Session], next: SessionCursor?) {
        self.sessions = sessions
        self.next = next
    }
}
