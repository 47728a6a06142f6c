extension CachedSessionStore: SessionStoreAdministration {
    /// The backing store's administration.
    ///
    /// - Throws: ``SessionStoreError/Code/configurationError`` when the backing store offers none.
    private func administration() throws(SessionStoreError) -> any SessionStoreAdministration {
        guard let administration = backing as? any SessionStoreAdministration else {
            throw SessionStoreError(.configurationError, "\(type(of: backing)) offers no administration (list, count, stats, purge) for the cache to pass on")
        }
        return administration
    }

    public func list(_ query: SessionQuery) async throws -> SessionPage {
        try await administration().list(query)
    }

    public func count(includeExpired: Bool) async throws -> Int {
        try await administration().count(includeExpired: includeExpired)
    }

    /// The backing store's figures, with the cache's own (``SessionStoreStats/cache``).
    public func stats() async throws -> SessionStoreStats {
        var stats = try await administration().stats()
        housekeeping.run(cache)
        stats.cache = cache.stats
        return stats
    }

    public func purgeExpired(limit: Int) async throws -> Int {
        try await administration().purgeExpired(limit: limit)
    }

    /// The backing store's health, with the cache's entries, bytes, hits and misses.
    public func healthCheck() async -> SessionStoreHealth {
        var health = await (backing as? any SessionStoreAdministration)?.healthCheck()
            ?? SessionStoreHealth(status: .healthy, message: "a cache in front of \(type(of: backing))", details: [:])
        let stats = cache.stats
        health.details["cache_entries"] = String(stats.entries)
        health.details["cache_bytes"] = String(stats.bytes)
        health.details["cache_hits"] = String(stats.hits)
        health.details["cache_misses"] = String(stats.misses)
        if stats.touchesFailed > 0 {
            health.details["cache_touch_failures"] = String(stats.touchesFailed)
        }
        return health
    }
}
