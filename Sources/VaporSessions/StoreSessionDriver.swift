#if Vapor
import Foundation
public import Sessions
import Tracing
public import Vapor

/// A Vapor `SessionDriver` that keeps sessions in a ``Sessions/SessionStore``: register it with
/// `app.sessions.use(.store(store))` and Vapor's `req.session`, `SessionsMiddleware` and
/// `SessionAuthenticatable` work on it unchanged.
///
/// What it does better than Vapor's own drivers, within what `SessionsMiddleware` lets a driver do:
/// - a cookie that is not a token is turned away before any I/O, and only the token's SHA-256 is
///   stored, with expiry columns, a per-user index and cleanup (`SessionSweeper`);
/// - `updateSession` writes only when the data differs from what was read, as a compare-and-swap
///   save whose changes are merged into a fresh read when another request saved first (Vapor's
///   middleware calls it on every response);
/// - an empty session is never stored, so a request with an unknown cookie leaves no row;
/// - a login rotates the token: ``StoreSessionHelpers/logIn(userID:)``, or Vapor's own
///   `req.session.authenticate(user)`, whose `_<User>Session` key the driver records as the
///   session's user, so `sessions(forUser:)` and "log out everywhere" work with Vapor's
///   session authenticators too.
///
/// What only ``StoreSessionsMiddleware`` avoids: Vapor's middleware re-sends the cookie on every
/// response and clears it without its domain.
public struct StoreSessionDriver: AsyncSessionDriver {
    /// Where sessions live.
    public let store: any SessionStore
    /// How many times a save that meets a newer version is merged into a fresh read and retried.
    public let maxAttempts: Int
    private let userID: @Sendable (SessionData) -> String?

    /// - Parameters:
    ///   - store: Where sessions live.
    ///   - userID: The session's user, read from Vapor's session data; by default the value of a
    ///     `_<User>Session` key, which `Session.authenticate(_:)` writes.
    public init(
        store: any SessionStore,
        maxAttempts: Int = SessionConflictRetry.defaultAttempts,
        userID: (@Sendable (SessionData) -> String?)? = nil
    ) {
        self.store = store
        self.maxAttempts = maxAttempts
        self.userID = userID ?? Self.authenticatedUser
    }

    // Each method turns a store error into Vapor's `Abort` with a fitting status (409, 413, 503).

    public func createSession(_ data: SessionData, for request: Request) async throws -> SessionID {
        do {
            return try await request.inItsTrace { try await create(data, for: request) }
        } catch let error as SessionStoreError {
            throw error.abort(logger: request.logger)
        }
    }

    private func create(_ data: SessionData, for request: Request) async throws -> SessionID {
        let state = request.storeSessionState
        let contents = try VaporSessionData(data)
        if let login = state.takePendingLogin() {
            let issued = try await logIn(login, contents: contents, state: state, request: request)
            return SessionID(string: issued.token.stringValue)
        }
        // An empty session is never stored: Vapor creates one for every request that touched
        // `req.session` or came with an unknown cookie, and such a row would hold nothing.
        guard !data.snapshot.isEmpty else {
            return SessionID(string: SessionToken.generate().stringValue)
        }
        let issued = try await store.create(userID: userID(data), data: contents.bytes, client: request.sessionClient)
        state.remember(issued.token, issued.session)
        return SessionID(string: issued.token.stringValue)
    }

    public func readSession(_ sessionID: SessionID, for request: Request) async throws -> SessionData? {
        do {
            return try await request.inItsTrace { try await read(sessionID, for: request) }
        } catch let error as SessionStoreError {
            throw error.abort(logger: request.logger)
        }
    }

    private func read(_ sessionID: SessionID, for request: Request) async throws -> SessionData? {
        guard let token = try? SessionToken(sessionID.string) else { return nil }
        guard let session = try await store.load(token, client: request.sessionClient) else { return nil }
        request.storeSessionState.remember(token, session)
        return VaporSessionData.decode(session.data)
    }

    public func updateSession(_ sessionID: SessionID, to data: SessionData, for request: Request) async throws -> SessionID {
        do {
            return try await request.inItsTrace { try await update(sessionID, to: data, for: request) }
        } catch let error as SessionStoreError {
            throw error.abort(logger: request.logger)
        }
    }

