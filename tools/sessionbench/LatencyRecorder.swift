/// Per-operation latencies of one run, for percentiles.
struct LatencyRecorder: Sendable {
    private(set) var nanoseconds: [UInt64] = []

    init(capacity: Int = 1 << 16) {
        nanoseconds.reserveCapacity(capacity)
    }

    mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        nanoseconds.append(UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
    }

    mutating func merge(_ other: LatencyRecorder) {
        nanoseconds += other.nanoseconds
    }

    var count: Int { nanoseconds.count }

    /// The latency below which `fraction` of operations finished (nearest rank).
    func percentile(_ fraction: Double) -> Duration {
        guard !nanoseconds.isEmpty else { return .zero }
        let sorted = nanoseconds.sorted()
        let rank = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
        return .nanoseconds(Int64(sorted[rank]))
    }
}
