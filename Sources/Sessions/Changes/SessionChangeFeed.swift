/// A store that logs its changes in order, including changes other processes make to the same
/// data, so caches and event streams can follow them.
public protocol SessionChangeFeed: SessionStore {
    /// The ``SessionChange/origin`` this store instance puts on the changes it makes itself.
    var changeOrigin: Int64 { get }

    /// A reader positioned after the newest change: its first ``SessionChangeReader/readChanges()``
    /// returns what happened after this call.
    func makeChangeReader() throws -> any SessionChangeReader
}
