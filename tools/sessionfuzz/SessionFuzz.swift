import CFuzzerDriver
import Foundation
import SessionFuzzing

/// `sessionfuzz NAME [libFuzzer options] [corpus folders]`: runs one harness under libFuzzer
/// (when built with `-sanitize=fuzzer`, as `tools/fuzz` does), or else replays the files and
/// folders given through it and reports what broke.
@main
enum SessionFuzz {
    /// The harness the C callback runs (a C function pointer captures nothing, so it reads this).
    /// Safe without a lock: written once in `main` before libFuzzer starts, and libFuzzer calls
    /// the callback on the thread that called it, after that write.
    nonisolated(unsafe) static var harness = FuzzHarness.resp

    static func main() {
        var arguments = CommandLine.arguments
        guard arguments.count >= 2, let chosen = FuzzHarness(rawValue: arguments[1]) else {
            let names = FuzzHarness.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("usage: sessionfuzz NAME [libFuzzer options] [corpus folders]\nharnesses: \(names)\n".utf8))
            exit(2)
        }
        harness = chosen
        arguments.remove(at: 1)
        let status = withCStrings(arguments) { argc, argv in
            sessions_fuzzer_run(argc, argv) { data, size in
                let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
                do {
                    try SessionFuzz.harness.run(input)
                } catch {
                    fatalError("\(SessionFuzz.harness.rawValue): \(error)")
                }
                return 0
            }
        }
        if status >= 0 { exit(status) }
        exit(replay(Array(arguments.dropFirst()).filter { !$0.hasPrefix("-") }))
    }

    /// Runs every file (and every file in every folder) through the harness.
    static func replay(_ paths: [String]) -> Int32 {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
            if isFolder.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { "\(path)/\($0)" }
            } else {
                files.append(path)
            }
        }
        var broken = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            do {
                try harness.run(Array(data))
            } catch {
                broken += 1
                print("\(file): \(error)")
            }
        }
        print("sessionfuzz \(harness.rawValue): replayed \(files.count) inputs without libFuzzer, \(broken) broke a promise")
        return broken == 0 ? 0 : 1
    }

    /// Calls `body` with a C `argc`/`argv` for `arguments`.
    static func withCStrings(_ arguments: [String], _ body: (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32) -> Int32 {
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        var argc = Int32(arguments.count)
        return pointers.withUnsafeMutableBufferPointer { buffer in
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
            return body(&argc, &argv)
        }
    }
}
