/// A store that keeps a bounded log of messages per session, for conversational services (a
/// chat, an assistant): appended in order, read newest last, deleted with the session, kept
/// through rotation. Every store in this package offers it.
public protocol SessionMessageLog: SessionStore {
    /// Appends a message to the session's log, dropping the oldest beyond
    /// ``SessionPolicy/maxMessagesPerSession`` in the same step. Appending counts as a use of the
    /// session (it moves a sliding deadline). The log is deleted with the session and survives rotation.
    ///
    /// - Returns: The stored message, with its id and time.
    /// - Throws: ``SessionStoreError/Code/notFound`` when the session is missing or expired,
    ///   ``SessionStoreError/Code/payloadTooLarge`` for content over ``SessionPolicy/maxMessageSize``.
    func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage

    /// The newest `count` messages of the session's log, oldest first; nil when the session is
    /// missing or expired. Reading does not count as a use.
    func messages(for token: SessionToken, last count: Int) async throws -> [SessionMessage]?
}
