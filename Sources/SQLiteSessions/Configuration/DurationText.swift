import Foundation
public import Sessions

/// Durations as people write them in environment variables: `3600` (seconds), `90s`, `30m`,
/// `12h`, `7d`, `250ms`, or combinations such as `1h30m`.
public enum DurationText {
    /// Parses `text`.
    ///
    /// - Parameters:
    ///   - text: The duration as written.
    ///   - name: The variable it came from, for the error message.
    /// - Throws: `SessionStoreError.Code.configurationError` saying what is accepted.
    public static func parse(_ text: String, name: String) throws(SessionStoreError) -> Duration {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let failure = SessionStoreError(
            .configurationError,
            "\(name)=\"\(text)\" is not a duration: use seconds (3600) or values like 250ms, 90s, 30m, 12h, 7d, 1h30m"
        )
        if let seconds = Int64(trimmed) {
            guard seconds >= 0 else { throw failure }
            return .seconds(seconds)
        }
        var total = Duration.zero
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { throw failure }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let value = Int64(digits), value <= 1_000_000_000 else { throw failure }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .seconds(value)
            case "m": total += .seconds(value * 60)
            case "h": total += .seconds(value * 3600)
            case "d": total += .seconds(value * 86_400)
            default: throw failure
            }
        }
        return total
    }
}
