public import Logging
import Metrics
public import ServiceLifecycle

/// Deletes expired sessions in the background: a `Service` for a `ServiceGroup`, or call ``run()``
/// yourself.
///
/// Each sweep calls ``SessionStoreAdministration/purgeExpired(limit:)`` in chunks of ``Configuration/chunkSize``
/// (for SQLite, one short transaction each through the `expires_at` index) and yields between
/// chunks, so readers and writers are never held up for long. Expired sessions are invisible to
/// every operation whether or not they were swept; sweeping only reclaims space.
///
/// ```swift
/// let sweeper = SessionSweeper(store: store, configuration: .init(interval: .seconds(60)))
/// let group = ServiceGroup(services: [app, sweeper], logger: logger)
/// try await group.run()
/// ```
public struct SessionSweeper: Service {
    /// When and how much to sweep.
    public struct Configuration: Sendable {
        /// Time between sweeps; zero turns sweeping off.
        public var interval: Duration
        /// Sessions deleted per purge call. The SQLite store splits a call into transactions
        /// bounded by time that step aside for other writes, so a large chunk never stalls logins.
        public var chunkSize: Int
        /// Where sweep results and failures are reported.
        public var logger: Logger

        /// Creates a configuration; each parameter sets the property of the same name.
        public init(interval: Duration = .seconds(60), chunkSize: Int = 10_000, logger: Logger = Logger(label: "sessions.sweeper")) {
            self.interval = interval
            self.chunkSize = chunkSize
            self.logger = logger
        }
    }

    private let store: any SessionStoreAdministration
    private let configuration: Configuration
    private let purged: Counter

    /// Creates a sweeper that purges `store`'s expired sessions as `configuration` says, counting
    /// them in the `sessions_purged_total` metric.
    public init(store: any SessionStoreAdministration, configuration: Configuration = Configuration()) {
        self.store = store
        self.configuration = configuration
        self.purged = Counter(label: "sessions_purged_total")
    }

    /// Sweeps every ``Configuration/interval`` until cancelled or the service group shuts down.
    /// With an interval of zero it does nothing but wait for shutdown.
    ///
    /// A failed sweep is logged and retried at the next interval; it never ends the service.
    public func run() async throws {
        guard configuration.interval > .zero else {
            try? await gracefulShutdown()
            return
        }
        let store = self.store
        let configuration = self.configuration
        let purged = self.purged
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let count = try await Self.sweep(store, chunkSize: configuration.chunkSize, counter: purged)
                    if count > 0 { configuration.logger.debug("purged expired sessions", metadata: ["count": "\(count)"]) }
                } catch is CancellationError {
                    return
                } catch {
                    configuration.logger.error("purging expired sessions failed", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: configuration.interval)
                } catch {
                    return
                }
            }
        }
    }

    /// Deletes every session expired now, chunk by chunk.
    ///
    /// - Returns: How many were deleted.
    @discardableResult
    public func sweep() async throws -> Int {
        try await Self.sweep(store, chunkSize: configuration.chunkSize, counter: purged)
    }

    private static func sweep(_ store: any SessionStoreAdministration, chunkSize: Int, counter: Counter) async throws -> Int {
        var total = 0
        while true {
            try Task.checkCancellation()
            let count = try await store.purgeExpired(limit: chunkSize)
            total += count
            counter.increment(by: count)
            if count < chunkSize { return total }
            await Task.yield()
        }
    }
}
