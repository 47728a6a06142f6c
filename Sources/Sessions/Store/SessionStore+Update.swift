import Foundation

extension SessionStore {
    /// Loads a session, lets `body` change it, and saves it with compare-and-swap; when another
    /// writer saved first, reads again and runs `body` on what is stored now.
    ///
    /// This is the "update by merging" call other session libraries offer: two requests that add
    /// to one cart at the same moment both land, because the one that loses the race re-applies its
    /// change to the winner's result instead of overwriting it.
    ///
    /// ```swift
    /// try await store.update(token) { session in
    ///     session.metadata["theme"] = "dark"
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - token: The client's token.
    ///   - maxAttempts: How many times to read and save before giving up; at least 1.
    ///   - client: The requesting client, recorded as a use.
    ///   - body: Changes the session's ``Session/userID``, ``Session/data`` or ``Session/metadata``.
    ///     It may run more than once, each time on a fresh read; leaving the session as it is
    ///     writes nothing.
    /// - Returns: The session as stored afterwards, or nil when it is missing, expired, or was
    ///   deleted before the save (it is never recreated).
    /// - Throws: ``SessionStoreError/Code/conflict`` when every attempt lost a race; whatever
    ///   `body` throws, with nothing written.
    @discardableResult
    public func update(
        _ token: SessionToken,
        maxAttempts: Int = SessionConflictRetry.defaultAttempts,
        client: SessionClient? = nil,
        _ body: (inout Session) throws -> Void
    ) async throws -> Session? {
        try await SessionConflictRetry(maxAttempts: maxAttempts).run(token, store: self, client: client, startingFrom: nil) { loaded in
            guard let loaded else { return nil }
            var changed = loaded
            try body(&changed)
            guard !changed.hasSameContents(as: loaded) else { return loaded }
            do {
                return try await save(changed, expectedVersion: loaded.version)
            } catch let error as SessionStoreError where error.code == .notFound {
                return nil
            }
        }
    }

    /// Loads a session's data as `T` (JSON), lets `body` change it, and saves it with
    /// compare-and-swap, retrying on a fresh read when another writer saved first.
    ///
    /// ```swift
    /// struct Cart: Codable { var items: [String] = [] }
    /// try await store.update(token, as: Cart.self, default: Cart()) { cart in
    ///     cart.items.append("book")
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - token: The session's token.
    ///   - type: The type of the session's data.
    ///   - defaultValue: The value to start from when the session has no data yet; nil makes
    ///     empty data a decoding error.
    ///   - maxAttempts: How many reads and saves to try before giving up on a race.
    ///   - client: The client making the request, recorded as the session's last use.
    ///   - body: Changes the value. It may run more than once, each time on a fresh read.
    /// - Returns: The value as stored afterwards, or nil when the session is missing or gone.
    /// - Throws: ``SessionStoreError/Code/conflict`` when every attempt lost a race; a decoding
    ///   error when the stored data is not a `T`.
    @discardableResult
    public func update<T: Codable>(
        _ token: SessionToken,
        as type: T.Type,
        default defaultValue: @autoclosure () -> T? = nil,
        maxAttempts: Int = SessionConflictRetry.defaultAttempts,
        client: SessionClient? = nil,
        _ body: (inout T) throws -> Void
    ) async throws -> T? {
        var result: T?
        let stored = try await update(token, maxAttempts: maxAttempts, client: client) { session in
            var value = try session.decodeData(as: T.self) ?? defaultValue().orThrow(SessionDataCoding.emptyData(T.self))
            try body(&value)
            try session.encodeData(value)
            result = value
        }
        return stored == nil ? nil : result
    }
}

extension Optional {
    fileprivate func orThrow(_ error: @autoclosure () -> some Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
