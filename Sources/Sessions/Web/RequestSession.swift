import Foundation
import Synchronization

/// The session of one HTTP request, as a handler sees it: read it, change its typed data, log in,
/// rotate, log out. A framework integration creates one per request, ``begin(store:cookie:incoming:client:csrf:)``s
/// it before the handler, ``verify(_:formBody:)``s unsafe requests, and ``commit()``s it after; it is a reference, so request contexts that are
/// copied between middleware and handler all share it.
///
/// The rules live in ``RequestSessionState``; this class carries out the actions it returns
/// against the store. Reading writes nothing. Changes are kept as edits and written once, when
/// the handler has returned: a compare-and-swap save that, when another request saved first,
/// reads the session again and replays the edits. A handler that throws writes nothing.
///
/// ```swift
/// struct Cart: Codable { var items: [String] = [] }
/// try session.updateData(as: Cart.self, default: Cart()) { $0.items.append(item) }
/// try session.logIn(userID: user.id)     // new token at the end of this request
/// try session.logOut()                   // deleted, and the cookie cleared
/// ```
public final class RequestSession: Sendable {
    private struct Attachment: Sendable {
        let store: any SessionStore
        let cookie: SessionCookieOptions
        let csrf: CSRFProtection
        var state: RequestSessionState
    }

    private let attachment = Mutex<Attachment?>(nil)

    /// How many times a save that meets a newer version is tried.
    public let maxAttempts: Int

    /// A session not attached to a request yet; the integration's middleware attaches it.
    public init(maxAttempts: Int = SessionConflictRetry.defaultAttempts) {
        self.maxAttempts = maxAttempts
    }

    // MARK: Request lifecycle (for integrations)

    /// Loads the request's session: call once, before the handler runs.
    ///
    /// A malformed cookie (``IncomingSessionCookie/malformed``) costs no store call.
    ///
    /// - Parameters:
    ///   - store: Where the session lives.
    ///   - cookie: The cookie's attributes, for the `Set-Cookie` that ``commit()`` returns.
    ///   - incoming: The request's cookie, from ``SessionCookieOptions/incomingCookie(in:)``.
    ///   - client: The requesting client, recorded as the session's last use.
    ///   - csrf: The cross-site request checks ``verify(_:formBody:)`` makes; when they are on, a
    ///     session this request creates or logs in gets its CSRF token at once.
    public func begin(
        store: any SessionStore,
        cookie: SessionCookieOptions,
        incoming: IncomingSessionCookie,
        client: SessionClient?,
        csrf: CSRFProtection = .disabled
    ) async throws {
        var state = RequestSessionState(incoming: incoming, client: client, maxAttempts: maxAttempts)
        state.issuesCSRFTokens = csrf.isEnabled
        if case .load(let token) = state.begin() {
            state.loaded(try await store.load(token, client: client))
        }
        try attachment.withLock { attachment throws(SessionStoreError) in
            guard attachment == nil else {
                throw SessionStoreError(.internalError, "this request's session was begun twice; install the session middleware once")
            }
            attachment = Attachment(store: store, cookie: cookie, csrf: csrf, state: state)
        }
    }

    /// Writes what the handler changed and returns the `Set-Cookie` value to send, if any: the
    /// new token after a creation or rotation, a deletion cookie after a logout or for a
    /// malformed cookie, nothing at all after a read or a plain save.
    ///
    /// - Throws: ``SessionStoreError/Code/conflict`` when every attempt to save met a newer
    ///   version, when the session ended while this request changed it, or when its changes no
    ///   longer apply to what another request stored; storage errors as the store reports them.
    public func commit() async throws -> String? {
        // The state closes under the lock, so an edit from another task cannot slip in after it.
        let (store, cookie, initial, first) = try attachment.withLock { attachment throws(SessionStoreError) in
            guard var current = attachment else { throw Self.notBegun }
            guard current.state.isOpen else { throw SessionStoreError(.internalError, "this request's session was committed twice") }
            let first = current.state.finish()
            attachment = current
            return (current.store, current.cookie, current.state, first)
        }
        var state = initial
        var action = first
        defer { attachment.withLock { $0?.state = state } }
        while true {
            switch action {
            case .load(let token):
                action = state.completed(.loaded(try await store.load(token, client: nil)))
            case .delete(let token):
                _ = try await store.delete(token)
                action = state.completed(.deleted)
            case .create(let draft):
                action = state.completed(.created(try await store.create(draft)))
            case .save(let session, let expectedVersion):
                action = state.completed(try await Self.answer { _ = try await store.save(session, expectedVersion: expectedVersion); return .saved })
            case .rotate(let token, let changes, let expectedVersion):
                action = state.completed(try await Self.answer {
                    try await store.rotate(token, saving: changes, expectedVersion: expectedVersion).map { .rotated($0) } ?? .gone
                })
            case .respond(.none):
                return nil
            case .respond(.set(let token, let session)):
                return cookie.setCookieHeader(for: token, session: session, now: store.policy.now)
            case .respond(.clear):
                return cookie.deletionCookieHeader
            case .fail(let error):
                throw error
            }
        }
    }

