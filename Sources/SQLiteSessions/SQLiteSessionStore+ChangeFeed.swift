public import Sessions

extension SQLiteSessionStore: SessionChangeFeed {
    public var changeOrigin: Int64 { origin }

    /// A reader on a new connection, positioned after the newest change.
    public func makeChangeReader() throws -> any SessionChangeReader {
        try makeChangeReader(after: nil)
    }

    /// A reader on a new connection.
    ///
    /// - Parameters:
    ///   - sequence: Read changes after this position; nil for after the newest change.
    ///   - maxChangesPerRead: The most changes one `SessionChangeReader.readChanges()` returns;
    ///     the next call continues where it stopped.
    public func makeChangeReader(after sequence: Int64?, maxChangesPerRead: Int = .max) throws -> any SessionChangeReader {
        try checkOpen()
        let connection = try SQLiteConnection(path: path, mode: .readWrite(create: false), busyTimeout: configuration.busyTimeout, vfs: configuration.vfs)
        try connection.execute("PRAGMA query_only = ON", "configuring a change reader")
        return SQLiteChangeReader(
            connection: connection,
            position: try sequence ?? connection.lastChangeSequence(),
            maxPerRead: maxChangesPerRead
        )
    }
}
