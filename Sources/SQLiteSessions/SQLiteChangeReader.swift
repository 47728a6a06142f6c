import Sessions

/// Follows `session_changes` of one database file on a connection of its own.
///
/// Each ``readChanges()`` first asks `PRAGMA data_version`, which "will be different if changes
/// were committed to the database by any other connection in the interim"
/// (<https://www.sqlite.org/pragma.html#pragma_data_version>). While nothing is committed anywhere,
/// polling costs that one cheap statement and reads no table.
final class SQLiteChangeReader: SessionChangeReader {
    private let connection: SQLiteConnection
    private var position: Int64
    private var lastDataVersion: Int64?
    private let maxPerRead: Int
    /// The previous read stopped at ``maxPerRead`` with more to come.
    private var pending = false
    private let pageSize = 1000

    init(connection: SQLiteConnection, position: Int64, maxPerRead: Int) {
        self.connection = connection
        self.position = position
        self.maxPerRead = max(1, maxPerRead)
    }

    func readChanges() throws -> SessionChangeBatch {
        let dataVersion = try connection.integer("PRAGMA data_version", "checking for changes") ?? 0
        if dataVersion == lastDataVersion && !pending { return SessionChangeBatch(changes: [], missedChanges: false) }
        lastDataVersion = dataVersion

        var changes: [SessionChange] = []
        var missed = false
        pending = false
        while true {
            let page = try connection.changes(after: position, limit: min(pageSize, maxPerRead - changes.count))
            // Sequence numbers have no holes, so a jump means entries were trimmed unseen.
            if let first = page.first, first.sequence > position + 1 { missed = true }
            changes += page
            if let last = page.last { position = last.sequence }
            if changes.count >= maxPerRead {
                pending = true
                break
            }
            if page.count < pageSize { break }
        }
        if changes.isEmpty {
            // Everything after our position may have been trimmed, leaving nothing to jump over.
            let last = try connection.lastChangeSequence()
            if last > position {
                missed = true
                position = last
            }
        }
        return SessionChangeBatch(changes: changes, missedChanges: missed)
    }
}
