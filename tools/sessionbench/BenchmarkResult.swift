/// One row of the benchmark table.
struct BenchmarkResult: Codable, Sendable {
    var workload: String
    var store: String
    var concurrency: Int
    var durability: String?
    var operations: Int
    var seconds: Double
    var opsPerSecond: Double
    var p50Microseconds: Double
    var p99Microseconds: Double
    var note: String?
    /// Figures a workload reports beside its rate (rows written, bytes per session, …).
    var extra: [String: Double]

    init(
        workload: String,
        store: String,
        concurrency: Int,
        durability: String? = nil,
        operations: Int,
        elapsed: Duration,
        latencies: LatencyRecorder,
        note: String? = nil,
        extra: [String: Double] = [:]
    ) {
        self.init(
            workload: workload, store: store, concurrency: concurrency, durability: durability, operations: operations,
            seconds: elapsed.seconds,
            p50Microseconds: latencies.percentile(0.50).microseconds, p99Microseconds: latencies.percentile(0.99).microseconds,
            note: note, extra: extra
        )
    }

    /// A row whose percentiles were measured elsewhere (by wrk, for the HTTP rows).
    init(
        workload: String,
        store: String,
        concurrency: Int,
        durability: String? = nil,
        operations: Int,
        seconds: Double,
        p50Microseconds: Double,
        p99Microseconds: Double,
        note: String? = nil,
        extra: [String: Double] = [:]
    ) {
        self.workload = workload
        self.store = store
        self.concurrency = concurrency
        self.durability = durability
        self.operations = operations
        self.seconds = seconds
        self.opsPerSecond = Double(operations) / max(seconds, 1e-9)
        self.p50Microseconds = p50Microseconds
        self.p99Microseconds = p99Microseconds
        self.note = note
        self.extra = extra
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    var microseconds: Double { seconds * 1e6 }
}
