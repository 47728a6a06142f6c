#if HummingbirdAuth
public import Hummingbird
public import HummingbirdAuth
public import HummingbirdSessions
import Sessions

/// Makes the signed-in user of the request's session (`Session.userID`) the
/// request's hummingbird-auth identity, so `IsAuthenticatedMiddleware`, `requireIdentity()`
/// and authorization policies work with sessions kept in a `SessionStore`.
///
/// Add it after `SessionStoreMiddleware`:
///
/// ```swift
/// router.add(middleware: try SessionStoreMiddleware(store: store))
/// router.add(middleware: SessionStoreAuthenticator(context: AuthSessionStoreRequestContext<User>.self) { id, _ in
///     await users.find(id)
/// })
/// ```
///
/// The identity is the user the session had when the request arrived; a login during the
/// request takes effect from the next one.
public struct SessionStoreAuthenticator<
    Context: SessionStoreRequestContext & AuthRequestContext,
    Users: UserSessionRepository<String, Context.Identity>
>: AuthenticatorMiddleware {
    public typealias Identity = Context.Identity

    /// Looks users up by the session's user id.
    public let users: Users

    /// Creates an authenticator that looks users up in `users`.
    ///
    /// - Parameters:
    ///   - users: Looks users up by the session's user id.
    ///   - context: The request context type; only names `Context` for type inference.
    public init(users: Users, context: Context.Type = Context.self) {
        self.users = users
    }

    /// Creates an authenticator that looks users up with a closure.
    ///
    /// - Parameters:
    ///   - context: The request context type; only names `Context` for type inference.
    ///   - getUser: Returns the user with the session's user id, or nil when there is none.
    public init(
        context: Context.Type = Context.self,
        getUser: @escaping @Sendable (String, UserRepositoryContext) async throws -> Context.Identity?
    ) where Users == UserSessionClosureRepository<String, Context.Identity> {
        self.users = UserSessionClosureRepository(getUser)
    }

    public func authenticate(request: Request, context: Context) async throws -> Context.Identity? {
        guard let userID = context.session.stored?.userID else { return nil }
        return try await users.getUser(from: userID, context: UserRepositoryContext(logger: context.logger))
    }
}
#endif
