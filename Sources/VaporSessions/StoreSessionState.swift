#if Vapor
import Sessions
import Synchronization
import Vapor

/// A login (or a plain rotation) asked for during a request, carried out when Vapor stores the session.
struct PendingLogin: Sendable {
    /// The user to record; nil keeps the session's.
    let userID: String?
    /// The token of the session to rotate; nil when there is none.
    let from: SessionToken?
}

/// What ``StoreSessionDriver`` knows about the current request's session: the session as read
/// (to tell whether Vapor's data changed) and a login to carry out. Kept in `req.storage`.
final class StoreSessionState: Sendable {
    private struct State {
        var token: SessionToken?
        var session: Sessions.Session?
        var pendingLogin: PendingLogin?
    }

    private let state = Mutex(State())

    func remember(_ token: SessionToken, _ session: Sessions.Session) {
        state.withLock { $0.token = token; $0.session = session }
    }

    func forget() {
        state.withLock { $0.token = nil; $0.session = nil }
    }

    /// The session read for `token`, if it is the one this request holds.
    func loaded(_ token: SessionToken) -> Sessions.Session? {
        state.withLock { $0.token == token ? $0.session : nil }
    }

    /// The session this request holds, and its token.
    var current: (token: SessionToken, session: Sessions.Session)? {
        state.withLock { state in
            guard let token = state.token, let session = state.session else { return nil }
            return (token, session)
        }
    }

    func setPendingLogin(_ login: PendingLogin) {
        state.withLock { $0.pendingLogin = login }
    }

    func takePendingLogin() -> PendingLogin? {
        state.withLock { state in
            defer { state.pendingLogin = nil }
            return state.pendingLogin
        }
    }
}

extension Request {
    private struct StoreSessionStateKey: StorageKey {
        typealias Value = StoreSessionState
    }

    /// This request's driver state, created on first use.
    var storeSessionState: StoreSessionState {
        if let existing = storage[StoreSessionStateKey.self] { return existing }
        let state = StoreSessionState()
        storage[StoreSessionStateKey.self] = state
        return state
    }
}
#endif
