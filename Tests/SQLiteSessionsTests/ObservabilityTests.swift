import Foundation
import InMemoryTracing
import MetricsTestKit
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing
import Tracing

/// The store's metrics (swift-metrics) and spans (swift-distributed-tracing).
@Suite("Store metrics and spans")
struct ObservabilityTests {
    /// An attribute's value as text.
    static func text(_ attribute: SpanAttribute?) -> String? {
        switch attribute {
        case nil: nil
        case .string(let value): value
        case .int64(let value): String(value)
        case .int32(let value): String(value)
        case .bool(let value): String(value)
        case let other?: String(describing: other)
        }
    }

    func text(_ attribute: (any SpanAttributeConvertible)?) -> String? { Self.text(attribute?.toSpanAttribute()) }

    @Test func commitsPurgesAndTouchesAreCounted() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let metrics = TestMetrics()
        let clock = ManualSessionClock()
        let store = try SQLiteSessionStore(
            path: directory.appendingPathComponent("s.sqlite").path,
            policy: SessionPolicy(expiration: .idle(.seconds(600)), clock: clock),
            configuration: .init(durability: .normal, metricsPrefix: "test_sqlite", metricsFactory: metrics)
        )
        // 40 creates from 40 tasks: some share a group commit, each is in exactly one.
        let issued = try await withThrowingTaskGroup(of: IssuedSession.self) { group in
            for index in 0..<40 { group.addTask { try await store.create(userID: "u\(index % 4)") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let commits = try metrics.expectCounter("test_sqlite_commits_total").totalValue
        let perCommit = try metrics.expectRecorder("test_sqlite_commit_operations").values
        #expect(commits >= 1 && commits <= 40)
        #expect(perCommit.count == Int(commits))
        #expect(perCommit.reduce(0, +) == 40, "every operation counted in the commit that carried it: \(perCommit)")
        #expect(try metrics.expectTimer("test_sqlite_commit_duration_seconds").values.count == Int(commits))
        #expect(try metrics.expectGauge("test_sqlite_writer_queue_depth").values.allSatisfy { $0 >= 1 })
        #expect(try metrics.expectCounter("test_sqlite_commit_failures_total").totalValue == 0)

        // A load soon after the create does not write; one after the touch interval does.
        _ = try await store.load(issued[0].token)
        #expect(try metrics.expectCounter("test_sqlite_touches_total", [("outcome", "skipped")]).totalValue == 1)
        clock.advance(by: .seconds(300))
        _ = try await store.load(issued[1].token)
        try await store.flush()
        #expect(try metrics.expectCounter("test_sqlite_touches_total", [("outcome", "written")]).totalValue == 1)

        // All but one expire; the purge counts its rows, and the change log's length is measured.
        clock.advance(by: .seconds(400))
        #expect(try await store.purgeExpired(limit: 1000) == 39)
        #expect(try metrics.expectCounter("test_sqlite_purged_rows_total").totalValue == 39)
        let logged = try #require(try metrics.expectGauge("test_sqlite_change_log_entries").lastValue)
        #expect(logged == Double(try await store.databaseInfo().changeLogEntries))
        #expect(logged >= 39 && logged < 40 + 39, "the expiries are logged; the creates, past the retention, trimmed")
        try await store.close()
    }

    @Test func everyOperationIsASpanUnderTheCallersSpanWithoutSecrets() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tracer = InMemoryTracer()
        let clock = ManualSessionClock()
        let backing = try SQLiteSessionStore(
            path: directory.appendingPathComponent("s.sqlite").path,
            policy: SessionPolicy(expiration: .idle(.seconds(600)), clock: clock),
            configuration: .init(durability: .normal, tracer: tracer)
        )
        let store = try CachedSessionStore(wrapping: backing, configuration: .init(tracer: tracer))
        let secretData = "card-4111111111111111"
        var tokens: [String] = []
        try await tracer.withSpan("POST /login", context: .topLevel) { _ in
            let issued = try await store.create(userID: "alice", data: Data(#"{"secret":"\#(secretData)"}"#.utf8))
            tokens.append(issued.token.stringValue)
            _ = try await store.load(issued.token)  // a hit: the create filled the cache
            _ = try await store.load(SessionToken.generate())  // a miss, then remembered as absent
            let rotated = try #require(try await store.rotate(issued.token))
            tokens.append(rotated.token.stringValue)
            var session = rotated.session
            session.data = Data("{}".utf8)
            _ = try await store.save(session)
            _ = try await store.delete(rotated.token)
        }
        clock.advance(by: .seconds(700))
        _ = try await store.purgeExpired(limit: 100)

        let spans = tracer.finishedSpans
        let request = try #require(spans.first { $0.operationName == "POST /login" })
        let children = spans.filter { $0.traceID == request.traceID && $0.spanID != request.spanID }
        let names = children.map { "\($0.operationName)@\(text($0.attributes["sessions.store"]) ?? "?")" }
        #expect(names.contains("sessions.create@sqlite"))
        #expect(names.contains("sessions.load@cached"))
        #expect(names.contains("sessions.load@sqlite"), "the miss reads through, in a span under the cache's")
        #expect(names.contains("sessions.rotate@sqlite"))
        #expect(names.contains("sessions.save@sqlite"))
        #expect(names.contains("sessions.delete@sqlite"))
        let cacheOutcomes = children.filter { $0.operationName == "sessions.load" }.compactMap { text($0.attributes["sessions.cache"]) }
        #expect(cacheOutcomes.sorted() == ["hit", "miss"], "\(cacheOutcomes)")
        let miss = try #require(children.first { text($0.attributes["sessions.cache"]) == "miss" })
        let readThrough = try #require(children.first { $0.operationName == "sessions.load" && text($0.attributes["sessions.store"]) == "sqlite" })
        #expect(readThrough.parentSpanID == miss.spanID)
        #expect(text(readThrough.attributes["sessions.found"]) == "false")
        let create = try #require(children.first { $0.operationName == "sessions.create" })
        #expect(create.parentSpanID == request.spanID)
        #expect(text(create.attributes["sessions.commit.operations"]) == "1")
        #expect(text(create.attributes["sessions.token_hash"])?.count == 8)

        let purge = try #require(spans.first { $0.operationName == "sessions.purge" })
        #expect(purge.traceID != request.traceID, "background work starts its own trace")
        #expect(text(purge.attributes["sessions.rows"]) == "0", "the deleted session left nothing to purge")

        // Nothing secret in any attribute: no token, no data.
        for span in spans {
            span.attributes.forEach { key, value in
                let text = Self.text(value) ?? ""
                #expect(!text.contains(secretData), "\(span.operationName) \(key)")
                for token in tokens { #expect(!text.contains(token), "\(span.operationName) \(key)") }
            }
        }
        try await store.close()
    }

    @Test func aFailedOperationMarksItsSpan() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tracer = InMemoryTracer()
        let store = try SQLiteSessionStore(
            path: directory.appendingPathComponent("s.sqlite").path,
            configuration: .init(durability: .normal, tracer: tracer)
        )
        let issued = try await store.create()
        var stale = issued.session
        stale.data = Data("x".utf8)
        _ = try await store.save(stale)
        await #expect(throws: SessionStoreError.self) { try await store.save(stale, expectedVersion: issued.session.version) }
        let failed = try #require(tracer.finishedSpans.last { $0.operationName == "sessions.save" })
        #expect(failed.status?.code == .error)
        #expect(text(failed.attributes["sessions.error"]) == "conflict")
        #expect(failed.errors.count == 1)
        try await store.close()
    }
}
