/// The sign-in form's fields.
public struct LoginForm: Decodable, Sendable {
    public var user: String
    public var password: String
}

/// The cart form's fields: the item, and `action=remove` to take one away.
public struct CartForm: Decodable, Sendable {
    public var item: String
    public var action: String?

    /// Whether the form removes one of the item.
    public var removes: Bool { action == "remove" }
}
