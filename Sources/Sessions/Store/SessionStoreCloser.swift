public import Logging
public import ServiceLifecycle

/// Closes a store when the application's service group shuts down: pending writes finish, files
/// and connections are released.
///
/// A `ServiceGroup` shuts its services down in reverse order, so put this one *before* every
/// service that uses the store (the web server, the sweeper, the replicator): it then closes the
/// store after they have stopped.
///
/// ```swift
/// let services: [any Service] = [SessionStoreCloser(store: store), SessionSweeper(store: store)]
/// let app = Application(router: router, services: services)
/// ```
public struct SessionStoreCloser: Service {
    private let store: any SessionStore
    private let logger: Logger

    /// Creates a service that closes `store` at shutdown.
    ///
    /// - Parameters:
    ///   - store: The store to close.
    ///   - logger: Where the close, and a failure to close, is logged.
    public init(store: any SessionStore, logger: Logger = Logger(label: "sessions.store")) {
        self.store = store
        self.logger = logger
    }

    /// Waits for graceful shutdown (or cancellation), then closes the store.
    public func run() async throws {
        try? await gracefulShutdown()
        do {
            try await store.close()
            logger.debug("session store closed")
        } catch {
            logger.error("closing the session store failed", metadata: ["error": "\(error)"])
            throw error
        }
    }
}
