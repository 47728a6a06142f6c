import Sessions
import Synchronization

/// Hands out the selectors of new sessions: their row ids and their tokens' first 8 bytes.
///
/// A selector is the creation time in milliseconds shifted left 20 bits, raised past the last
/// one handed out, so selectors ascend (a new row goes at the end of the table and of every
/// time-ordered index) and never repeat within this process. Another process writing to the same
/// file may take one first; the writer then re-mints from the file's highest id
/// (``SQLiteConnection/isTakenID(_:)``). Shifting by 20 bits leaves room for a million sessions
/// per millisecond and keeps selectors below 2^63 until the year 2248; every selector is above
/// ``SessionSQL/legacyIDLimit``, so new sessions never enter the index of older ones.
final class SessionSelectors: Sendable {
    private let last = Atomic<Int64>(0)

    /// A selector for a session created at `now`.
    func next(at now: SessionInstant) -> Int64 {
        let floor = max(SessionSQL.legacyIDLimit, max(0, now.millisecondsSince1970) << 20)
        var current = last.load(ordering: .relaxed)
        while true {
            let candidate = max(floor, current &+ 1)
            let (exchanged, original) = last.compareExchange(expected: current, desired: candidate, ordering: .relaxed)
            if exchanged { return candidate }
            current = original
        }
    }

    /// Notes that the file already holds `id`, so later selectors come after it.
    func skip(past id: Int64) {
        var current = last.load(ordering: .relaxed)
        while current < id {
            let (exchanged, original) = last.compareExchange(expected: current, desired: id, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
