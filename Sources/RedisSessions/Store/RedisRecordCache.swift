import Sessions
import Synchronization

/// The exact text of records this store last read or wrote, so a write can compare-and-set
/// against it without reading the record again: a request that loads and then saves a session
/// costs two round trips instead of three.
///
/// Only ever a guess: nothing is served from it. A write that finds the record changed (another
/// process wrote it) forgets the entry and reads the record as before.
final class RedisRecordCache: Sendable {
    struct Record: Sendable {
        /// The text as stored, compared exactly by the scripts.
        let text: String
        /// That text decoded, data opened.
        let session: Session
    }

    private let records: Mutex<LRUCache<TokenHash, Record>>

    /// - Parameters:
    ///   - maxEntries: The most records kept.
    ///   - maxBytes: The most record text kept, counted twice (text and decoded data).
    init(maxEntries: Int = 4096, maxBytes: Int = 8 << 20) {
        records = Mutex(LRUCache(maxCount: maxEntries, maxCost: maxBytes))
    }

    func record(for hash: TokenHash) -> Record? {
        records.withLock { $0.peek(hash) }
    }

    func remember(_ text: String, _ session: Session) {
        records.withLock { _ = $0.insert(Record(text: text, session: session), forKey: session.tokenHash, cost: 2 * text.utf8.count) }
    }

    func forget(_ hash: TokenHash) {
        records.withLock { _ = $0.removeValue(forKey: hash) }
    }
}
