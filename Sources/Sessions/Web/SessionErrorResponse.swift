public import Logging

/// What a web integration answers when the session layer fails a request, the same for every
/// framework: the status, the text the client may see, and what goes to the log.
///
/// | error | status | the client reads | the log gets |
/// |---|---|---|---|
/// | ``CSRFProtection/Refusal`` | 403 | "Cross-site request refused." | the reason, at `notice` |
/// | ``SessionStoreError``, 4xx | ``SessionStoreError/httpStatusCode`` | the error's message | nothing |
/// | ``SessionStoreError``, 503 | 503 | "The session store is unavailable; try again shortly." | the error, at `error` |
/// | ``SessionStoreError``, 500 | 500 | "The session store failed." | the error, at `error` |
///
/// A 5xx never shows the client a path, a SQL message or a server address.
public struct SessionErrorResponse: Sendable, Hashable {
    /// The HTTP status code.
    public let status: Int
    /// The text for the response body.
    public let message: String

    /// The answer to `error`, logged to `logger`; nil for an error the session layer did not
    /// raise (the framework answers those as it always does).
    public init?(_ error: any Error, logger: Logger) {
        switch error {
        case let refusal as CSRFProtection.Refusal:
            logger.notice("cross-site request refused", metadata: ["reason": "\(refusal.reason)"])
            self.init(status: 403, message: "Cross-site request refused.")
        case let error as SessionStoreError:
            let status = error.httpStatusCode
            guard status >= 500 else {
                self.init(status: status, message: error.message)
                return
            }
            logger.error("session store failed", metadata: ["error": "\(error)"])
            self.init(status: status, message: status == 503 ? "The session store is unavailable; try again shortly." : "The session store failed.")
        default:
            return nil
        }
    }

    private init(status: Int, message: String) {
        self.status = status
        self.message = message
    }
}
