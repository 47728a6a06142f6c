/// The bounded retry behind ``SessionStore/update(_:maxAttempts:client:_:)`` and the framework
/// integrations' saves: run an attempt on the session as last read, and on
/// ``SessionStoreError/Code/conflict`` read it again and run the attempt again.
public struct SessionConflictRetry: Sendable {
    /// Attempts made unless told otherwise.
    public static let defaultAttempts = 5

    /// The most attempts, at least 1.
    public let maxAttempts: Int

    /// Creates a retry making at most `maxAttempts` attempts; ``run(_:store:client:startingFrom:_:)``
    /// throws ``SessionStoreError/Code/invalidArgument`` when it is not positive.
    public init(maxAttempts: Int = SessionConflictRetry.defaultAttempts) {
        self.maxAttempts = maxAttempts
    }

    /// Runs `attempt` with `startingFrom` (or a fresh load when nil is passed as the first read),
    /// then with a fresh load after each conflict.
    ///
    /// - Parameters:
    ///   - token: The session's token.
    ///   - store: The store to read from and save to.
    ///   - client: The client making the request, recorded as the session's last use by a load.
    ///   - startingFrom: The session as already read, to save the first load; nil to load first.
    ///   - attempt: Receives the session as stored (nil when missing or expired); throws
    ///     ``SessionStoreError/Code/conflict`` to ask for another read.
    /// - Throws: The last conflict, with a message saying how many attempts lost, once every
    ///   attempt has; any other error at once.
    public func run<R>(
        _ token: SessionToken,
        store: some SessionStore,
        client: SessionClient?,
        startingFrom: Session?,
        _ attempt: (Session?) async throws -> R
    ) async throws -> R {
        try SessionPolicy.validate(limit: maxAttempts, name: "maxAttempts")
        var current = startingFrom
        var loaded = startingFrom != nil
        for number in 1...maxAttempts {
            if !loaded { current = try await store.load(token, client: client) }
            do {
                return try await attempt(current)
            } catch let error as SessionStoreError where error.code == .conflict {
                guard number < maxAttempts else {
                    throw SessionStoreError(
                        .conflict,
                        "session \(token.hash.shortHex) was changed by other requests during each of \(maxAttempts) attempts to save it",
                        underlying: SessionStoreError.Underlying(code: nil, message: error.message)
                    )
                }
                loaded = false
            }
        }
        // The loop returns or throws on its last attempt.
        throw SessionStoreError(.internalError, "conflict retry ended without a result")
    }
}
