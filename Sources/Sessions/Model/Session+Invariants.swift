/// The rules every stored session keeps, for sessions that arrive whole from outside the store
/// (an import, a record adopted from Redis) rather than being made by it.
extension Session {
    /// The latest instant a stored time may hold: the last millisecond of the year 9999. Later
    /// values are not dates but damage, and deadlines computed from them would overflow.
    public static let latestStoredInstant = SessionInstant(millisecondsSince1970: 253_402_300_799_999)

    /// Checks what `sessionctl verify` and the SQLite schema require of a stored session: a
    /// version of at least 1; times between 1970 and the year 9999; an update time no earlier
    /// than the creation time; a creation time at most a day after `now` (clocks differ, but not
    /// by days); an idle timeout, when there is one, of 1 ms to 100 years.
    ///
    /// - Throws: ``SessionStoreError/Code/invalidArgument`` naming the first rule broken.
    public func checkInvariants(now: SessionInstant) throws(SessionStoreError) {
        func reject(_ reason: String) -> SessionStoreError {
            SessionStoreError(.invalidArgument, "session \(tokenHash.shortHex): \(reason)")
        }
        guard version >= 1 else { throw reject("version is \(version); it must be at least 1") }
        let times = [
            ("created_at", createdAt), ("updated_at", updatedAt), ("last_seen_at", lastSeenAt),
            ("absolute_expires_at", deadlines.absoluteExpiresAt),
        ]
        for case let (name, time?) in times {
            guard time.millisecondsSince1970 >= 0, time <= Self.latestStoredInstant else {
                throw reject("\(name) is \(time.millisecondsSince1970), not a time between 1970 and the year 9999 in Unix milliseconds")
            }
        }
        guard updatedAt >= createdAt else {
            throw reject("updated_at (\(updatedAt)) is earlier than created_at (\(createdAt))")
        }
        guard createdAt <= now + .seconds(86_400) else {
            throw reject("created_at (\(createdAt)) is more than a day in the future")
        }
        if let idle = deadlines.idleTimeoutMilliseconds {
            guard idle >= 1, idle <= ExpirationPolicy.maximumLifetime.wholeMilliseconds else {
                throw reject("idle_timeout_ms is \(idle); it must be between 1 and \(ExpirationPolicy.maximumLifetime.wholeMilliseconds) (100 years)")
            }
        }
    }
}

extension SessionPolicy {
    /// Checks a whole session from outside the store (an import): the policy's limits on user
    /// id, data and metadata, and the rules of ``Session/checkInvariants(now:)`` at ``now``.
    ///
    /// Unlike an application's write, an import may carry data that is already sealed (an export
    /// of an encrypted store keeps it sealed); with ``encryption`` set, such data must open with
    /// its keys, so nothing is imported that the service could not read.
    public func validateImported(_ session: Session) throws(SessionStoreError) {
        try validate(userID: session.userID)
        try validate(metadata: session.metadata)
        if SessionEncryption.isSealed(session.data) {
            // The seal adds a header and a tag to the data the limit is for.
            guard session.data.count <= maxDataSize + 128 else {
                throw SessionStoreError(.payloadTooLarge, "sealed session data is \(session.data.count) bytes; the limit is \(maxDataSize) bytes before sealing")
            }
            if let encryption { _ = try encryption.open(session.data) }
        } else {
            try validate(data: session.data)
        }
        try session.checkInvariants(now: now)
    }
}
