package import Tracing
import Synchronization

/// Spans for store operations, cheap enough for the cached hit path when nobody traces.
///
/// A store traces through the tracer its configuration names, else through the process-wide
/// `InstrumentationSystem.tracer`. Looking that one up costs a lock and dynamic casts (a few
/// hundred nanoseconds, as much as a cached load), so it is looked up at most once a second
/// while it is the no-op tracer, and kept for good once it is not: `InstrumentationSystem.bootstrap`
/// can run only once per process. A tracer bootstrapped after a store opened records that store's
/// operations within a second of its next operation other than a cache hit. (A tracer bound with `withTracer` for one task is not consulted;
/// name it in the store's configuration instead.)
///
/// Spans nest under `ServiceContext.current`, which the tracing middlewares of Hummingbird and
/// Vapor set for the request. Attributes name the store, the outcome and counts, never a token,
/// session data or message content; at most the first 8 hex digits of a token's hash.
package struct SessionTracing: Sendable {
    /// The tracer the configuration named, unless it is the no-op tracer.
    private let configured: (any Tracer)?
    /// Whether the configuration named a tracer (even the no-op one, which then wins).
    private let isConfigured: Bool
    /// `sessions.store` on every span: sqlite, cached, redis, replicated.
    package let store: String

    package init(_ tracer: (any Tracer)?, store: String) {
        self.isConfigured = tracer != nil
        self.configured = tracer.flatMap { $0 is NoOpTracer ? nil : $0 }
        self.store = store
        if tracer == nil { ProcessTracer.lookUp() }
    }

    /// The tracer that records now, or nil when none does; looks the process-wide one up again
    /// when a second has passed (a clock read).
    @inline(__always)
    package var active: (any Tracer)? {
        isConfigured ? configured : ProcessTracer.current()
    }

    /// ``active`` as last looked up, without reading the clock: one atomic load, for the cache's
    /// hit path. Any other operation of any store looks up again when due.
    @inline(__always)
    package var activeAsLastSeen: (any Tracer)? {
        isConfigured ? configured : ProcessTracer.lastSeen()
    }

    /// Runs `body` in a span named `operation` (child of the current context) when a tracer
    /// records; errors are recorded on the span and rethrown.
    @inline(__always)
    package func withSpan<T>(
        _ operation: String,
        ofKind kind: SpanKind = .client,
        _ body: (_ span: (any Span)?) async throws -> T
    ) async rethrows -> T {
        guard let tracer = active else { return try await body(nil) }
        return try await withSpan(tracer, operation, ofKind: kind, body)
    }

    /// Runs `body` in a span of `tracer` (``active``, looked up by the caller): for hot paths
    /// that take the untraced way without calling a closure.
    package func withSpan<T>(
        _ tracer: any Tracer,
        _ operation: String,
        ofKind kind: SpanKind = .client,
        _ body: (_ span: (any Span)?) async throws -> T
    ) async rethrows -> T {
        let span = tracer.startSpan(operation, context: ServiceContext.current ?? .topLevel, ofKind: kind)
        span.attributes["sessions.store"] = store
        defer { span.end() }
        do {
            return try await ServiceContext.$current.withValue(span.context) { try await body(span) }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            if let error = error as? SessionStoreError { span.attributes["sessions.error"] = error.code.description }
            throw error
        }
    }

    /// The first 8 hex digits of a token's hash: enough to find the session with
    /// `sessionctl show`, far too few to present it.
    package static func hashPrefix(_ hash: TokenHash) -> String {
        String(hash.hex.prefix(8))
    }
}

/// The process-wide tracer, looked up rarely (see ``SessionTracing``).
package enum ProcessTracer {
    private static let found = Mutex<(any Tracer)?>(nil)
    private static let isFound = Atomic<Bool>(false)
    private static let nextLookup = Atomic<Int64>(.min)
    private static let lookupInterval: Int64 = 1_000_000_000

    @inline(__always)
    static func lastSeen() -> (any Tracer)? {
        isFound.load(ordering: .acquiring) ? found.withLock { $0 } : nil
    }

    @inline(__always)
    static func current() -> (any Tracer)? {
        if isFound.load(ordering: .acquiring) { return found.withLock { $0 } }
        let now = CoarseMonotonicClock.nanoseconds()
        guard now >= nextLookup.load(ordering: .relaxed) else { return nil }
        return lookUp(now: now)
    }

    /// Looks the tracer up now: for tests that bootstrap one and must not wait a second.
    @discardableResult
    package static func lookUp(now: Int64 = CoarseMonotonicClock.nanoseconds()) -> (any Tracer)? {
        nextLookup.store(now &+ lookupInterval, ordering: .relaxed)
        let tracer = InstrumentationSystem.tracer
        guard !(tracer is NoOpTracer) else { return nil }
        found.withLock { $0 = tracer }
        isFound.store(true, ordering: .releasing)
        return tracer
    }
}
