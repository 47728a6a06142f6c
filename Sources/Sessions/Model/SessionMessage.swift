
/// One entry of a session's message log: the rolling conversation a chat or AI service keeps per
/// session (``SessionMessageLog/append(_:to:)``, ``SessionMessageLog/messages(for:last:)``).
public struct SessionMessage: Sendable, Hashable, Codable {
    /// Who wrote a message.
    public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
        /// A message from the session's user.
        case user
        /// A message from the assistant: the chat or AI service.
        case assistant
        /// A message from the system (instructions or context), not from the user or the assistant.
        case system
    }

    /// Increases with each message of the session; unique within the store.
    public var id: Int64
    /// Who wrote it.
    public var role: Role
    /// The text.
    public var content: String
    /// When it was appended.
    public var createdAt: SessionInstant
    /// Free-form attributes (model, token counts, tool names...).
    public var metadata: [String: String]

    /// Creates a message; each parameter sets the property of the same name.
    public init(id: Int64, role: Role, content: String, createdAt: SessionInstant, metadata: [String: String] = [:]) {
        self.id = id
        self.role = role
        self.content = content
        self.createdAt = createdAt
        self.metadata = metadata
    }
}

/// A message to append; the store gives it its id and time.
public struct SessionMessageDraft: Sendable, Hashable {
    /// Who wrote it.
    public var role: SessionMessage.Role
    /// The text.
    public var content: String
    /// Free-form attributes (model, token counts, tool names...).
    public var metadata: [String: String]

    /// Creates a draft; each parameter sets the property of the same name.
    public init(role: SessionMessage.Role, content: String, metadata: [String: String] = [:]) {
        self.role = role
        self.content = content
        self.metadata = metadata
    }
}
