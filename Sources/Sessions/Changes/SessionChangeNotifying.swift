import Synchronization

/// What a store tells a cache in front of it as soon as it knows, sooner than the cache's own
/// look at the change log would find out (``SessionChangeNotifying``).
public enum SessionChangeHint: Sendable, Hashable {
    /// This token must not be served any more: it was deleted, revoked or rotated away elsewhere.
    case revoked(TokenHash)
    /// This session changed elsewhere (saved, touched, rotated in): drop the copy in memory;
    /// the next load reads it again. For stores whose hints name what changed (PostgreSQL).
    case stale(TokenHash)
    /// The change log has entries from elsewhere: read them now.
    case changed
    /// Forget everything held in memory: the store's view changed wholesale (it copied
    /// everything again, or began or stopped refusing some sessions).
    case reset
}

/// A store that pushes ``SessionChangeHint``s to whoever listens, so a cache in front of it
/// drops what changed elsewhere within microseconds of the store learning of it: the Redis
/// change stream of several hosts, PostgreSQL's `NOTIFY`.
public protocol SessionChangeNotifying: SessionStore {
    /// Calls `listener` with every hint from now on, on whatever thread the store learns it.
    /// The listener must be quick and must not block.
    func addChangeListener(_ listener: @escaping @Sendable (SessionChangeHint) -> Void)
}

/// The listeners of a ``SessionChangeNotifying`` store.
public final class SessionChangeListeners: Sendable {
    private let listeners = Mutex<[@Sendable (SessionChangeHint) -> Void]>([])

    /// Creates an empty set of listeners.
    public init() {}

    /// Adds a listener.
    public func add(_ listener: @escaping @Sendable (SessionChangeHint) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// Tells every listener.
    public func notify(_ hint: SessionChangeHint) {
        for listener in listeners.withLock({ $0 }) { listener(hint) }
    }
}
