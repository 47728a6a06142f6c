package import Sessions
import Synchronization

/// A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014) whose readings are
/// also this host's session selectors and message ids.
///
/// A reading is one `Int64`: `milliseconds << 20 | counter << 10 | host`. It stays within a few
/// milliseconds of the wall clock, yet every reading is greater than every reading before it on
/// this host and than every reading it has ``observe(_:)``d from another host. Its low ten bits
/// name the host, so two hosts never hand out the same reading, and readings order writes
/// to one session made on different hosts: later (in this causal sense) first, then by host.
///
/// - Session selectors (the rows' ids and the tokens' first 8 bytes) are readings, so rows
///   append and tokens minted on different hosts do not claim the same row.
/// - Every write of a session's contents is stamped with a reading (`sessions.clock`), which is
///   what several hosts compare to agree on one version ("last writer wins").
/// - Message ids are readings, so the logs of one session written on several hosts merge in order.
///
/// With 43 bits of milliseconds a reading stays below 2^63 until the year 2248; 1024 readings per
/// millisecond per host, and a burst beyond that borrows from the next millisecond. Readings are
/// above ``SessionSQL/legacyIDLimit``, where sessions found by hash live.
package final class HybridClock: Sendable {
    /// Bits of a reading below the milliseconds.
    package static let millisecondShift: Int64 = 20
    /// Bits of a reading that name the host.
    package static let hostBits: Int64 = 10
    /// The largest host tag.
    package static let maxHostTag: Int64 = (1 << hostBits) - 1

    /// How far ahead of the wall clock an observed reading may be and still move this clock;
    /// a host whose clock runs further ahead is not followed, so it cannot drag every host's
    /// readings (and selectors) into its future.
    package static let maxForwardDrift: Int64 = 60_000

    private let last = Atomic<Int64>(0)
    private let tag = Atomic<Int64>(0)

    /// - Parameter hostTag: This host's tag, 0...1023.
    package init(hostTag: Int64 = 0) {
        tag.store(hostTag & Self.maxHostTag, ordering: .relaxed)
    }

    /// This host's tag: the low bits of its readings.
    package var hostTag: Int64 {
        get { tag.load(ordering: .relaxed) }
        set { tag.store(newValue & Self.maxHostTag, ordering: .relaxed) }
    }

    /// A reading greater than any before, at or after `now`.
    package func next(at now: SessionInstant) -> Int64 {
        let floor = max(SessionSQL.legacyIDLimit, max(0, now.millisecondsSince1970) << Self.millisecondShift)
        let host = hostTag
        var current = last.load(ordering: .relaxed)
        while true {
            // The counter part of `current` plus one; carrying into the milliseconds is fine.
            let advanced = ((current >> Self.hostBits) + 1) << Self.hostBits
            let candidate = max(floor, advanced) | host
            let (exchanged, original) = last.compareExchange(expected: current, desired: candidate, ordering: .relaxed)
            if exchanged { return candidate }
            current = original
        }
    }

    /// Takes note of a reading made elsewhere (another host's write, or an id already in the
    /// file), so that later readings here come after it.
    ///
    /// A reading more than ``maxForwardDrift`` ahead of `now` is ignored.
    package func observe(_ reading: Int64, now: SessionInstant) {
        let limit = (now.millisecondsSince1970 &+ Self.maxForwardDrift) << Self.millisecondShift
        guard reading <= limit else { return }
        advance(past: reading)
    }

    /// Makes later readings come after `reading`, however far ahead it is: for ids this file
    /// already holds.
    package func advance(past reading: Int64) {
        var current = last.load(ordering: .relaxed)
        while current < reading {
            let (exchanged, original) = last.compareExchange(expected: current, desired: reading, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// The milliseconds part of a reading.
    package static func milliseconds(of reading: Int64) -> Int64 { reading >> millisecondShift }

    /// The host tag part of a reading (or of a token's selector).
    package static func hostTag(of reading: Int64) -> Int64 { reading & maxHostTag }

    /// A stable tag for a host name (FNV-1a, folded to 10 bits): what a host uses until the
    /// shared registry in Redis has given it one of its own.
    package static func tag(forHostName name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int64(hash % UInt64(maxHostTag + 1))
    }
}
