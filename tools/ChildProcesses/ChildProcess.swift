import CChildProcess
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A program started with `posix_spawn`, for the tests and the benchmark.
///
/// Foundation's `Process` is not used: on Linux it lists every open descriptor of the parent to
/// close it in the child, and with a test run's thousand-plus open SQLite files it crashed inside
/// `Process.run()`. Here the child closes everything from descriptor 3 up in one file action
/// (`posix_spawn_file_actions_addclosefrom_np`), the pipes are close-on-exec from birth (so a
/// child started by another thread at the same moment cannot inherit them and keep them open),
/// and the child starts with every signal at its default disposition and none blocked.
///
/// A child that is still running when its `ChildProcess` is released is killed (SIGKILL) and
/// reaped, so a failing test leaves no process behind.
public final class ChildProcess: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// The parent's own stream.
        case inherit
        /// A pipe to the parent: write with ``collectOutput(input:)``, read with it too.
        case pipe
    }

    /// How a child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        /// The exit code, or 128 + the signal number as shells report a killed child.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): 128 + signal
            }
        }

        public var description: String {
            switch self {
            case .exited(let code): "exited with \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }
    }

    /// The child's process id.
    public let processIdentifier: Int32
    /// The parent's ends of the pipes asked for: standard input, output and error.
    private let pipes: Mutex<[Int32?]>
    /// Set once the child has been reaped; after that its pid may belong to someone else.
    private let termination = Mutex<Termination?>(nil)
    /// Output read by ``readLine(timeout:)`` past the line it returned.
    private let lineBuffer = Mutex<[UInt8]>([])

    /// Starts `executable` (an absolute path, or a name looked up in `PATH`).
    ///
    /// - Parameters:
    ///   - environment: The child's whole environment; nil inherits the parent's.
    public init(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String]? = nil,
        standardInput: Stream = .null,
        standardOutput: Stream = .null,
        standardError: Stream = .null
    ) throws(ChildProcessError) {
        if standardInput == .pipe { Self.ignoreBrokenPipes }
        guard let path = Self.find(executable) else {
            throw ChildProcessError("cannot start \(executable)", code: ENOENT)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        // Pipes: the child's end is dup2'ed onto 0/1/2 (dup2 clears close-on-exec on the copy).
        var parentEnds: [Int32?] = [nil, nil, nil]
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        do throws(ChildProcessError) {
            for (target, stream) in [standardInput, standardOutput, standardError].enumerated() {
                let target = Int32(target)
                switch stream {
                case .inherit:
                    break
                case .null:
                    let flags = target == 0 ? O_RDONLY : O_WRONLY
                    try Self.check(posix_spawn_file_actions_addopen(&actions, target, "/dev/null", flags, 0), "redirecting to /dev/null")
                case .pipe:
                    var ends: [Int32] = [-1, -1]
                    guard child_process_pipe(&ends) == 0 else { throw ChildProcessError("creating a pipe", code: errno) }
                    let (childEnd, parentEnd) = target == 0 ? (ends[0], ends[1]) : (ends[1], ends[0])
                    childEnds.append(childEnd)
                    parentEnds[Int(target)] = parentEnd
                    try Self.check(posix_spawn_file_actions_adddup2(&actions, childEnd, target), "redirecting a stream")
                }
            }
            try Self.check(child_process_add_close_from(&actions, 3), "closing inherited descriptors")
        } catch {
            parentEnds.compactMap { $0 }.forEach { close($0) }
            throw error
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = Self.cStrings([path] + arguments)
        defer { Self.free(argv) }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = Self.cStrings(variables)
        defer { Self.free(envp) }

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            parentEnds.compactMap { $0 }.forEach { close($0) }
            throw ChildProcessError("cannot start \(path)", code: spawned)
        }
        self.processIdentifier = pid
        self.pipes = Mutex(parentEnds)
    }

    deinit {
        pipes.withLock { $0.compactMap { $0 }.forEach { close($0) } }
        if termination.withLock({ $0 == nil }) {
            kill(processIdentifier, SIGKILL)
            _ = wait()
        }
    }

    /// A child that stops reading its input must not kill the parent with SIGPIPE: writes to it
    /// fail with EPIPE instead (set once, process-wide, before the first input pipe).
    private static let ignoreBrokenPipes: Void = {
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
    }()

    /// The absolute path of `name`: itself when it contains a slash, else the first executable
    /// of that name in `PATH`.
    public static func find(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").lazy.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// Writes `input` to the child's standard input and closes it, blocking until the child has
    /// read what does not fit in the pipe. For input the child reads before it writes much;
    /// otherwise use ``collectOutput(input:)``.
    public func finishInput(_ input: [UInt8]) throws(ChildProcessError) {
        guard let fd = pipes.withLock({ ends in
            defer { ends[0] = nil }
            return ends[0]
        }) else { return }
        defer { close(fd) }
        var written = 0
        while written < input.count {
            let count = input[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ChildProcessError("writing to the child", code: errno)
            }
            written += count
        }
    }

    /// Writes `line` and a newline to the child's standard input, which stays open: for a child
    /// that answers commands one line at a time (``readLine(timeout:)``).
    public func writeLine(_ line: String) throws(ChildProcessError) {
        try pipes.withLock { ends throws(ChildProcessError) in
            guard let fd = ends[0] else { throw ChildProcessError("the child's standard input is not a pipe", code: EBADF) }
            let bytes = Array((line + "\n").utf8)
            var written = 0
            while written < bytes.count {
                let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw ChildProcessError("writing to the child", code: errno)
                }
                written += count
            }
        }
    }

    /// The next line the child writes to its standard output, without its newline; nil when
    /// the output ends or `timeout` passes first. Blocks the calling thread while it waits.
    public func readLine(timeout: Duration) throws(ChildProcessError) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let line = lineBuffer.withLock({ buffer -> String? in
                guard let end = buffer.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                defer { buffer.removeSubrange(...end) }
                return String(decoding: buffer[..<end], as: UTF8.self)
            }) {
                return line
            }
            guard let fd = pipes.withLock({ $0[1] }) else { return nil }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            var polled = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&polled, 1, Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            if ready < 0 {
                if errno == EINTR { continue }
                throw ChildProcessError("waiting for the child's output", code: errno)
            }
            guard ready > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count > 0 {
                lineBuffer.withLock { $0 += chunk[..<count] }
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                return nil
            }
        }
    }

    /// Writes `input` to the child's standard input and closes it, while reading its standard
    /// output and error to their ends (all at once, so a chatty child never stalls on a full
    /// pipe). Streams that are not pipes read as empty.
    public func collectOutput(input: [UInt8] = []) throws(ChildProcessError) -> (output: [UInt8], error: [UInt8]) {
        // Each descriptor taken out of `pipes` is closed exactly once, by the line that sets its
        // variable to nil or by the defer: a second close could hit a descriptor number that
        // another thread has just been given for something else.
        let ends = pipes.withLock { ends in
            defer { ends = [nil, nil, nil] }
            return ends
        }
        var inputFD = ends[0]
        var open = [ends[1], ends[2]]
        defer { ([inputFD] + open).compactMap { $0 }.forEach { close($0) } }
        if let fd = inputFD { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var written = 0
        if input.isEmpty, let fd = inputFD {
            close(fd)
            inputFD = nil
        }
        var collected: [[UInt8]] = [[], []]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while inputFD != nil || open.contains(where: { $0 != nil }) {
            var polled: [pollfd] = []
            if let fd = inputFD { polled.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            for fd in open.compactMap({ $0 }) { polled.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            guard poll(&polled, nfds_t(polled.count), -1) >= 0 else {
                if errno == EINTR { continue }
                throw ChildProcessError("waiting for the child's output", code: errno)
            }
            for entry in polled where entry.revents != 0 {
                if entry.fd == inputFD {
                    let count = input[written...].withUnsafeBytes { Glibc.write(entry.fd, $0.baseAddress, $0.count) }
                    if count > 0 { written += count }
                    if count < 0 && errno != EAGAIN && errno != EINTR || written == input.count {
                        // Done, or the child stopped reading (EPIPE): either way it gets EOF.
                        close(entry.fd)
                        inputFD = nil
                    }
                    continue
                }
                guard let slot = open.firstIndex(of: entry.fd) else { continue }
                let count = Glibc.read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    collected[slot] += buffer[..<count]
                } else if count == 0 || errno != EINTR && errno != EAGAIN {
                    close(entry.fd)
                    open[slot] = nil
                }
            }
        }
        return (collected[0], collected[1])
    }

    /// Blocks until the child has exited and returns how; later calls return the same.
    public func wait() -> Termination {
        // Wait without reaping, so any number of callers can wait at once; then reap under the
        // lock exactly once.
        var info = siginfo_t()
        while waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        return termination.withLock { termination in
            if let termination { return termination }
            let reaped = Self.reap(processIdentifier, blocking: true) ?? .exited(-1)
            termination = reaped
            return reaped
        }
    }

    /// Waits for the child to exit on a thread of its own, so no task blocks a cooperative thread.
    public func exit() async -> Termination {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.wait()) }
        }
    }

    /// Whether the child is still running (a child that exited is reaped here).
    public var isRunning: Bool {
        termination.withLock { termination in
            if termination != nil { return false }
            termination = Self.reap(processIdentifier, blocking: false)
            return termination == nil
        }
    }

    /// Sends `signal` to the child, unless it has already been reaped.
    public func signal(_ signal: Int32) {
        termination.withLock { termination in
            if termination == nil { _ = kill(processIdentifier, signal) }
        }
    }

    private static func reap(_ pid: pid_t, blocking: Bool) -> Termination? {
        var status: Int32 = 0
        var result: pid_t
        repeat {
            result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
        } while result < 0 && errno == EINTR
        guard result == pid else { return result < 0 ? .exited(-1) : nil }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    private static func check(_ result: Int32, _ action: String) throws(ChildProcessError) {
        if result != 0 { throw ChildProcessError(action, code: result) }
    }

    private static func cStrings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let pointers = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
        pointers[strings.count] = nil
        return pointers
    }

    private static func free(_ pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) {
        var index = 0
        while let pointer = pointers[index] {
            Glibc.free(pointer)
            index += 1
        }
        pointers.deallocate()
    }
}

/// A child process could not be started or talked to.
public struct ChildProcessError: Error, CustomStringConvertible {
    public var action: String
    public var code: Int32

    init(_ action: String, code: Int32) {
        self.action = action
        self.code = code
    }

    public var description: String { "\(action): \(String(cString: strerror(code)))" }
}
