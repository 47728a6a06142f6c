/// Follows an ``InMemorySessionStore``'s change log.
final class InMemoryChangeReader: SessionChangeReader {
    private let store: InMemorySessionStore
    private var position: Int64

    init(store: InMemorySessionStore, position: Int64) {
        self.store = store
        self.position = position
    }

    func readChanges() throws -> SessionChangeBatch {
        let batch = store.changes(after: position, limit: .max)
        if let last = batch.changes.last { position = last.sequence }
        return batch
    }
}
