#if Vapor
public import ServiceLifecycle
public import Sessions
public import Vapor

extension Application.Sessions.Provider {
    /// Sessions in `store`, installed in one call:
    ///
    /// ```swift
    /// let setup = try SessionStoreFactory.make()
    /// try app.sessions.use(.store(setup.store, services: setup.services))
    /// ```
    ///
    /// It registers ``SessionStoreDriver`` as the session driver (so `req.session` and
    /// `SessionAuthenticatable` work), adds ``SessionStoreMiddleware`` to `app.middleware` at this
    /// point (call it before adding session authenticators), and runs `services` from boot to
    /// shutdown with ``SessionStoreLifecycle``, which then closes the store.
    ///
    /// - Parameters:
    ///   - store: Where sessions live.
    ///   - services: The store's background services (the sweeper, a replicator).
    ///   - cookie: The cookie's name and attributes; secure by default.
    ///   - csrf: The cross-site request checks; on by default for every unsafe request.
    ///   - maxFormSize: The largest form body read to find the CSRF token; nil for
    ///     `app.routes.defaultMaxBodySize`.
    ///   - installsMiddleware: false to add `app.sessions.storeMiddleware` to route groups yourself
    ///     (installed on both, the outer one does the work).
    ///   - userID: The session's user, read from `req.session.data`; by default the key
    ///     `req.session.authenticate(_:)` writes.
    ///   - client: How to describe the requesting client; by default the peer address and the
    ///     `User-Agent` header (behind a proxy, read its forwarding header).
    /// - Throws: `SessionStoreError.Code.configurationError` for cookie options a
    ///   browser would refuse.
    public static func store(
        _ store: any SessionStore,
        services: [any Service] = [],
        cookie: SessionCookieOptions = .secure,
        csrf: CSRFProtection = .standard,
        maxFormSize: Int? = nil,
        installsMiddleware: Bool = true,
        userID: (@Sendable (SessionData) -> String?)? = nil,
        client: (@Sendable (Request) -> SessionClient?)? = nil
    ) throws -> Self {
        let middleware = try SessionStoreMiddleware(store: store, cookie: cookie, csrf: csrf, maxFormSize: maxFormSize, userID: userID, client: client)
        return .init { app in
            app.sessions.use { _ in middleware.driver }
            app.sessions.configuration = SessionsConfiguration(cookieName: cookie.name) { HTTPCookies.Value(string: $0.string) }
            if installsMiddleware { app.middleware.use(middleware) }
            app.lifecycle.use(SessionStoreLifecycle(store: store, services: services))
        }
    }
}

extension Application.Sessions {
    /// The middleware for the store registered with `.store(_:…)`, for route groups.
    ///
    /// - Throws: `SessionStoreError.Code.configurationError` when the application's
    ///   session driver is not ``SessionStoreDriver``.
    public var storeMiddleware: SessionStoreMiddleware {
        get throws {
            guard let driver = driver as? SessionStoreDriver else {
                throw SessionStoreError(.configurationError, "app.sessions.storeMiddleware needs app.sessions.use(.store(store)) first")
            }
            return try SessionStoreMiddleware(driver: driver)
        }
    }
}
#endif
