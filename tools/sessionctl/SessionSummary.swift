import Foundation
import Sessions

/// One session as `sessionctl` prints it in JSON.
struct SessionSummary: Codable {
    var id: Int64
    var tokenHash: String
    var userID: String?
    var createdAt: String
    var updatedAt: String
    var lastSeenAt: String
    var expiresAt: String
    var secondsLeft: Int64
    var expired: Bool
    var idleTimeoutSeconds: Int64?
    var absoluteExpiresAt: String?
    var version: Int64
    var ip: String?
    var userAgent: String?
    var lastSeenIP: String?
    var lastSeenUserAgent: String?
    var metadata: [String: String]
    var dataBytes: Int

    init(_ session: Session, now: SessionInstant) {
        id = session.id
        tokenHash = session.tokenHash.hex
        userID = session.userID
        createdAt = session.createdAt.description
        updatedAt = session.updatedAt.description
        lastSeenAt = session.lastSeenAt.description
        expiresAt = session.expiresAt.description
        secondsLeft = (session.expiresAt - now).wholeMilliseconds / 1000
        expired = session.isExpired(at: now)
        idleTimeoutSeconds = session.deadlines.idleTimeoutMilliseconds.map { $0 / 1000 }
        absoluteExpiresAt = session.deadlines.absoluteExpiresAt?.description
        version = session.version
        ip = session.ip
        userAgent = session.userAgent
        lastSeenIP = session.lastSeenIP
        lastSeenUserAgent = session.lastSeenUserAgent
        metadata = session.metadata
        dataBytes = session.data.count
    }
}

extension Format {
    /// "in 29m 12s", "expired 3m 05s ago".
    static func timeLeft(_ session: Session, now: SessionInstant) -> String {
        let left = session.expiresAt - now
        return left > .zero ? "in \(duration(left))" : "expired \(duration(.zero - left)) ago"
    }

    /// A string cut to `length` characters with an ellipsis.
    static func clip(_ text: String?, _ length: Int) -> String {
        guard let text else { return "-" }
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= length ? flat : String(flat.prefix(length - 1)) + "…"
    }
}
