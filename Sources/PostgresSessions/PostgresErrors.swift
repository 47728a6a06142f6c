#if Postgres
import PostgresNIO
import Sessions

/// Turns what postgres-nio throws into `SessionStoreError`, with the server's own
/// message (postgres-nio's `description` hides it, to keep data out of logs by accident; a
/// session store's errors never carry tokens or session data, so the message is safe to show).
enum PostgresErrors {
    static func mapping<Result>(_ doing: String, _ body: () async throws -> Result) async throws(SessionStoreError) -> Result {
        do {
            return try await body()
        } catch let error as SessionStoreError {
            throw error
        } catch let error as PSQLError {
            throw map(error, doing: doing)
        } catch let error as PostgresTransactionError {
            // What went wrong inside the transaction matters, not the wrapper.
            let cause = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            if let cause = cause as? SessionStoreError { throw cause }
            if let cause = cause as? PSQLError { throw map(cause, doing: doing) }
            throw SessionStoreError(.internalError, "\(doing) failed: \(String(reflecting: error))")
        } catch is CancellationError {
            throw SessionStoreError(.closed, "\(doing) was cancelled")
        } catch where "\(error)".contains("connectionCreationCircuitBreakerTripped") {
            // The pool's own error type is not public: it gave up after a minute of failed connects.
            throw SessionStoreError(
                .unavailable,
                "\(doing) failed: no connection to PostgreSQL could be made for a minute (the server is down or unreachable, or refuses these credentials)"
            )
        } catch {
            throw SessionStoreError(.internalError, "\(doing) failed: \(error)")
        }
    }

    static func map(_ error: PSQLError, doing: String) -> SessionStoreError {
        if let info = error.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = "\(doing) failed: PostgreSQL \(state): \(info[.message] ?? "")"
            switch state {
            case "53100": return SessionStoreError(.storageFull, message)
            // A NUL character or invalid UTF-8 in a text value: the input's fault, not the store's.
            case "22021", "22P05": return SessionStoreError(.invalidArgument, message)
            case "25006": return SessionStoreError(.readOnly, message)
            case "40001", "40P01", "55P03": return SessionStoreError(.busy, message)
            case "57P01", "57P02", "57P03", "08000", "08003", "08006": return SessionStoreError(.unavailable, message)
            case "42P01", "42703": return SessionStoreError(.incompatibleSchema, message)
            // Credentials refused, or no such database: the URL is wrong, not the server.
            case "28000", "28P01", "3D000": return SessionStoreError(.configurationError, message)
            default: return SessionStoreError(.internalError, message)
            }
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .sslUnsupported, .failedToAddSSLHandler:
            return SessionStoreError(.unavailable, "\(doing) failed: PostgreSQL is unreachable (\(error.code)\(error.underlying.map { ": \($0)" } ?? ""))")
        case .poolClosed:
            return SessionStoreError(.closed, "\(doing) failed: the store is closed")
        case .queryCancelled:
            return SessionStoreError(.timeout, "\(doing) was cancelled by PostgreSQL")
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            return SessionStoreError(.configurationError, "\(doing) failed: PostgreSQL refused to authenticate (\(error.code))")
        default:
            return SessionStoreError(.protocolError, "\(doing) failed: \(error.code)")
        }
    }
}
#endif
