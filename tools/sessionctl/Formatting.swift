import Foundation
import Sessions

/// Number and size formatting for people.
enum Format {
    /// 1234567 → "1,234,567".
    static func count(_ value: some BinaryInteger) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// A rate with one decimal below 100/s.
    static func rate(_ value: Double) -> String {
        value >= 100 ? count(Int(value.rounded())) : String(format: "%.1f", value)
    }

    /// 1536 → "1.5 KiB".
    static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var size = Double(value)
        var unit = 0
        while size >= 1024 && unit < units.count - 1 {
            size /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : String(format: "%.1f %@", size, units[unit])
    }

    /// A duration as "2h 03m", "4m 05s" or "12.3s".
    static func duration(_ duration: Duration) -> String {
        let milliseconds = Int(duration.wholeMilliseconds)
        let seconds = milliseconds / 1000
        if seconds >= 3600 { return String(format: "%dh %02dm", seconds / 3600, (seconds % 3600) / 60) }
        if seconds >= 60 { return String(format: "%dm %02ds", seconds / 60, seconds % 60) }
        return String(format: "%.1fs", Double(milliseconds) / 1000)
    }
}
