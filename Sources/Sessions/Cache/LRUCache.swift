/// A least-recently-used cache bounded by entry count and by total cost (bytes).
///
/// Storage is a set of slots in contiguous arrays (keys, values, and the links of a doubly linked
/// recency list, kept apart so moving a slot in the list never copies a value), plus a dictionary
/// from key to slot. Freed slots go on a free list and are reused, so steady-state operation
/// allocates nothing and a lookup that hits touches one dictionary bucket and a few array
/// elements. (`OrderedDictionary` would make removal O(n).)
///
/// Not thread-safe: ``ShardedLRUCache`` puts several of these behind locks.
package struct LRUCache<Key: Hashable, Value> {
    fileprivate struct Link {
        var previous: Int32
        var next: Int32
        var cost: Int
    }

    private static var none: Int32 { -1 }

    private var keys: ContiguousArray<Key?> = []
    private var values: ContiguousArray<Value?> = []
    fileprivate var links: ContiguousArray<Link> = []
    private var index: [Key: Int32] = [:]
    /// Most recently used.
    private var head: Int32 = LRUCache.none
    /// Least recently used: the next to evict.
    private var tail: Int32 = LRUCache.none
    private var freeList: Int32 = LRUCache.none

    /// The most entries kept.
    package let maxCount: Int
    /// The most total cost kept.
    package let maxCost: Int
    /// The total cost of the entries held.
    package private(set) var totalCost = 0

    /// Creates an empty cache.
    ///
    /// - Parameters:
    ///   - maxCount: The most entries kept; at least 1.
    ///   - maxCost: The most total cost kept. An entry costing more than this is never stored.
    package init(maxCount: Int, maxCost: Int = .max) {
        precondition(maxCount >= 1 && maxCount < Int(Int32.max), "LRUCache needs 1 ..< 2^31 entries")
        self.maxCount = maxCount
        self.maxCost = maxCost
    }

    /// The number of entries held.
    ///
    /// - Complexity: O(1).
    package var count: Int { index.count }

    /// Returns the value for `key` and marks it most recently used.
    ///
    /// - Complexity: O(1) on average; no allocation.
    package mutating func value(forKey key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return values[Int(slot)]
    }

    /// Returns the value for `key` without changing its recency.
    ///
    /// - Complexity: O(1) on average.
    package func peek(_ key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        return values[Int(slot)]
    }

    /// Changes the value for `key` in place, marking it most recently used, and returns what
    /// `body` returns; nil when the key is absent (and `body` is not called).
    ///
    /// - Parameter cost: The entry's new cost, or nil to keep it. A higher cost may evict other
    ///   entries; a cost above ``maxCost`` removes this one.
    /// - Complexity: O(1) on average, plus O(k) for the k entries a higher cost evicts.
    package mutating func update<R>(_ key: Key, cost: Int? = nil, _ body: (inout Value) -> R) -> R? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        let result = body(&values[Int(slot)]!)
        if let cost {
            totalCost += cost - links[Int(slot)].cost
            links[Int(slot)].cost = cost
            if cost > maxCost {
                removeValue(forKey: key)
            } else {
                evictOverflow(keeping: slot)
            }
        }
        return result
    }

    /// Changes the value for `key` in place and lets `body` decide whether this counts as a use
    /// that makes the entry the most recently used; nil when the key is absent.
    ///
    /// Callers that see the same entries many times a second can promote only every so often
    /// (as memcached bumps an item at most once a minute): the order stays LRU at that
    /// granularity, and most hits then touch no list links at all.
    ///
    /// - Complexity: O(1) on average; no allocation.
    package mutating func access<R>(_ key: Key, _ body: (inout Value) -> (result: R, promote: Bool)) -> R? {
        guard let slot = index[key] else { return nil }
        let (result, promote) = body(&values[Int(slot)]!)
        if promote { moveToFront(slot) }
        return result
    }

    /// Stores `value` for `key` as the most recently used entry, replacing any previous value,
    /// then evicts least recently used entries until both limits hold.
    ///
    /// - Parameters:
    ///   - cost: What the entry counts against ``maxCost``, such as its size in bytes.
    /// - Returns: The number of entries evicted to make room. An entry costing more than
    ///   ``maxCost`` is not stored; any previous value for `key` is removed and counted.
    /// - Complexity: O(1) amortized, plus O(k) for the k entries evicted.
    @discardableResult
    package mutating func insert(_ value: Value, forKey key: Key, cost: Int = 0) -> Int {
        if let slot = index[key] {
            totalCost += cost - links[Int(slot)].cost
            values[Int(slot)] = value
            links[Int(slot)].cost = cost
            moveToFront(slot)
            if cost > maxCost {
                removeValue(forKey: key)
                return 1
            }
            return evictOverflow(keeping: slot)
        }
        guard cost <= maxCost else { return 0 }
        let slot: Int32
        if freeList != Self.none {
            slot = freeList
            freeList = links[Int(slot)].next
            keys[Int(slot)] = key
            values[Int(slot)] = value
            links[Int(slot)] = Link(previous: Self.none, next: Self.none, cost: cost)
        } else {
            slot = Int32(links.count)
            keys.append(key)
            values.append(value)
            links.append(Link(previous: Self.none, next: Self.none, cost: cost))
        }
        index[key] = slot
        totalCost += cost
        linkAtFront(slot)
        return evictOverflow(keeping: slot)
    }

    /// Removes and returns the value for `key`.
    ///
    /// - Complexity: O(1) on average.
    @discardableResult
    package mutating func removeValue(forKey key: Key) -> Value? {
        guard let slot = index.removeValue(forKey: key) else { return nil }
        return release(slot)
    }

    /// Removes the least recently used entry and returns it; nil when empty.
    ///
    /// - Complexity: O(1) on average.
    @discardableResult
    package mutating func removeLeastRecentlyUsed() -> (key: Key, value: Value)? {
        guard tail != Self.none, let key = keys[Int(tail)] else { return nil }
        index.removeValue(forKey: key)
        guard let value = release(tail) else { return nil }
        return (key, value)
    }

    /// Removes every entry, keeping the allocated storage.
    ///
    /// - Complexity: O(n).
    package mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        links.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        head = Self.none
        tail = Self.none
        freeList = Self.none
        totalCost = 0
    }

    /// The entries, most recently used first; for tests and diagnostics.
    ///
    /// - Complexity: O(n).
    package var entriesByRecency: [(key: Key, value: Value)] {
        var entries: [(key: Key, value: Value)] = []
        var slot = head
        while slot != Self.none {
            entries.append((keys[Int(slot)]!, values[Int(slot)]!))
            slot = links[Int(slot)].next
        }
        return entries
    }

    /// Calls `body` for every entry, in no particular order.
    ///
    /// - Complexity: O(n).
    package func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        for (key, slot) in index { try body(key, values[Int(slot)]!) }
    }

    // MARK: Linked list

    private mutating func moveToFront(_ slot: Int32) {
        guard slot != head else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    private mutating func linkAtFront(_ slot: Int32) {
        links[Int(slot)].previous = Self.none
        links[Int(slot)].next = head
        if head != Self.none { links[Int(head)].previous = slot }
        head = slot
        if tail == Self.none { tail = slot }
    }

    private mutating func unlink(_ slot: Int32) {
        let previous = links[Int(slot)].previous
        let next = links[Int(slot)].next
        if previous != Self.none { links[Int(previous)].next = next } else { head = next }
        if next != Self.none { links[Int(next)].previous = previous } else { tail = previous }
    }

    /// Unlinks a slot already removed from the index, frees it, and returns its value.
    private mutating func release(_ slot: Int32) -> Value? {
        unlink(slot)
        let value = values[Int(slot)].take()
        keys[Int(slot)] = nil
        totalCost -= links[Int(slot)].cost
        links[Int(slot)] = Link(previous: Self.none, next: freeList, cost: 0)
        freeList = slot
        return value
    }

    @discardableResult
    private mutating func evictOverflow(keeping protected: Int32) -> Int {
        var evicted = 0
        while index.count > maxCount || totalCost > maxCost {
            let victim = tail
            guard victim != Self.none, victim != protected else { break }
            index.removeValue(forKey: keys[Int(victim)]!)
            _ = release(victim)
            evicted += 1
        }
        return evicted
    }

    // MARK: Invariants

    /// Checks every structural invariant and returns a description of the first one broken, or nil.
    ///
    /// The list from head to tail and back visits exactly the indexed nodes, each once; every
    /// index entry points at a live node with its key; the free list holds exactly the other
    /// slots; the cost total matches; both limits hold.
    ///
    /// - Complexity: O(n) in the slots allocated.
    package func invariantViolation() -> String? {
        guard keys.count == links.count, values.count == links.count else { return "slot arrays differ in length" }
        var seen = Set<Int32>()
        var slot = head
        var previous = Self.none
        var cost = 0
        while slot != Self.none {
            guard slot >= 0, Int(slot) < links.count else { return "list reaches slot \(slot) outside the storage" }
            guard seen.insert(slot).inserted else { return "list visits slot \(slot) twice" }
            let link = links[Int(slot)]
            guard link.previous == previous else { return "slot \(slot) points back to \(link.previous), not \(previous)" }
            guard let key = keys[Int(slot)], values[Int(slot)] != nil else { return "listed slot \(slot) is empty" }
            guard index[key] == slot else { return "index does not map slot \(slot)'s key to it" }
            cost += link.cost
            previous = slot
            slot = link.next
        }
        guard previous == tail else { return "tail is \(tail), the list ends at \(previous)" }
        guard seen.count == index.count else { return "list has \(seen.count) slots, index has \(index.count)" }
        guard cost == totalCost else { return "costs add up to \(cost), total says \(totalCost)" }
        slot = freeList
        while slot != Self.none {
            guard slot >= 0, Int(slot) < links.count else { return "free list reaches slot \(slot) outside the storage" }
            guard !seen.contains(slot) else { return "slot \(slot) is both listed and free" }
            guard keys[Int(slot)] == nil, values[Int(slot)] == nil else { return "free slot \(slot) holds an entry" }
            seen.insert(slot)
            slot = links[Int(slot)].next
        }
        guard seen.count == links.count else { return "\(links.count - seen.count) slots are neither listed nor free" }
        guard index.count <= maxCount else { return "\(index.count) entries exceed the limit of \(maxCount)" }
        guard totalCost <= maxCost else { return "cost \(totalCost) exceeds the limit of \(maxCost)" }
        return nil
    }
}

extension LRUCache: Sendable where Key: Sendable, Value: Sendable {}
extension LRUCache.Link: Sendable {}