    /// A write's outcome as the state machine takes it: a conflict or a vanished session is an
    /// answer, not an error.
    private static func answer(_ write: () async throws -> RequestSessionState.StoreAnswer) async throws -> RequestSessionState.StoreAnswer {
        do {
            return try await write()
        } catch let error as SessionStoreError where error.code == .conflict {
            return .conflict
        } catch let error as SessionStoreError where error.code == .notFound {
            return .gone
        }
    }

    /// Refuses a cross-site request (``CSRFProtection``, as given to
    /// ``begin(store:cookie:incoming:client:csrf:)``) before the handler runs.
    ///
    /// - Parameters:
    ///   - request: What the request says about itself.
    ///   - formBody: Reads the request's form body, for a token sent as a form field; nil when
    ///     the body is not a form (``CSRFProtection/isForm(contentType:)``). Called only when needed.
    /// - Throws: ``CSRFProtection/Refusal`` (answer 403, ``SessionErrorResponse``).
    public func verify(_ request: CSRFProtection.Request, formBody: () async throws -> [UInt8]?) async throws {
        let (protection, expected) = try readAttached { ($0.csrf, $0.state.stored?.metadata[CSRFProtection.metadataKey]) }
        guard protection.applies(to: request) else { return }
        try await protection.check(request, expected: expected, formBody: formBody)
    }

    // MARK: Reading

    /// Whether the request has a session (or will create one when it ends).
    public var exists: Bool { read { $0.state.hasSession } ?? false }

    /// The session as the store returned it for this request; nil when there is none yet.
    public var stored: Session? { read { $0.state.stored } }

    /// The signed-in user, including a login made earlier in this request; nil when anonymous.
    public var userID: String? { read { $0.state.session?.userID } }

    /// The session's metadata, with this request's changes.
    public var metadata: [String: String] { read { $0.state.session?.metadata } ?? [:] }

    /// The session's data decoded from JSON, with this request's changes; nil when there is no
    /// session or it holds no data.
    public func data<T: Decodable>(as type: T.Type) throws -> T? {
        try read { $0.state.session }?.decodeData(as: type)
    }

    /// Whether `session` (from ``sessionsOfUser()``) is the one this request is using.
    public func isCurrent(_ session: Session) -> Bool {
        read { $0.state.stored.map { $0.id == session.id && $0.tokenHash == session.tokenHash } } ?? false
    }

    /// The store the session lives in.
    public var store: any SessionStore {
        get throws { try readAttached { $0.store } }
    }

    /// The token forms and scripts send back with unsafe requests (``CSRFProtection``): put it in
    /// a hidden field named ``CSRFProtection/fieldName`` or the header ``CSRFProtection/headerName``
    /// (from a `<meta>` tag: the cookie is HttpOnly).
    ///
    /// Nil when the request has no session: a form posted without one needs no token (the origin
    /// check alone judges it), so a visitor's sign-in page creates nothing. A session created or
    /// logged in under CSRF protection has its token from the start (a login issues a new one);
    /// an older one gets one now, written at the end of this request (if two first pages race,
    /// the first write wins).
    public func csrfToken() throws -> String? {
        guard exists else { return nil }
        if let token = metadata[CSRFProtection.metadataKey] { return token }
        let token = SessionToken.generate().stringValue
        try edit { session in
            if session.metadata[CSRFProtection.metadataKey] == nil { session.metadata[CSRFProtection.metadataKey] = token }
        }
        return token
    }

    // MARK: Changing

    /// Replaces the session's data with `value` as JSON; creates the session at the end of the
    /// request if there is none. Storing a value equal to the current one writes nothing.
    ///
    /// - Throws: ``SessionStoreError/Code/payloadTooLarge`` at once when the JSON is over the
    ///   store's ``SessionPolicy/maxDataSize``; encoding errors.
    public func setData<T: Encodable & Sendable>(_ value: T) throws {
        let data = try SessionDataCoding.encode(value)
        try edit { session in session.data = data }
    }

