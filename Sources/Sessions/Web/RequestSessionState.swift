import Foundation

/// The session lifecycle of one HTTP request as a state machine with no I/O.
///
/// What the request brought, what the handler changed, and what the store answered go in
/// through mutating methods; what to do next comes out as an ``Action``, which
/// ``RequestSession`` carries out against a store and answers with ``completed(_:)``. The
/// Hummingbird and Vapor integrations only translate requests and responses around it, so the
/// rules below are the same for every framework and are tested once, without a server:
///
/// - a read writes nothing; sliding expiry rides on the store's coalesced touch;
/// - a change to an existing session is a compare-and-swap save whose edits are replayed on a
///   fresh read when another request saved first, at most ``maxAttempts`` times, then the
///   request gives up (``Action/fail(_:)``, a 409);
/// - a session is created only when the handler stores something or logs in;
/// - a session deleted meanwhile is never recreated by a save, which fails with a 409 instead
///   of pretending it was stored (a login still gets a new session: the user has just proved who
///   they are);
/// - logging in rotates the token, so the cookie the request arrived with is dead at once;
/// - a logout deletes the session and clears the cookie; edits made after it go into a new one;
/// - a malformed cookie is cleared. A cookie that names no live session is left alone: it may
///   be the one a login in another tab has just replaced, and clearing it in a response that
///   lands after the login's would log the user out (the browser drops it when its `Max-Age` runs out).
///
/// ```
/// begin ──▶ .load(token) ──loaded──▶ handler: apply / logIn / rotate / logOut
///   finish ──▶ [.delete(old)] ──▶ .create | .save | .rotate ──▶ .respond(cookie)
///                                     │ conflict: .load(token) again, then replay
///                                     │ gone: a login creates, a save fails (409)
/// ```
public struct RequestSessionState: Sendable {
    /// One change a handler made, kept so it can be applied again to a fresh read.
    public struct Edit: Sendable {
        let apply: @Sendable (inout Session) throws -> Void

        /// An edit that changes the session in place.
        public init(_ apply: @escaping @Sendable (inout Session) throws -> Void) {
            self.apply = apply
        }
    }

    /// What the driver does next.
    public enum Action: Sendable {
        /// Read the session for this token and answer ``StoreAnswer/loaded(_:)``.
        case load(SessionToken)
        /// Delete this session (a logout) and answer ``StoreAnswer/deleted``.
        case delete(SessionToken)
        /// Store a new session and answer ``StoreAnswer/created(_:)``.
        case create(SessionDraft)
        /// Save the changed session if the stored version is still `expectedVersion`; answer
        /// ``StoreAnswer/saved``, ``StoreAnswer/conflict`` or ``StoreAnswer/gone``.
        case save(Session, expectedVersion: Int64)
        /// Give the session a new token, saving `changes` (when any) in the same step; answer
        /// ``StoreAnswer/rotated(_:)``, ``StoreAnswer/conflict`` or ``StoreAnswer/gone``.
        case rotate(SessionToken, changes: Session?, expectedVersion: Int64)
        /// Done: send this cookie (or none) with the response.
        case respond(Cookie)
            /// Give up with this error: other requests kept saving first, the session ended while this
        /// request changed it, or its changes no longer apply to what another request stored (409).
        case fail(SessionStoreError)
    }

    /// What the store answered to the last ``Action``.
    public enum StoreAnswer: Sendable {
        /// The session for the token, or nil when it is missing or expired.
        case loaded(Session?)
        /// The logout's delete happened.
        case deleted
        /// A new session was stored.
        case created(IssuedSession)
        /// The save was stored.
        case saved
        /// The rotation happened, with the new token and session.
        case rotated(IssuedSession)
        /// Another request wrote a newer version first.
        case conflict
        /// The session no longer exists (deleted, rotated away or expired).
        case gone
    }

    /// The cookie a response sends.
    public enum Cookie: Sendable {
        /// None: the browser keeps what it has.
        case none
        /// Hand the browser this token for this session.
        case set(SessionToken, Session)
        /// Make the browser drop the session cookie.
        case clear
    }

    private enum Phase: Sendable {
        /// Before ``begin()``.
        case new
        /// The request's session is being read.
        case loading
        /// The handler runs.
        case handling
        /// The logout's delete is under way.
        case deleting
        /// A write is under way.
        case writing
        /// A fresh read after a conflict is under way.
        case reloading
        /// The response's cookie has been decided.
        case done
    }

