/// What operators do with a store: list and count its sessions, read its figures, remove the
/// expired ones, check that it can serve. Every store in this package offers it; a store in front
/// of another passes it through.
public protocol SessionStoreAdministration: SessionStore {
    /// One page of sessions in a stable order.
    func list(_ query: SessionQuery) async throws -> SessionPage

    /// The number of sessions, live only or including expired ones not yet purged.
    func count(includeExpired: Bool) async throws -> Int

    /// Totals, expiry figures and backend counters.
    func stats() async throws -> SessionStoreStats

    /// Deletes up to `limit` expired sessions.
    ///
    /// - Returns: How many were deleted; fewer than `limit` means none are left.
    func purgeExpired(limit: Int) async throws -> Int

    /// Checks that the store can serve; never throws.
    func healthCheck() async -> SessionStoreHealth
}

extension SessionStoreAdministration {
    /// The number of live sessions.
    public func count() async throws -> Int {
        try await count(includeExpired: false)
    }
}
