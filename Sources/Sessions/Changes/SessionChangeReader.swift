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

    /// Creates a batch; each parameter sets the property of the same name.
    public init(changes: [SessionChange], missedChanges: Bool) {
        self.changes = changes
        self.missedChanges = missedChanges
    }
}
