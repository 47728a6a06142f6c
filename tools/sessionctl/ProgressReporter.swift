import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Progress of a long command: a line redrawn in place on a terminal (a bar, count, rate and
/// ETA). When the output goes to a file or a pipe, nothing, or (for long simulations whose log
/// people watch) a plain line every tenth of the way.
final class ProgressReporter {
    enum Output {
        case standardOutput
        case standardError

        var descriptor: Int32 {
            switch self {
            case .standardOutput: STDOUT_FILENO
            case .standardError: STDERR_FILENO
            }
        }
    }

    private let total: Int
    private let output: Output
    private let plainTenths: Bool
    private let isTerminal: Bool
    private let started = ContinuousClock.now
    private var lastTenth = 0
    private var lastDraw = ContinuousClock.now - .seconds(1)

    /// - Parameters:
    ///   - total: The amount of work, or 0 when unknown.
    ///   - output: Where to write; standard error when standard output carries data.
    ///   - plainTenths: Without a terminal, write a line every tenth of the way.
    init(total: Int, on output: Output, plainTenths: Bool = false) {
        self.total = total
        self.output = output
        self.plainTenths = plainTenths
        self.isTerminal = isatty(output.descriptor) == 1
    }

    /// Draws `done` out of the total with a bar, rate and ETA.
    func update(done: Int, label: String) {
        let elapsed = (ContinuousClock.now - started).seconds
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var text = "\(label) \(Format.count(done))"
        if total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let filled = Int(fraction * 30)
            text = "\(label) [\(String(repeating: "█", count: filled))\(String(repeating: "·", count: 30 - filled))] "
                + "\(Format.count(done))/\(Format.count(total)) \(String(format: "%3.0f", fraction * 100))%"
            if rate > 0 && done < total {
                text += " ETA \(Format.duration(.milliseconds(Int64(Double(total - done) / rate * 1000))))"
            }
        }
        text += " \(Format.rate(rate))/s"
        update(done: done, text: text)
    }

    /// Shows `text` as the current state.
    func update(done: Int, text: String) {
        if isTerminal {
            guard ContinuousClock.now - lastDraw >= .milliseconds(100) || done == total else { return }
            lastDraw = .now
            write("\r\u{1B}[2K" + text)
        } else if plainTenths, total > 0, done * 10 / total > lastTenth {
            lastTenth = done * 10 / total
            write(text + "\n")
        }
    }

    /// Ends the redrawn line.
    func finish() {
        if isTerminal { write("\n") }
    }

    private func write(_ text: String) {
        let handle = output == .standardOutput ? FileHandle.standardOutput : FileHandle.standardError
        handle.write(Data(text.utf8))
    }
}
