import Foundation

/// Prints results as an aligned text table.
enum ResultTable {
    /// The table, with ✓ or ✗ beside each row a goal is about.
    static func render(_ results: [BenchmarkResult], goals: [GoalCheck] = []) -> String {
        let header = ["workload", "store", "conc", "durability", "ops", "ops/s", "p50 µs", "p99 µs", "goal", "note"]
        let rows = results.map { result in
            let marks = goals.filter { $0.row == Goals.key(result) }.map(\.mark)
            let mark = marks.isEmpty ? "" : marks.contains("✗") ? "✗" : marks.contains("✓") ? "✓" : "-"
            return [
                result.workload,
                result.store,
                String(result.concurrency),
                result.durability ?? "-",
                String(result.operations),
                format(result.opsPerSecond),
                String(format: "%.1f", result.p50Microseconds),
                String(format: "%.1f", result.p99Microseconds),
                mark,
                result.note ?? "",
            ]
        }
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                return [0, 1, 3, 8, cells.count - 1].contains(index) ? cell + padding : padding + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    /// 10000 → "10k", 1000000 → "1M".
    static func count(_ value: Int) -> String {
        if value >= 1_000_000 && value % 1_000_000 == 0 { return "\(value / 1_000_000)M" }
        if value >= 1000 && value % 1000 == 0 { return "\(value / 1000)k" }
        return String(value)
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f s", duration.seconds)
    }

    static func format(_ value: Double) -> String {
        if value >= 1_000_000 { return String(format: "%.2fM", value / 1_000_000) }
        if value >= 10_000 { return String(format: "%.1fk", value / 1000) }
        return String(format: "%.0f", value)
    }
}
