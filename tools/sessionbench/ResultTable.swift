import Foundation

/// Prints results as an aligned text table.
enum ResultTable {
    static func render(_ results: [BenchmarkResult]) -> String {
        let header = ["workload", "store", "conc", "durability", "ops", "ops/s", "p50 µs", "p99 µs", "note"]
        let rows = results.map { result in
            [
                result.workload,
                result.store,
                String(result.concurrency),
                result.durability ?? "-",
                String(result.operations),
                format(result.opsPerSecond),
                String(format: "%.1f", result.p50Microseconds),
                String(format: "%.1f", result.p99Microseconds),
                result.note ?? "",
            ]
        }
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 || index == 1 || index == 3 || index == cells.count - 1 ? cell + padding : padding + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        if value >= 1_000_000 { return String(format: "%.2fM", value / 1_000_000) }
        if value >= 10_000 { return String(format: "%.1fk", value / 1000) }
        return String(format: "%.0f", value)
    }
}
