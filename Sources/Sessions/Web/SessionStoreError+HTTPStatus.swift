extension SessionStoreError {
    /// The HTTP status code a web integration answers with when a request fails with this error.
    ///
    /// | code | status |
    /// |---|---|
    /// | `conflict` | 409: other requests kept changing the session |
    /// | `payloadTooLarge` | 413 |
    /// | `malformedToken`, `invalidArgument` | 400 |
    /// | `notFound` | 404 |
    /// | `busy`, `unavailable`, `timeout`, `closed`, `storageFull`, `readOnly` | 503: try again later |
    /// | anything else | 500 |
    public var httpStatusCode: Int {
        switch code {
        case .conflict: 409
        case .payloadTooLarge: 413
        case .malformedToken, .invalidArgument: 400
        case .notFound: 404
        case .busy, .unavailable, .timeout, .closed, .storageFull, .readOnly: 503
        default: 500
        }
    }
}
