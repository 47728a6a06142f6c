/// A demo user of the sample shop; the shop knows a fixed list and one password for all of them.
public struct DemoUser: Sendable {
    public let id: String
    public let name: String

    public static let all: [String: DemoUser] = [
        "alice": DemoUser(id: "alice", name: "Alice"),
        "bob": DemoUser(id: "bob", name: "Bob"),
        "carol": DemoUser(id: "carol", name: "Carol"),
    ]

    /// Every demo user's password.
    public static let password = "demo"
}

/// What a shopper's session keeps: the cart, anonymous or signed in.
public struct Cart: Codable, Sendable, Equatable {
    public var items: [String: Int] = [:]

    public init(items: [String: Int] = [:]) {
        self.items = items
    }

    /// Items in the cart, counting quantities.
    public var count: Int { items.values.reduce(0, +) }

    /// What the shop sells.
    public static let catalogue = ["book", "pen", "mug", "lamp"]

    /// Adds one of `item`, or removes one.
    public mutating func change(_ item: String, removing: Bool) {
        let quantity = (items[item] ?? 0) + (removing ? -1 : 1)
        items[item] = quantity > 0 ? quantity : nil
    }
}
