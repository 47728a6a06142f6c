extension CachedSessionStore: SessionMessageLog {
    /// The backing store's message log.
    ///
    /// - Throws: ``SessionStoreError/Code/configurationError`` when the backing store keeps none.
    private func messageLog() throws(SessionStoreError) -> any SessionMessageLog {
        guard let log = backing as? any SessionMessageLog else {
            throw SessionStoreError(.configurationError, "\(type(of: backing)) keeps no message log for the cache to pass on")
        }
        return log
    }

    /// Appends through the backing store; the append counts as a use in memory too.
    public func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage {
        do {
            let stored = try await messageLog().append(message, to: token)
            cache.noteUse(token.hash, at: stored.createdAt)
            return stored
        } catch let error as SessionStoreError where error.code == .notFound {
            cache.remove(token.hash, gone: false)
            throw error
        }
    }

    public func messages(for token: SessionToken, last count: Int) async throws -> [SessionMessage]? {
        try await messageLog().messages(for: token, last: count)
    }
}
