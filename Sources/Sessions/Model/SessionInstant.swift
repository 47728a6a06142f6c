public import Foundation

/// A point in wall-clock time with millisecond precision: milliseconds since 1970-01-01T00:00:00Z.
///
/// Session deadlines are persisted (SQLite columns, Redis `PXAT`) as Unix milliseconds, so the
/// library does all expiry arithmetic in that unit. Integer milliseconds compare exactly, which is
/// what makes "exactly at the deadline" well defined.
public struct SessionInstant: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch.
    public var millisecondsSince1970: Int64

    /// Creates an instant from Unix milliseconds.
    @inlinable
    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    /// An instant later than any real deadline.
    public static let distantFuture = SessionInstant(millisecondsSince1970: .max)

    /// Creates an instant from a `Date`, rounded to the nearest millisecond.
    public init(_ date: Date) {
        self.millisecondsSince1970 = Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// The same instant as a `Date`.
    public var date: Date {
        Date(timeIntervalSince1970: Double(millisecondsSince1970) / 1000)
    }

    /// ISO-8601 in UTC with milliseconds, e.g. `2026-11-22T10:15:30.250Z`.
    public var description: String {
        let milliseconds = millisecondsSince1970
        let (days, dayMilliseconds) = milliseconds.floorDividedBy(86_400_000)
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        let seconds = dayMilliseconds / 1000
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):"
            + "\(pad(seconds % 60, 2)).\(pad(dayMilliseconds % 1000, 3))Z"
    }

    /// Year, month and day of the proleptic Gregorian calendar for a day count since 1970-01-01
    /// (Howard Hinnant's `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html>).
    private static func civilDate(daysSince1970: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSince1970 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    @inlinable
    public static func < (lhs: SessionInstant, rhs: SessionInstant) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }

    /// The instant `duration` later, saturating instead of overflowing.
    @inlinable
    public static func + (lhs: SessionInstant, rhs: Duration) -> SessionInstant {
        let (sum, overflow) = lhs.millisecondsSince1970.addingReportingOverflow(rhs.wholeMilliseconds)
        return SessionInstant(millisecondsSince1970: overflow ? (rhs < .zero ? .min : .max) : sum)
    }

    /// The instant `duration` earlier, saturating instead of overflowing.
    @inlinable
    public static func - (lhs: SessionInstant, rhs: Duration) -> SessionInstant {
        lhs + (.zero - rhs)
    }

    /// The time from `rhs` to `lhs`.
    @inlinable
    public static func - (lhs: SessionInstant, rhs: SessionInstant) -> Duration {
        .milliseconds(lhs.millisecondsSince1970 &- rhs.millisecondsSince1970)
    }

    public init(from decoder: any Decoder) throws {
        self.millisecondsSince1970 = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(millisecondsSince1970)
    }
}

extension Int64 {
    /// Quotient rounded toward negative infinity, and the non-negative remainder.
    fileprivate func floorDividedBy(_ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}

extension Duration {
    /// Whole milliseconds in this duration, truncated toward zero and clamped to `Int64`.
    @inlinable
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }
}