    /// The request's cookie, as parsed before any I/O.
    public let incoming: IncomingSessionCookie
    /// The client, recorded on a session this request creates.
    public let client: SessionClient?
    /// How many times a write that meets a newer version is tried.
    public let maxAttempts: Int
    /// The expiry of a session this request creates; nil for the store default.
    public var expirationForNewSession: ExpirationPolicy?
    /// Whether a session this request creates or logs in gets a CSRF token
    /// (``CSRFProtection/metadataKey``) when it has none, so its pages need not write one.
    public var issuesCSRFTokens = false

    private var phase = Phase.new
    /// The token and session the request works on, as last read from the store.
    private var loaded: (token: SessionToken, session: Session)?
    /// ``loaded`` with the handler's edits applied; for a session not created yet, the template
    /// the edits went into.
    private var current: Session?
    private var beganWithSession = false
    private var edits: [Edit] = []
    private var rotates = false
    /// A login asked for a new token: the user has proved who they are, so a session that
    /// vanished meanwhile is replaced by a new one.
    private var logsIn = false
    private var logout: (token: SessionToken, alreadyDeleted: Bool)?
    private var attempts = 0

    /// The state of a request that arrived with `incoming`.
    ///
    /// - Parameters:
    ///   - incoming: The parsed cookie.
    ///   - client: The requesting client.
    ///   - maxAttempts: How many times a write that meets a newer version is tried; at least 1.
    public init(incoming: IncomingSessionCookie, client: SessionClient?, maxAttempts: Int = SessionConflictRetry.defaultAttempts) {
        self.incoming = incoming
        self.client = client
        self.maxAttempts = max(1, maxAttempts)
    }

    // MARK: What the handler sees

    /// The session as the store returned it for this request; nil when there is none.
    public var stored: Session? { loaded?.session }

    /// The session with this request's changes; nil when there is none and none is being made.
    public var session: Session? { current }

    /// Whether a session exists for this request or will be created at its end.
    public var hasSession: Bool { current != nil }

    /// Whether the handler can still change the session (before ``finish()``).
    public var isOpen: Bool {
        switch phase {
        case .new, .loading, .handling: true
        default: false
        }
    }

    // MARK: Beginning

    /// Starts the request: `.load(token)` when the cookie holds a token, nil when there is
    /// nothing to read (no cookie, or one that is not a token: no store call).
    public mutating func begin() -> Action? {
        precondition(phase == .new, "begin() once per request")
        guard let token = incoming.token else {
            phase = .handling
            return nil
        }
        phase = .loading
        return .load(token)
    }

    /// Records what the first read found; the handler runs after this.
    public mutating func loaded(_ session: Session?) {
        precondition(phase == .loading, "loaded(_:) answers begin()'s load")
        if let token = incoming.token, let session {
            loaded = (token, session)
            current = session
            beganWithSession = true
        }
        phase = .handling
    }

    // MARK: What the handler does

    /// Applies `edit` now, and remembers it to apply again if the save meets a newer version.
    ///
    /// - Throws: Whatever `edit` throws; the state is then unchanged.
    public mutating func apply(_ edit: Edit) throws {
        var session = current ?? Self.template()
        try edit.apply(&session)
        current = session
        edits.append(edit)
    }

    /// Logging in: the token rotates (or a session is created) and `userID` is recorded; when
    /// CSRF tokens are issued, the session gets a new one too.
    public mutating func logIn(userID: String) throws {
        let csrfToken = issuesCSRFTokens ? SessionToken.generate().stringValue : nil
        try apply(Edit { session in
            session.userID = userID
            if let csrfToken { session.metadata[CSRFProtection.metadataKey] = csrfToken }
        })
        rotates = true
        logsIn = true
    }

    /// Asks for a new token for the current session at the end of the request; nothing happens
    /// when there is no stored session.
    public mutating func rotate() {
        rotates = true
    }

    /// Logging out: the stored session is deleted at the end of the request and the cookie
    /// cleared. Edits made after this go into a new session.
    ///
    /// - Parameter alreadyDeleted: The session is gone already (logged out everywhere); only the
    ///   cookie is left to clear.
    public mutating func logOut(alreadyDeleted: Bool = false) {
        if let loaded {
            logout = (loaded.token, alreadyDeleted)
        } else if logout == nil, let token = incoming.token {
            logout = (token, true)
        }
        loaded = nil
        current = nil
        edits = []
        rotates = false
        logsIn = false
        beganWithSession = false
    }

    // MARK: Ending

