/// A store that logs its changes in order, including changes other processes make to the same
/// data, so caches and event streams can follow them.
public protocol SessionChangeFeed: SessionStore {
    /// The ``SessionChange/origin`` this store instance puts on the changes it makes itself.
    var changeOrigin: Int64 { get }

    /// A reader positioned after the newest change: its first ``SessionChangeReader/readChanges()``
    /// returns what happened after this call.
    func makeChangeReader() throws -> any SessionChangeReader
}

/// Reads a change log forward. One caller at a time: keep it behind a lock or in one task.
public protocol SessionChangeReader: AnyObject {
    /// The changes since the previous call, oldest first.
    ///
    /// Must be cheap when nothing changed (for SQLite, one `PRAGMA data_version`), because
    /// callers poll it often.
    func readChanges() throws -> SessionChangeBatch
}

/// What one ``SessionChangeReader/readChanges()`` found.
public struct SessionChangeBatch: Sendable {
    /// New changes, oldest first.
    public var changes: [SessionChange]
    /// True when entries were trimmed from the log before this reader saw them: whatever the
    /// reader derived from the log (a cache) must be rebuilt.
    public var missedChanges: Bool

    public init(changes: [SessionChange], missedChanges: Bool) {
        self.changes = changes
        self.missedChanges = missedChanges
    }
}
