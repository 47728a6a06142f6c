#if Vapor
import Foundation
public import Sessions
public import Vapor

/// Vapor's `SessionDriver` over the request's `RequestSession`: what a handler does to
/// `req.session` becomes an edit of the session ``SessionStoreMiddleware`` loaded, written with
/// the request's other changes when the response is ready. It performs no I/O of its own.
///
/// - `req.session.data` is the session's data as a JSON object of strings; a change is recorded
///   as the keys that changed, so a save that meets another request's newer version merges into it;
/// - `req.session.authenticate(user)` (and Vapor's session authenticators) write a
///   `_<User>Session` key: a new value there is a login, which rotates the token and records
///   the user, so "your devices" and "log out everywhere" work with Vapor's authentication too;
///   removing it ends the login (the user is cleared and the token rotated);
/// - `req.session.destroy()` is a logout;
/// - an empty session is never stored.
public struct SessionStoreDriver: AsyncSessionDriver {
    /// Where sessions live.
    public let store: any SessionStore
    /// The cookie's name and attributes.
    public let cookie: SessionCookieOptions
    /// The cross-site request checks.
    public let csrf: CSRFProtection
    /// The largest form body read to find the CSRF token; nil for the routes' default
    /// (`app.routes.defaultMaxBodySize`).
    public let maxFormSize: Int?
    /// The session's user, read from `req.session.data`.
    public let userID: @Sendable (SessionData) -> String?
    /// Describes the requesting client; by default the peer address and the `User-Agent` header.
    public let client: @Sendable (Request) -> SessionClient?

    /// - Parameters:
    ///   - store: Where sessions live.
    ///   - cookie: The cookie's name and attributes; secure by default (`__Host-session`,
    ///     Secure, HttpOnly, SameSite=Lax, Path=/, a `Max-Age` until the session's absolute deadline).
    ///   - csrf: The cross-site request checks; on by default for every unsafe request.
    ///   - maxFormSize: The largest form body read to find the CSRF token (a larger one is a
    ///     413); nil for `app.routes.defaultMaxBodySize`.
    ///   - userID: The session's user, read from `req.session.data`; by default the value of the
    ///     `_<User>Session` key that `req.session.authenticate(_:)` writes.
    ///   - client: How to describe the requesting client; behind a proxy, read its forwarding header.
    public init(
        store: any SessionStore,
        cookie: SessionCookieOptions = .secure,
        csrf: CSRFProtection = .standard,
        maxFormSize: Int? = nil,
        userID: (@Sendable (SessionData) -> String?)? = nil,
        client: (@Sendable (Request) -> SessionClient?)? = nil
    ) {
        self.store = store
        self.cookie = cookie
        self.csrf = csrf
        self.maxFormSize = maxFormSize
        self.userID = userID ?? Self.authenticatedUser
        self.client = client ?? { $0.sessionClient }
    }

    /// The id Vapor holds for a session that exists only once the request session is written.
    private static let pending = SessionID(string: "pending")

    /// Returns the data of the session the middleware loaded (nil when there is none), remembering
    /// it so later changes can be told apart.
    public func readSession(_ sessionID: SessionID, for request: Request) async throws -> SessionData? {
        let session = try Self.requestSession(of: request)
        guard let stored = session.stored else { return nil }
        let data = VaporSessionData.decode(stored.data) ?? SessionData()
        request.storage[ReadKey.self] = data.snapshot
        return data
    }

    /// Records the keys the handler set (and a login) as edits of the request session, written with
    /// the response; returns a placeholder id, as the session exists only once it is written.
    public func createSession(_ data: SessionData, for request: Request) async throws -> SessionID {
        try record(data, for: request)
        return Self.pending
    }

    /// Records the keys that changed since the read (and any login or logout of a user) as edits of
    /// the request session, written with the response; returns `sessionID` unchanged.
    public func updateSession(_ sessionID: SessionID, to data: SessionData, for request: Request) async throws -> SessionID {
        try record(data, for: request)
        return sessionID
    }

    /// Logs the request session out: it is deleted at the end of the request and the cookie cleared.
    public func deleteSession(_ sessionID: SessionID, for request: Request) async throws {
        try Self.requestSession(of: request).logOut()
    }

    /// Turns what the handler did to `req.session.data` since it was read into edits.
    ///
    /// Vapor reports them only when the response is ready, after any `req.storeSession` call; a
    /// change that only removes keys from a session the handler has logged out (a session
    /// authenticator's `unauthenticate` after `req.storeSession.logOut()`) is dropped, so it does
    /// not create an empty session.
    private func record(_ data: SessionData, for request: Request) throws {
        let session = try Self.requestSession(of: request)
        let read = request.storage[ReadKey.self] ?? [:]
        let changes = VaporSessionData.changes(from: read, to: data.snapshot)
        guard !changes.isEmpty else { return }
        guard session.exists || changes.values.contains(where: { $0 != nil }) else { return }
        try session.edit { stored in
            var values = try VaporSessionData.values(in: stored.data)
            for (key, value) in changes { values[key] = value }
            stored.data = try SessionDataCoding.encode(values)
        }
        let (before, after) = (userID(SessionData(initialData: read)), userID(data))
        guard before != after else { return }
        if let after {
            try session.logIn(userID: after)
        } else {
            try session.edit { $0.userID = nil }
            try session.rotate()
        }
    }

    private static func requestSession(of request: Request) throws -> RequestSession {
        guard let session = request.storage[RequestSessionKey.self] else {
            throw SessionStoreError(
                .configurationError,
                "SessionStoreDriver runs inside SessionStoreMiddleware: install it with app.sessions.use(.store(store)), not app.sessions.middleware"
            )
        }
        return session
    }

    /// The value of the first `_<User>Session` key, a type name between `_` and `Session` (so
    /// `_previousSession` is not one): what `Session.authenticate(_:)` stores.
    @Sendable
    public static func authenticatedUser(_ data: SessionData) -> String? {
        data.snapshot
            .filter { key, _ in
                key.hasPrefix("_") && key.hasSuffix("Session") && key.count > 8
                    && key.dropFirst().first.map { $0.isUppercase } == true
            }
            .min { $0.key < $1.key }?
            .value
    }

    /// `req.session.data` as the driver read it, to tell what the handler changed.
    private struct ReadKey: StorageKey {
        typealias Value = [String: String]
    }
}
#endif
