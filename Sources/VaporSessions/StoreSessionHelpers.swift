#if Vapor
public import Sessions
public import Vapor

/// What a handler does with a session kept by ``StoreSessionDriver``, beside Vapor's own
/// `req.session`: `req.storeSession.logIn(userID:)`, `rotate()`, `logOutEverywhere()`, and a
/// "your devices" page.
public struct StoreSessionHelpers: Sendable {
    let request: Request

    private var store: any SessionStore {
        get throws {
            guard let driver = request.application.sessions.driver as? StoreSessionDriver else {
                throw Abort(.internalServerError, reason: "req.storeSession needs app.sessions.use(.store(store))")
            }
            return driver.store
        }
    }

    /// The session as the store returned it for this request; nil when there is none yet.
    public var stored: Sessions.Session? { request.storeSessionState.current?.session }

    /// The signed-in user when the request arrived; nil when anonymous.
    public var userID: String? { stored?.userID }

    /// Logs `userID` in: when the response is written the session gets a new token (the cookie the
    /// request came with stops working at once) and records the user, in one write; without a
    /// session, one is created. Works through Vapor's `req.session.id`, so Vapor's middleware
    /// sends the new cookie.
    public func logIn(userID: String) throws {
        try (store).policy.validate(userID: userID)
        schedule(PendingLogin(userID: userID, from: request.storeSessionState.current?.token))
    }

    /// Gives the session a new token when the response is written, keeping its contents (after a
    /// privilege change). Does nothing when there is no stored session.
    public func rotate() {
        guard let token = request.storeSessionState.current?.token else { return }
        schedule(PendingLogin(userID: nil, from: token))
    }

    private func schedule(_ login: PendingLogin) {
        request.storeSessionState.setPendingLogin(login)
        // With no id, Vapor's middleware asks the driver to create the session, and the driver
        // carries out the login there, with the data the handler left.
        request.session.id = nil
    }

    /// Deletes every session of the signed-in user now, this one included, and ends this one.
    ///
    /// - Returns: How many live sessions were deleted.
    @discardableResult
    public func logOutEverywhere() async throws -> Int {
        guard let user = userID else {
            request.session.destroy()
            return 0
        }
        let count = try await store.deleteSessions(forUser: user)
        request.session.destroy()
        return count
    }

    /// The signed-in user's live sessions, oldest first; empty when anonymous.
    public func sessionsOfUser() async throws -> [Sessions.Session] {
        guard let user = userID else { return [] }
        return try await store.sessions(forUser: user)
    }

    /// Signs out one of the signed-in user's sessions (only the user's own); revoking this one
    /// ends it.
    ///
    /// - Returns: Whether a live session was revoked.
    @discardableResult
    public func revoke(_ hash: TokenHash) async throws -> Bool {
        guard let user = userID else { return false }
        let revoked = try await store.revokeSession(hash, ofUser: user)
        if revoked, hash == stored?.tokenHash { request.session.destroy() }
        return revoked
    }

    /// Whether `session` (from ``sessionsOfUser()``) is this request's.
    public func isCurrent(_ session: Sessions.Session) -> Bool {
        stored.map { $0.id == session.id && $0.tokenHash == session.tokenHash } ?? false
    }
}

extension Request {
    /// Logging in, rotation and the user's sessions for a session kept by ``StoreSessionDriver``.
    public var storeSession: StoreSessionHelpers { StoreSessionHelpers(request: self) }
}
#endif
