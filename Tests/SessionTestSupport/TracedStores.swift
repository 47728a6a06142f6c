public import Foundation
public import InMemoryTracing
public import Sessions
import SQLiteSessions
public import Testing
import Tracing

/// A cached SQLite store whose spans go to `tracer`, for tests of span nesting.
public func makeTracedStore(in directory: URL, tracer: InMemoryTracer) throws -> CachedSessionStore {
    let backing = try SQLiteSessionStore(
        path: directory.appendingPathComponent("traced.sqlite").path,
        configuration: .init(durability: .normal, tracer: tracer)
    )
    return try CachedSessionStore(wrapping: backing, configuration: .init(tracer: tracer))
}

/// The store's spans, each with the server span (the framework's request span) it nests under.
public func storeSpansUnderRequests(_ tracer: InMemoryTracer) -> [(store: FinishedInMemorySpan, request: FinishedInMemorySpan?)] {
    let spans = tracer.finishedSpans
    let servers = spans.filter { $0.kind == .server }
    return spans.filter { $0.attributes["sessions.store"] != nil }.map { span in
        // Under the request span itself, or under a store span that is (a cache miss's read-through).
        var parent = span.spanContext.parentSpanID
        while let id = parent, !servers.contains(where: { $0.spanID == id }) {
            parent = spans.first { $0.spanID == id }?.spanContext.parentSpanID
        }
        return (span, servers.first { $0.spanID == parent && $0.traceID == span.traceID })
    }
}

/// Expects spans named `operations` among the store's, and every store span under a request span.
public func expectStoreSpansUnderRequests(
    _ tracer: InMemoryTracer,
    including operations: Set<String> = ["sessions.create", "sessions.load"],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let nested = storeSpansUnderRequests(tracer)
    let names = Set(nested.map(\.store.operationName))
    #expect(names.isSuperset(of: operations), "\(names)", sourceLocation: sourceLocation)
    for (span, request) in nested {
        #expect(request != nil, "\(span.operationName) is not under a request span", sourceLocation: sourceLocation)
    }
}
