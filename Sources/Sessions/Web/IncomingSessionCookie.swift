/// What a request's `Cookie` header said about the session, decided before any I/O.
public enum IncomingSessionCookie: Sendable, Hashable {
    /// No cookie of the session's name.
    case none
    /// A cookie of the session's name whose value is not a token: it costs no store call and the
    /// response clears it.
    case malformed
    /// A well-formed token; whether it names a live session is for the store to say.
    case token(SessionToken)

    /// The token, if the cookie held one.
    public var token: SessionToken? {
        if case .token(let token) = self { token } else { nil }
    }
}
