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

/// One row of the "your sessions" page.
public struct ShopDevice: Sendable {
    /// What the revoke button sends back: the session's token hash, in hex.
    public var id: String
    public var userAgent: String
    public var address: String
    public var signedIn: String
    public var lastSeen: String
    public var isCurrent: Bool

    public init(id: String, userAgent: String, address: String, signedIn: String, lastSeen: String, isCurrent: Bool) {
        self.id = id
        self.userAgent = userAgent
        self.address = address
        self.signedIn = signedIn
        self.lastSeen = lastSeen
        self.isCurrent = isCurrent
    }
}