    /// The handler is done: the first action of the end of the request.
    public mutating func finish() -> Action {
        precondition(phase == .handling, "finish() once, after the handler")
        if let logout, !logout.alreadyDeleted {
            phase = .deleting
            return .delete(logout.token)
        }
        return nextWrite()
    }

    /// Takes what the store answered to the last action and returns the next one.
    public mutating func completed(_ answer: StoreAnswer) -> Action {
        switch (phase, answer) {
        case (.deleting, .deleted):
            return nextWrite()
        case (.writing, .created(let issued)), (.writing, .rotated(let issued)):
            phase = .done
            return .respond(.set(issued.token, issued.session))
        case (.writing, .saved):
            return respond(.none)
        case (.writing, .conflict):
            attempts += 1
            guard attempts < maxAttempts, let token = loaded?.token else {
                phase = .done
                return .fail(SessionStoreError(.conflict, "the session kept changing under this request: \(attempts) attempts to save it lost to other requests"))
            }
            phase = .reloading
            return .load(token)
        case (.writing, .gone):
            return reload(nil)
        case (.reloading, .loaded(let session)):
            return reload(session)
        default:
            preconditionFailure("\(answer) does not answer what the request session asked for in phase \(phase)")
        }
    }

    /// What to write now, or the cookie to respond with when nothing is left to write.
    private mutating func nextWrite() -> Action {
        if let (token, stored) = loaded, let current {
            if rotates {
                let changed = withCSRFToken(current)
                phase = .writing
                return .rotate(token, changes: changed.hasSameContents(as: stored) ? nil : changed, expectedVersion: stored.version)
            }
            if !current.hasSameContents(as: stored) {
                phase = .writing
                return .save(current, expectedVersion: stored.version)
            }
            return respond(.none)
        }
        // No stored session: create one only for edits the handler made to no session, never for
        // a session that vanished meanwhile (that would resurrect it), unless the handler logged in.
        if let template = current, !edits.isEmpty, !beganWithSession || logsIn {
            let current = withCSRFToken(template)
            phase = .writing
            return .create(SessionDraft(
                userID: current.userID,
                data: current.data,
                metadata: current.metadata,
                expiration: expirationForNewSession,
                ip: client?.ip,
                userAgent: client?.userAgent
            ))
        }
        return respond(.none)
    }

    /// `session` with a CSRF token when tokens are issued and it has none.
    private func withCSRFToken(_ session: Session) -> Session {
        guard issuesCSRFTokens, session.metadata[CSRFProtection.metadataKey] == nil else { return session }
        var tokened = session
        tokened.metadata[CSRFProtection.metadataKey] = SessionToken.generate().stringValue
        return tokened
    }

    /// The end: `cookie`, unless a logout or a malformed cookie asks the browser to drop its own.
    private mutating func respond(_ cookie: Cookie) -> Action {
        phase = .done
        if case .none = cookie, logout != nil || incoming == .malformed { return .respond(.clear) }
        return .respond(cookie)
    }

    /// Replaces the session as read with a fresh read (nil: it is gone), applies every edit
    /// again, and says what to do next.
    private mutating func reload(_ session: Session?) -> Action {
        guard let session, let token = loaded?.token else {
            loaded = nil
            current = nil
            if !edits.isEmpty, !beganWithSession || logsIn {
                // A login whose session vanished: a new one, with every edit.
                current = try? Self.replay(edits, on: Self.template())
                return nextWrite()
            }
            phase = .done
            guard !edits.isEmpty else { return .respond(.none) }
            return .fail(SessionStoreError(.conflict, "the session ended while this request was changing it (a logout, or a login in another tab gave it a new token); its changes were not stored"))
        }
        loaded = (token, session)
        do {
            current = try Self.replay(edits, on: session)
        } catch {
            phase = .done
            return .fail(SessionStoreError(.conflict, "another request changed the session first, and this request's changes no longer apply to what it stored: \(error)"))
        }
        return nextWrite()
    }

    private static func replay(_ edits: [Edit], on session: Session) throws -> Session {
        var replayed = session
        for edit in edits { try edit.apply(&replayed) }
        return replayed
    }

    /// An empty session that edits for a session not created yet go into.
    private static func template() -> Session {
        let epoch = SessionInstant(millisecondsSince1970: 0)
        return Session(
            id: 0,
            tokenHash: .none,
            userID: nil,
            data: Data(),
            createdAt: epoch,
            updatedAt: epoch,
            lastSeenAt: epoch,
            deadlines: SessionDeadlines(idleTimeout: nil, absoluteExpiresAt: nil),
            version: 0
        )
    }
}
