#if Vapor
import Foundation
import Sessions
import Vapor

/// Vapor's `SessionData`, a dictionary of strings, as the JSON the store keeps (sorted keys, so
/// the same data always gives the same bytes and an unchanged session is seen as unchanged).
struct VaporSessionData {
    let bytes: Data

    init(_ data: SessionData) throws {
        bytes = try SessionDataCoding.encode(data.snapshot)
    }

    /// The session data in `bytes`, or nil when they are not a JSON object of strings (a
    /// session written by another integration).
    static func decode(_ bytes: Data) -> SessionData? {
        if bytes.isEmpty { return SessionData() }
        guard let values = try? JSONDecoder().decode([String: String].self, from: bytes) else { return nil }
        return SessionData(initialData: values)
    }

    /// What turns `old` into `new`: keys set to a value, and removed keys to nil.
    static func changes(from old: [String: String], to new: [String: String]) -> [String: String?] {
        var changes: [String: String?] = [:]
        for (key, value) in new where old[key] != value { changes[key] = .some(value) }
        for key in old.keys where new[key] == nil { changes[key] = .some(nil) }
        return changes
    }
}
#endif
