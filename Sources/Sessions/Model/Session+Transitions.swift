// The state changes every store applies to a stored session, written once so that memory, SQLite
// and Redis stores cannot drift apart. Each takes the stored row as it is now and returns the row
// to store; the store supplies atomicity (a lock, a transaction, a script).

extension Session {
    /// A new session as ``SessionStore/create(_:)`` stores it.
    ///
    /// - Parameters:
    ///   - id: The store's identifier for the new row.
    ///   - token: The freshly minted token.
    ///   - draft: A draft already checked by ``SessionPolicy/validated(_:)``.
    ///   - policy: Supplies the default expiry.
    ///   - now: Creation time.
    public static func new(
        id: Int64,
        token: SessionToken,
        draft: SessionDraft,
        policy: SessionPolicy,
        now: SessionInstant
    ) -> Session {
        Session(
            id: id,
            tokenHash: token.hash,
            userID: draft.userID,
            data: draft.data,
            metadata: draft.metadata,
            createdAt: now,
            updatedAt: now,
            lastSeenAt: now,
            deadlines: SessionDeadlines(draft.expiration ?? policy.expiration, appliedAt: now),
            version: 1,
            ip: draft.ip,
            userAgent: draft.userAgent,
            lastSeenIP: draft.ip,
            lastSeenUserAgent: draft.userAgent
        )
    }

    /// This stored session after ``SessionStore/save(_:expectedVersion:)`` with `changes`.
    ///
    /// - Throws: ``SessionStoreError/Code/conflict`` when `expectedVersion` is given and differs.
    public func saving(
        _ changes: Session,
        expectedVersion: Int64?,
        at now: SessionInstant
    ) throws(SessionStoreError) -> Session {
        try check(expectedVersion: expectedVersion)
        var saved = with(updatedAt: now, lastSeenAt: now, version: version + 1)
        saved.userID = changes.userID
        saved.data = changes.data
        saved.metadata = changes.metadata
        return saved
    }

    /// This stored session after a use at `now` that the policy decided to persist.
    public func used(at now: SessionInstant, by client: SessionClient?) -> Session {
        with(
            lastSeenAt: now,
            lastSeenIP: client.map { $0.ip ?? lastSeenIP },
            lastSeenUserAgent: client.map { $0.userAgent ?? lastSeenUserAgent }
        )
    }

    /// This stored session after ``SessionStore/touch(_:expiration:client:)``.
    public func touching(at now: SessionInstant, expiration: ExpirationPolicy?, by client: SessionClient?) -> Session {
        let used = used(at: now, by: client)
        guard let expiration else { return used }
        return used.with(deadlines: SessionDeadlines(expiration, appliedAt: now), version: version + 1)
    }

    /// This stored session after ``SessionStore/rotate(_:)`` gave it `token`.
    public func rotating(to token: SessionToken, at now: SessionInstant) -> Session {
        with(tokenHash: token.hash, updatedAt: now, lastSeenAt: now, version: version + 1)
    }

    /// This stored session after ``SessionStore/rotate(_:saving:expectedVersion:)`` gave it
    /// `token` and, when `changes` is given, its user, data and metadata.
    ///
    /// - Throws: ``SessionStoreError/Code/conflict`` when `expectedVersion` is given and differs.
    public func rotating(
        to token: SessionToken,
        saving changes: Session?,
        expectedVersion: Int64?,
        at now: SessionInstant
    ) throws(SessionStoreError) -> Session {
        try check(expectedVersion: expectedVersion)
        var rotated = rotating(to: token, at: now)
        if let changes {
            rotated.userID = changes.userID
            rotated.data = changes.data
            rotated.metadata = changes.metadata
        }
        return rotated
    }

    private func check(expectedVersion: Int64?) throws(SessionStoreError) {
        if let expectedVersion, expectedVersion != version {
            throw SessionStoreError(
                .conflict,
                "session \(tokenHash.shortHex) is at version \(version), not the expected \(expectedVersion)"
            )
        }
    }
}

extension SessionStoreError {
    /// The error a save gets when its session is gone.
    public static func sessionGone(_ hash: TokenHash) -> SessionStoreError {
        SessionStoreError(
            .notFound,
            "session \(hash.shortHex) no longer exists (deleted, rotated or expired); a save never recreates it"
        )
    }
}
