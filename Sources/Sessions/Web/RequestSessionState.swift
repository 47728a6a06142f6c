import Foundation

/// The session lifecycle of one HTTP request, as a value with no I/O: what the request brought,
/// what the handler changed, and what must be written when the handler is done.
///
/// ``RequestSession`` wraps it for handlers and carries out the ``Plan`` against a store; the
/// Hummingbird and Vapor integrations only translate requests and responses around it. Keeping
/// the rules here means they are the same for every framework and testable without a server:
///
/// - a read writes nothing; sliding expiry rides on the store's coalesced touch;
/// - a change to an existing session is a compare-and-swap ``SessionStore/save(_:expectedVersion:)``
///   whose edits can be replayed on a fresh read when another request saved first;
/// - a session is created only when the handler stores something or logs in;
/// - a session that was deleted meanwhile is never recreated by a save (a login still gets a
///   new session: the user has just proved who they are);
/// - logging in rotates the token, so the cookie the request arrived with is dead at once;
/// - a cookie that is malformed or names no live session is cleared.
public struct RequestSessionState: Sendable {
    /// One change a handler made, kept so it can be applied again to a fresh read.
    public struct Edit: Sendable {
        let apply: @Sendable (inout Session) throws -> Void

        /// An edit that changes the session in place.
        public init(_ apply: @escaping @Sendable (inout Session) throws -> Void) {
            self.apply = apply
        }
    }

    /// What to write at the end of the request.
    public enum Write: Sendable {
        /// Nothing.
        case none
        /// Store a new session.
        case create(SessionDraft)
        /// Save the changed session if the stored version is still the one read.
        case save(Session, expectedVersion: Int64)
        /// Give the session a new token, saving the changes (if any) in the same step.
        case rotate(SessionToken, changes: Session?, expectedVersion: Int64)
    }

    /// The end-of-request step: what to delete, what to write, and whether the cookie the request
    /// came with must be cleared when nothing replaces it.
    public struct Plan: Sendable {
        /// A session to delete first (logout).
        public var delete: SessionToken?
        /// What to write.
        public var write: Write
        /// Whether the browser's cookie must go when ``write`` sets none.
        public var clearsCookie: Bool
    }

    /// The request's cookie, as parsed before any I/O.
    public let incoming: IncomingSessionCookie
    /// The token and session the request is working on, as last read from the store.
    public private(set) var loaded: (token: SessionToken, session: Session)?
    /// ``loaded`` with the handler's edits applied; for a session not created yet, the template
    /// the edits went into.
    public private(set) var current: Session?
    /// Whether the request began with a live session.
    public private(set) var beganWithSession: Bool
    private var edits: [Edit] = []
    private var rotates = false
    private var loggedOut: (token: SessionToken, alreadyDeleted: Bool)?
    /// The expiry of a session this request creates; nil for the store default.
    public var expirationForNewSession: ExpirationPolicy?
    /// The client, recorded on a session this request creates.
    public let client: SessionClient?

    /// The state of a request that arrived with `incoming` and for which the store returned `loaded`.
    ///
    /// - Parameters:
    ///   - incoming: The parsed cookie.
    ///   - loaded: The live session the cookie's token names, or nil.
    ///   - client: The requesting client.
    public init(incoming: IncomingSessionCookie, loaded: Session?, client: SessionClient?) {
        self.incoming = incoming
        self.client = client
        if let token = incoming.token, let loaded {
            self.loaded = (token, loaded)
            self.current = loaded
            self.beganWithSession = true
        } else {
            self.beganWithSession = false
        }
    }

    /// Whether a session exists for this request or will be created at its end.
    public var hasSession: Bool { current != nil }

    /// Whether the handler asked for a new token.
    public var rotatesToken: Bool { rotates }

    /// Whether the handler logged out.
    public var hasLoggedOut: Bool { loggedOut != nil }

    /// Applies `edit` now, and remembers it to apply again if the save meets a newer version.
    ///
    /// - Throws: Whatever `edit` throws; the state is then unchanged.
    public mutating func apply(_ edit: Edit) throws {
        var session = current ?? Self.template()
        try edit.apply(&session)
        current = session
        edits.append(edit)
    }

    /// Logging in: the token rotates (or a session is created) and `userID` is recorded.
    public mutating func logIn(userID: String) throws {
        try apply(Edit { $0.userID = userID })
        rotates = true
    }

    /// Asks for a new token for the current session at the end of the request; nothing happens
    /// when there is no stored session.
    public mutating func rotate() {
        rotates = true
    }

    /// Logging out: the stored session is deleted at the end of the request and the cookie cleared.
    /// Edits made after this go into a new session.
    ///
    /// - Parameter alreadyDeleted: The session is gone already (logged out everywhere); only the
    ///   cookie is left to clear.
    public mutating func logOut(alreadyDeleted: Bool = false) {
        if let loaded {
            loggedOut = (loaded.token, alreadyDeleted)
        } else if loggedOut == nil, let token = incoming.token {
            loggedOut = (token, true)
        }
        loaded = nil
        current = nil
        edits = []
        rotates = false
        beganWithSession = false
    }

    /// Replaces the session as read with a fresh read (after a conflict, or when a save found it
    /// gone) and applies every edit again.
    ///
    /// - Throws: Whatever an edit throws on the new contents.
    public mutating func reload(_ session: Session?, token: SessionToken) throws {
        guard let session else {
            loaded = nil
            current = nil
            if !edits.isEmpty, !beganWithSession || rotates {
                var template = Self.template()
                for edit in edits { try edit.apply(&template) }
                current = template
            }
            return
        }
        var replayed = session
        for edit in edits { try edit.apply(&replayed) }
        loaded = (token, session)
        current = replayed
    }

    /// What to write now that the handler is done.
    public func plan() -> Plan {
        let delete = loggedOut.flatMap { $0.alreadyDeleted ? nil : $0.token }
        let clearsCookie = loggedOut != nil || (incoming != .none && loaded == nil)
        if let (token, stored) = loaded, let current {
            if rotates {
                let changes = current.hasSameContents(as: stored) ? nil : current
                return Plan(delete: delete, write: .rotate(token, changes: changes, expectedVersion: stored.version), clearsCookie: clearsCookie)
            }
            if !current.hasSameContents(as: stored) {
                return Plan(delete: delete, write: .save(current, expectedVersion: stored.version), clearsCookie: clearsCookie)
            }
            return Plan(delete: delete, write: .none, clearsCookie: clearsCookie)
        }
        // No stored session: create one only for edits the handler made, never for a save whose
        // session vanished meanwhile (that would resurrect it), unless the handler logged in.
        if let current, !edits.isEmpty, !beganWithSession || rotates {
            let draft = SessionDraft(
                userID: current.userID,
                data: current.data,
                metadata: current.metadata,
                expiration: expirationForNewSession,
                ip: client?.ip,
                userAgent: client?.userAgent
            )
            return Plan(delete: delete, write: .create(draft), clearsCookie: clearsCookie)
        }
        return Plan(delete: delete, write: .none, clearsCookie: clearsCookie)
    }

    /// An empty session that edits for a session not created yet go into.
    private static func template() -> Session {
        let epoch = SessionInstant(millisecondsSince1970: 0)
        return Session(
            id: 0,
            tokenHash: TokenHash(bytes: [UInt8](repeating: 0, count: TokenHash.byteCount))!,
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
