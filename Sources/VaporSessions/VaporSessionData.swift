#if Vapor
import Foundation
import Sessions
import Vapor

/// Vapor's `SessionData`, a dictionary of strings, as the JSON the store keeps (sorted keys, so
/// the same data always gives the same bytes and an unchanged session is seen as unchanged).
enum VaporSessionData {
    /// The session data in `bytes`, or nil when they are not a JSON object of strings (data
    /// written through `req.storeSession.setData(_:)`).
    static func decode(_ bytes: Data) -> SessionData? {
        (try? values(in: bytes)).map { SessionData(initialData: $0) }
    }

    /// The strings in `bytes`; empty for no data.
    ///
    /// - Throws: `SessionStoreError.Code.invalidArgument` when the session holds other
    ///   data, so a change through `req.session.data` cannot overwrite it.
    static func values(in bytes: Data) throws -> [String: String] {
        if bytes.isEmpty { return [:] }
        do {
            return try JSONDecoder().decode([String: String].self, from: bytes)
        } catch {
            throw SessionStoreError(
                .invalidArgument,
                "this session's data is not a JSON object of strings, so req.session.data cannot change it; use req.storeSession.updateData(as:default:_:)"
            )
        }
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
