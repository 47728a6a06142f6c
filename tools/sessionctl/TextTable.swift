import Foundation

/// Columns of text padded to line up, for terminals.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (numbers).
    var rightAligned: Set<Int> = []

    init(_ headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    mutating func append(_ row: [String]) {
        rows.append(row)
    }

    func render() -> String {
        let widths = headers.indices.map { column in
            ([headers] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                return rightAligned.contains(index) ? padding + cell : cell + padding
            }.joined(separator: "  ").replacing(/\s+$/, with: "")
        }
        let rule = widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n")
    }
}

/// A horizontal bar chart of counts: one line per bucket.
enum TextHistogram {
    static func render(_ buckets: [(label: String, count: Int)], width: Int = 40) -> String {
        let largest = max(1, buckets.map(\.count).max() ?? 1)
        let labelWidth = buckets.map(\.label.count).max() ?? 0
        let countWidth = buckets.map { Format.count($0.count).count }.max() ?? 0
        return buckets.map { bucket in
            let bar = String(repeating: "█", count: bucket.count == 0 ? 0 : max(1, bucket.count * width / largest))
            let label = bucket.label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
            let count = String(repeating: " ", count: countWidth - Format.count(bucket.count).count) + Format.count(bucket.count)
            return "  \(label)  \(count)  \(bar)".replacing(/\s+$/, with: "")
        }.joined(separator: "\n")
    }
}
