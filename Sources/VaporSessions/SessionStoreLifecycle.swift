#if Vapor
import Logging
public import ServiceLifecycle
public import Sessions
import Synchronization
public import Vapor

/// Runs a store's background services (the sweeper, the replicator) while a Vapor application
/// runs, and closes the store when it shuts down. `app.sessions.use(.store(store, services:))`
/// installs it; on its own:
///
/// ```swift
/// app.lifecycle.use(SessionStoreLifecycle(store: setup.store, services: setup.services))
/// ```
///
/// The services run in a `ServiceGroup` that is shut down gracefully with the application, so a
/// replicator sends what is committed before it stops; the store is closed after them.
public final class SessionStoreLifecycle: LifecycleHandler {
    private let store: any SessionStore
    private let services: [any Service]
    private let running = Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>(nil)

    /// - Parameters:
    ///   - store: Closed when the application shuts down.
    ///   - services: Run from boot to shutdown; a `SessionStoreCloser` among them is
    ///     not needed (the store is closed here) but harmless.
    public init(store: any SessionStore, services: [any Service]) {
        self.store = store
        self.services = services
    }

    public func didBootAsync(_ application: Application) async throws {
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [], cancellationSignals: [], logger: application.logger)
        let task = Task { try await group.run() }
        running.withLock { $0 = (group, task) }
    }

    public func shutdownAsync(_ application: Application) async {
        if let (group, task) = running.withLock({ running in defer { running = nil }; return running }) {
            await group.triggerGracefulShutdown()
            do {
                try await task.value
            } catch {
                application.logger.error("a session store service failed", metadata: ["error": "\(error)"])
            }
        }
        do {
            try await store.close()
        } catch {
            application.logger.error("closing the session store failed", metadata: ["error": "\(error)"])
        }
    }
}
#endif