    /// Changes the session's data in place. If another request saves this session first, `body`
    /// runs again on what it stored, so neither change is lost.
    ///
    /// - Parameters:
    ///   - type: The data's type.
    ///   - defaultValue: Where to start when the session has no data (or does not exist yet).
    ///   - body: The change; it may run again at the end of the request.
    public func updateData<T: Codable & Sendable>(
        as type: T.Type,
        default defaultValue: T,
        _ body: @escaping @Sendable (inout T) throws -> Void
    ) throws {
        try edit { session in
            var value = try session.decodeData(as: T.self) ?? defaultValue
            try body(&value)
            try session.encodeData(value)
        }
    }

    /// Sets or removes one metadata entry.
    public func setMetadata(_ value: String?, forKey key: String) throws {
        try edit { session in session.metadata[key] = value }
    }

    /// Applies an edit to the session now and again, if needed, on a fresh read at the end of the request.
    ///
    /// - Throws: What the store's policy refuses (oversize data or metadata, a bad user id), and
    ///   whatever `change` throws; the session is then unchanged.
    public func edit(_ change: @escaping @Sendable (inout Session) throws -> Void) throws {
        try modify { state, policy in
            try state.apply(RequestSessionState.Edit(change))
            if let current = state.session { try policy.validate(current) }
        }
    }

    /// Logs `userID` in: at the end of the request the session gets a new token (the cookie the
    /// request came with stops working at once) and records the user; without a session, one is created.
    ///
    /// - Throws: ``SessionStoreError/Code/invalidArgument`` for a user id the store refuses.
    public func logIn(userID: String) throws {
        try modify { state, policy in
            try policy.validate(userID: userID)
            try state.logIn(userID: userID)
        }
    }

    /// Gives the session a new token at the end of the request, keeping its contents (after a
    /// privilege change). Does nothing when there is no session.
    public func rotate() throws {
        try modify { state, _ in state.rotate() }
    }

    /// Logs out: the session is deleted at the end of the request and the browser told to drop the cookie.
    public func logOut() throws {
        try modify { state, _ in state.logOut() }
    }

    /// Deletes every session of the signed-in user now, on every device, this one included.
    ///
    /// - Returns: How many live sessions were deleted; 0 when nobody is signed in.
    @discardableResult
    public func logOutEverywhere() async throws -> Int {
        let (store, user) = try readAttached { ($0.store, $0.state.session?.userID) }
        guard let user else {
            try logOut()
            return 0
        }
        let count = try await store.deleteSessions(forUser: user)
        try modify { state, _ in state.logOut(alreadyDeleted: true) }
        return count
    }

    /// The signed-in user's live sessions, oldest first, for a "your devices" page; empty when
    /// nobody is signed in.
    public func sessionsOfUser() async throws -> [Session] {
        let (store, user) = try readAttached { ($0.store, $0.state.session?.userID) }
        guard let user else { return [] }
        return try await store.sessions(forUser: user)
    }

    /// Signs out one of the signed-in user's sessions, named by its token hash (from
    /// ``sessionsOfUser()``). Another user's session is left alone. Revoking this request's own
    /// session logs it out.
    ///
    /// - Returns: Whether a live session was revoked.
    @discardableResult
    public func revoke(_ hash: TokenHash) async throws -> Bool {
        let (store, user, stored) = try readAttached { ($0.store, $0.state.session?.userID, $0.state.stored) }
        guard let user else { return false }
        let revoked = try await store.revokeSession(hash, ofUser: user)
        if revoked && hash == stored?.tokenHash {
            try modify { state, _ in state.logOut(alreadyDeleted: true) }
        }
        return revoked
    }

    /// The expiry of a session this request creates (a "remember me" login); nil for the store default.
    public func setExpirationForNewSession(_ expiration: ExpirationPolicy?) throws {
        try expiration?.validate()
        try modify { state, _ in state.expirationForNewSession = expiration }
    }

    // MARK: Helpers

    private static let notBegun = SessionStoreError(
        .configurationError,
        "the request's session is used but no session middleware ran for this request; add it to the router before the routes that use sessions"
    )

    private func read<T: Sendable>(_ body: (Attachment) -> T?) -> T? {
        attachment.withLock { $0.flatMap(body) }
    }

    private func readAttached<T: Sendable>(_ body: (Attachment) -> T) throws(SessionStoreError) -> T {
        try attachment.withLock { attachment throws(SessionStoreError) in
            guard let attachment else { throw Self.notBegun }
            return body(attachment)
        }
    }

    private func modify(_ body: (inout RequestSessionState, SessionPolicy) throws -> Void) throws {
        try attachment.withLock { attachment in
            guard var current = attachment else { throw Self.notBegun }
            guard current.state.isOpen else {
                throw SessionStoreError(.internalError, "the request's session was changed after its response was prepared; change it in the handler")
            }
            try body(&current.state, current.store.policy)
            attachment = current
        }
    }
}
