public import CoreMetrics
public import Logging
public import Tracing

extension CachedSessionStore {
    /// Sizes and timings of the cache.
    public struct Configuration: Sendable {
        /// The most sessions held.
        public var maxEntries: Int
        /// The most bytes of session data (data, metadata, user id and client strings) held.
        public var maxBytes: Int
        /// The most negative entries (unknown tokens) and tombstones (deleted tokens) held.
        public var maxNegativeEntries: Int
        /// How long "no such session" is remembered for a token that was never seen. Deleted and
        /// rotated-away tokens are remembered until evicted: they can never become valid again.
        public var negativeTTL: Duration
        /// The longest a change made by another process (another service instance, `sessionctl`,
        /// the `sqlite3` shell) can go unnoticed: loads check the backing store's change log when
        /// this much time has passed since the last check.
        public var coherenceInterval: Duration
        /// Lock shards; rounded up to a power of two.
        public var shards: Int
        /// Where failed write-backs and coherence problems are reported.
        public var logger: Logger
        /// Prefix of the swift-metrics labels (`<prefix>_hits_total`, ...).
        public var metricsPrefix: String
        /// Where metrics go; nil for the process-wide `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?
        /// Where spans go; nil for the process-wide `InstrumentationSystem.tracer`.
        public var tracer: (any Tracer)?

        /// Creates a configuration; each parameter sets the property of the same name.
        public init(
            maxEntries: Int = 100_000,
            maxBytes: Int = 256 << 20,
            maxNegativeEntries: Int = 10_000,
            negativeTTL: Duration = .seconds(2),
            coherenceInterval: Duration = .milliseconds(100),
            shards: Int = 16,
            logger: Logger = Logger(label: "sessions.cache"),
            metricsPrefix: String = "sessions_cache",
            metricsFactory: (any MetricsFactory)? = nil,
            tracer: (any Tracer)? = nil
        ) {
            self.maxEntries = maxEntries
            self.maxBytes = maxBytes
            self.maxNegativeEntries = maxNegativeEntries
            self.negativeTTL = negativeTTL
            self.coherenceInterval = coherenceInterval
            self.shards = shards
            self.logger = logger
            self.metricsPrefix = metricsPrefix
            self.metricsFactory = metricsFactory
            self.tracer = tracer
        }
    }
}
