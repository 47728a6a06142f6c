import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns Ctrl-C into a flag the command checks between chunks, instead of killing it mid-way.
final class Interruption {
    private let source: any DispatchSourceSignal
    private let flag = Flag()

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let flag = self.flag
        source.setEventHandler { flag.set() }
        source.resume()
    }

    var requested: Bool { flag.isSet }

    private final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }
}