    private func update(_ sessionID: SessionID, to data: SessionData, for request: Request) async throws -> SessionID {
        guard let token = try? SessionToken(sessionID.string) else { return sessionID }
        let state = request.storeSessionState
        guard let loaded = state.loaded(token) else {
            // Vapor only updates sessions its driver read; a session it never read is not written.
            return sessionID
        }
        let contents = try VaporSessionData(data)
        let original = VaporSessionData.decode(loaded.data)?.snapshot ?? [:]
        // Vapor's session authentication names the user in the data; a change there is a login
        // (or a logout), and a user set through the store is kept otherwise.
        let user = userID(data)
        let userChanged = user != userID(SessionData(initialData: original))
        if userChanged, let user {
            // `req.session.authenticate(user)`: a login, so a new token.
            let issued = try await logIn(PendingLogin(userID: user, from: token), contents: contents, state: state, request: request)
            return SessionID(string: issued.token.stringValue)
        }
        guard contents.bytes != loaded.data || userChanged else { return sessionID }
        let changes = VaporSessionData.changes(from: original, to: data.snapshot)
        let saved = try await SessionConflictRetry(maxAttempts: maxAttempts).run(token, store: store, client: nil, startingFrom: loaded) { stored in
            guard var session = stored else { return nil as Sessions.Session? }
            var merged = VaporSessionData.decode(session.data)?.snapshot ?? [:]
            for (key, value) in changes { merged[key] = value }
            session.data = try VaporSessionData(SessionData(initialData: merged)).bytes
            if userChanged { session.userID = user }
            do {
                return try await store.save(session, expectedVersion: session.version)
            } catch let error as SessionStoreError where error.code == .notFound {
                return nil
            }
        }
        // A session deleted meanwhile (a logout racing this request) stays deleted.
        if let saved { state.remember(token, saved) }
        return sessionID
    }

    public func deleteSession(_ sessionID: SessionID, for request: Request) async throws {
        do {
            try await request.inItsTrace { try await delete(sessionID, for: request) }
        } catch let error as SessionStoreError {
            throw error.abort(logger: request.logger)
        }
    }

    private func delete(_ sessionID: SessionID, for request: Request) async throws {
        guard let token = try? SessionToken(sessionID.string) else { return }
        _ = try await store.delete(token)
        request.storeSessionState.forget()
    }

    /// A rotation that stores the user and data in the same step; a session that vanished
    /// meanwhile is replaced by a new one (the user has just proved who they are).
    private func logIn(_ login: PendingLogin, contents: VaporSessionData, state: StoreSessionState, request: Request) async throws -> IssuedSession {
        if let old = login.from, let loaded = state.loaded(old) {
            let rotated = try await SessionConflictRetry(maxAttempts: maxAttempts).run(old, store: store, client: nil, startingFrom: loaded) { stored in
                guard var changes = stored else { return nil as IssuedSession? }
                changes.userID = login.userID ?? changes.userID
                changes.data = contents.bytes
                return try await store.rotate(old, saving: changes, expectedVersion: changes.version)
            }
            if let rotated {
                state.remember(rotated.token, rotated.session)
                return rotated
            }
        }
        let issued = try await store.create(userID: login.userID ?? state.current?.session.userID, data: contents.bytes, client: request.sessionClient)
        state.remember(issued.token, issued.session)
        return issued
    }

    /// The value of the first `_<User>Session` key: what `Session.authenticate(_:)` stores.
    @Sendable
    public static func authenticatedUser(_ data: SessionData) -> String? {
        data.snapshot
            .filter { $0.key.hasPrefix("_") && $0.key.hasSuffix("Session") && $0.key.count > 8 }
            .min { $0.key < $1.key }?
            .value
    }
}

extension Application.Sessions.Provider {
    /// Sessions in `store`: `app.sessions.use(.store(store))`.
    public static func store(_ store: any SessionStore) -> Self {
        .init { app in
            app.sessions.use { _ in StoreSessionDriver(store: store) }
        }
    }
}

extension Request {
    /// The requesting client: the peer address and the `User-Agent` header.
    var sessionClient: SessionClient {
        SessionClient(ip: remoteAddress?.ipAddress, userAgent: headers.first(name: .userAgent))
    }
}

extension Request {
    /// Runs `body` with the request's tracing context as the current one: Vapor's
    /// `SessionsMiddleware` calls the driver from future callbacks, outside the task that
    /// `TracingMiddleware` set the context in, so the store's spans would start traces of
    /// their own (`request.serviceContext` still holds the request's span).
    func inItsTrace<T>(_ body: () async throws -> T) async rethrows -> T {
        guard ServiceContext.current == nil else { return try await body() }
        return try await ServiceContext.$current.withValue(serviceContext) { try await body() }
    }
}
#endif
