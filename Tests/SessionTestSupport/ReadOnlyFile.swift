import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Makes a file unwritable even for root, who ignores permission bits: `chattr +i` on file
/// systems that support it, `chmod a-w` for everyone else.
public enum ReadOnlyFile {
    public struct CannotProtect: Error, CustomStringConvertible {
        public var description: String
    }

    public static func protect(_ path: String) throws {
        if geteuid() == 0 {
            let result = try run("chattr", ["+i", path])
            guard result.status == 0 else {
                throw CannotProtect(description: "running as root and `chattr +i` failed: \(result.standardError)")
            }
        } else {
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        }
    }

    public static func unprotect(_ path: String) {
        if geteuid() == 0 { _ = try? run("chattr", ["-i", path]) }
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    }
}
