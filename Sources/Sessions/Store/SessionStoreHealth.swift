/// The answer of ``SessionStoreAdministration/healthCheck()``, shaped for a readiness endpoint.
public struct SessionStoreHealth: Sendable, Hashable, CustomStringConvertible {
    /// How well the store can serve.
    public enum Status: String, Sendable, Hashable, Comparable {
        /// Everything works.
        case healthy
        /// Requests are served, but something needs attention (a replica is behind, a touch failed).
        case degraded
        /// Requests fail.
        case unhealthy

        private var rank: Int {
            switch self {
            case .healthy: 0
            case .degraded: 1
            case .unhealthy: 2
            }
        }

        public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rank < rhs.rank }
    }

    /// The overall status: the worst of the checks.
    public var status: Status
    /// One line for people.
    public var message: String
    /// Named figures behind the status (file path, lag, last error...).
    public var details: [String: String]

    /// Creates a health report; each parameter sets the property of the same name.
    public init(status: Status, message: String, details: [String: String] = [:]) {
        self.status = status
        self.message = message
        self.details = details
    }

    public var description: String { "\(status.rawValue): \(message)" }
}
