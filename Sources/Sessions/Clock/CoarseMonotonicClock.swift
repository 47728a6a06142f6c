#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Nanoseconds from a monotonic clock, read as cheaply as the platform allows.
///
/// On Linux this is `CLOCK_MONOTONIC_COARSE`, a vDSO read of a value the kernel updates every
/// tick (a few milliseconds): plenty for "has 100 ms passed?" on a path that runs millions of
/// times a second.
enum CoarseMonotonicClock {
    static func nanoseconds() -> Int64 {
        var spec = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &spec)
        #else
        clock_gettime(CLOCK_MONOTONIC, &spec)
        #endif
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
