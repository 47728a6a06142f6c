import Sessions
import Testing

@Suite("Expiry arithmetic")
struct ExpiryTests {
    let start = SessionInstant(millisecondsSince1970: 1_000_000)

    @Test func deadlinesTakeTheEarlierLimit() {
        let hybrid = SessionDeadlines(.hybrid(idle: .seconds(10), absolute: .seconds(15)), appliedAt: start)
        #expect(hybrid.expiresAt(lastSeenAt: start) == start + .seconds(10))
        #expect(hybrid.expiresAt(lastSeenAt: start + .seconds(8)) == start + .seconds(15))
        let idle = SessionDeadlines(.idle(.seconds(10)), appliedAt: start)
        #expect(idle.absoluteExpiresAt == nil)
        #expect(idle.expiresAt(lastSeenAt: start + .seconds(100)) == start + .seconds(110))
        let absolute = SessionDeadlines(.absolute(.seconds(10)), appliedAt: start)
        #expect(absolute.idleTimeout == nil)
        #expect(absolute.expiresAt(lastSeenAt: start + .seconds(100)) == start + .seconds(10))
    }

    @Test func defaultTouchIntervalIsTheSmallerOfAMinuteAndATenthOfIdle() {
        let policy = SessionPolicy()
        #expect(policy.touchInterval(forIdleTimeout: .seconds(3600)) == .seconds(60))
        #expect(policy.touchInterval(forIdleTimeout: .seconds(100)) == .seconds(10))
        var explicit = SessionPolicy()
        explicit.touchInterval = .zero
        #expect(explicit.touchInterval(forIdleTimeout: .seconds(100)) == .zero)
    }

    @Test func instantArithmeticSaturates() {
        let far = SessionInstant(millisecondsSince1970: .max - 5)
        #expect((far + .seconds(10)).millisecondsSince1970 == .max)
        #expect((SessionInstant(millisecondsSince1970: .min + 5) - .seconds(10)).millisecondsSince1970 == .min)
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
        #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
        #expect(SessionInstant(millisecondsSince1970: 1_767_225_600_250).description == "2026-01-01T00:00:00.250Z")
    }

    @Test func manualClockMovesOnlyWhenTold() {
        let clock = ManualSessionClock(start)
        #expect(clock.now == start)
        clock.advance(by: .milliseconds(1500))
        #expect(clock.now == start + .milliseconds(1500))
        clock.set(start)
        #expect(clock.now == start)
    }
}

@Suite("Instant formatting")
struct InstantFormattingTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(1_767_225_599_999), "2025-12-31T23:59:59.999Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
        (Int64(4_102_444_800_000), "2100-01-01T00:00:00.000Z"),
    ])
    func iso8601InUTC(_ milliseconds: Int64, _ expected: String) {
        #expect(SessionInstant(millisecondsSince1970: milliseconds).description == expected)
    }
}
