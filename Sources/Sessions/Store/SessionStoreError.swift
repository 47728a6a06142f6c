/// The one error type every session store throws.
///
/// Match on ``code``; ``message`` is written for people and may change between releases. When the
/// error came from a backend (an SQLite result code, a Redis error reply, a socket error),
/// ``underlying`` carries the backend's own code and text unchanged.
///
/// ```swift
/// do {
///     try await store.save(session, expectedVersion: session.version)
/// } catch let error as SessionStoreError where error.code == .conflict {
///     // somebody else saved first: reload and retry
/// }
/// ```
public struct SessionStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a value to match on. New codes may be added; they never break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case malformedToken
            case notFound
            case conflict
            case payloadTooLarge
            case invalidArgument
            case storageFull
            case readOnly
            case corruptDatabase
            case incompatibleSchema
            case busy
            case ioError
            case closed
            case unavailable
            case timeout
            case protocolError
            case decryptionFailed
            case configurationError
            case internalError
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public var description: String { base.rawValue }

        /// A token that is not 43 base64url characters encoding 32 bytes. Rejected before any I/O.
        public static let malformedToken = Code(.malformedToken)
        /// The session does not exist (or has expired) where the operation needs it to.
        public static let notFound = Code(.notFound)
        /// A compare-and-swap save found a different version than expected.
        public static let conflict = Code(.conflict)
        /// Session data or a message is larger than the configured maximum.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// An argument is out of range: a zero or negative TTL, a negative limit, an empty user id.
        public static let invalidArgument = Code(.invalidArgument)
        /// The disk or the configured size limit is full. The write was rolled back; the store still works.
        public static let storageFull = Code(.storageFull)
        /// The database file or its directory cannot be written.
        public static let readOnly = Code(.readOnly)
        /// The file is not a session database, or is damaged or truncated.
        public static let corruptDatabase = Code(.corruptDatabase)
        /// The database was written by a newer version of this library.
        public static let incompatibleSchema = Code(.incompatibleSchema)
        /// Another process held a lock for longer than the configured busy timeout.
        public static let busy = Code(.busy)
        /// The operating system reported an I/O error.
        public static let ioError = Code(.ioError)
        /// The store was closed.
        public static let closed = Code(.closed)
        /// A remote backend (Redis) cannot be reached.
        public static let unavailable = Code(.unavailable)
        /// A remote backend did not answer in time.
        public static let timeout = Code(.timeout)
        /// A remote backend answered something this client does not understand.
        public static let protocolError = Code(.protocolError)
        /// Encrypted session data failed authentication: tampered, truncated, or an unknown key.
        public static let decryptionFailed = Code(.decryptionFailed)
        /// A configuration value (URL, environment variable, option) is invalid.
        public static let configurationError = Code(.configurationError)
        /// A bug or an unexpected state inside the library.
        public static let internalError = Code(.internalError)
    }

    /// The error a backend reported, kept as it was.
    public struct Underlying: Sendable, Hashable, CustomStringConvertible {
        /// The backend's numeric code, such as an SQLite extended result code.
        public var code: Int32?
        /// The backend's message.
        public var message: String

        /// Creates an underlying error; each parameter sets the property of the same name.
        public init(code: Int32?, message: String) {
            self.code = code
            self.message = message
        }

        public var description: String {
            if let code { "\(message) (code \(code))" } else { message }
        }
    }

    /// What went wrong.
    public var code: Code
    /// A sentence for people: what failed and, where known, what to do about it.
    public var message: String
    /// The backend's own error, when there was one.
    public var underlying: Underlying?

    /// Creates an error; each parameter sets the property of the same name.
    public init(_ code: Code, _ message: String, underlying: Underlying? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying {
            "\(code): \(message) [\(underlying)]"
        } else {
            "\(code): \(message)"
        }
    }
}
