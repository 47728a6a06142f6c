public import Sessions

extension SQLiteSessionStore: SessionChangeFeed {
    public var changeOrigin: Int64 { origin }

    /// A reader on a new connection, positioned after the newest change.
    public func makeChangeReader() throws -> any SessionChangeReader {
        try checkOpen()
        let connection = try SQLiteConnection(path: path, mode: .readWrite(create: false), busyTimeout: configuration.busyTimeout)
        try connection.execute("PRAGMA query_only = ON", "configuring a change reader")
        return SQLiteChangeReader(connection: connection, position: try connection.lastChangeSequence())
    }
}
