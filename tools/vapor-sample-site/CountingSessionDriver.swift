// Shared with tools/fluent-peer (a symbolic link there), so both count the same way.
#if Vapor || FluentPeer
import Synchronization
import Vapor

/// Wraps a session driver and counts the writes that reach it: every create, update and
/// delete, as a store would perform them (Vapor's drivers write on every call).
struct CountingSessionDriver: SessionDriver {
    let base: any SessionDriver
    let counter = WriteCounter()

    final class WriteCounter: Sendable {
        private let value = Atomic<Int>(0)
        var count: Int { value.load(ordering: .relaxed) }
        func add() { value.add(1, ordering: .relaxed) }
    }

    func createSession(_ data: SessionData, for request: Request) -> EventLoopFuture<SessionID> {
        counter.add()
        return base.createSession(data, for: request)
    }

    func readSession(_ sessionID: SessionID, for request: Request) -> EventLoopFuture<SessionData?> {
        base.readSession(sessionID, for: request)
    }

    func updateSession(_ sessionID: SessionID, to data: SessionData, for request: Request) -> EventLoopFuture<SessionID> {
        counter.add()
        return base.updateSession(sessionID, to: data, for: request)
    }

    func deleteSession(_ sessionID: SessionID, for request: Request) -> EventLoopFuture<Void> {
        counter.add()
        return base.deleteSession(sessionID, for: request)
    }
}
#endif
