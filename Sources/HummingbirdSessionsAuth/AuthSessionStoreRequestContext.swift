#if HummingbirdAuth
public import Hummingbird
public import HummingbirdAuth
public import HummingbirdSessions
public import NIOCore
public import Sessions

/// A ready-made request context with the request's session, a hummingbird-auth identity and
/// the client's address.
public struct AuthSessionStoreRequestContext<Identity: Sendable>: SessionStoreRequestContext, AuthRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let session: RequestSession
    public var identity: Identity?
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.session = RequestSession()
        self.identity = nil
        self.remoteAddress = source.channel.remoteAddress
    }
}
#endif
