import Sessions
import Testing

@Suite("LRU cache")
struct LRUCacheTests {
    @Test func evictsTheLeastRecentlyUsedByCount() {
        var cache = LRUCache<String, Int>(maxCount: 3)
        cache.insert(1, forKey: "a")
        cache.insert(2, forKey: "b")
        cache.insert(3, forKey: "c")
        #expect(cache.value(forKey: "a") == 1)  // a is now the most recent
        #expect(cache.insert(4, forKey: "d") == 1)
        #expect(cache.peek("b") == nil, "b was least recently used")
        #expect(cache.entriesByRecency.map(\.key) == ["d", "a", "c"])
        #expect(cache.invariantViolation() == nil)
    }

    @Test func evictsByCostAndRefusesWhatCannotFit() {
        var cache = LRUCache<String, String>(maxCount: 100, maxCost: 10)
        cache.insert("x", forKey: "a", cost: 4)
        cache.insert("y", forKey: "b", cost: 4)
        #expect(cache.totalCost == 8)
        #expect(cache.insert("z", forKey: "c", cost: 4) == 1)
        #expect(cache.peek("a") == nil)
        #expect(cache.totalCost == 8)
        #expect(cache.insert("huge", forKey: "h", cost: 11) == 0)
        #expect(cache.peek("h") == nil, "an entry over the whole budget is not stored")
        #expect(cache.insert("b grows", forKey: "b", cost: 11) == 1)
        #expect(cache.peek("b") == nil, "replacing with an oversize value removes the entry")
        #expect(cache.count == 1)
        #expect(cache.invariantViolation() == nil)
    }

    @Test func updateChangesInPlaceAndCanGrowTheCost() {
        var cache = LRUCache<Int, [Int]>(maxCount: 10, maxCost: 10)
        cache.insert([1], forKey: 1, cost: 3)
        cache.insert([2], forKey: 2, cost: 3)
        cache.insert([3], forKey: 3, cost: 3)
        let length = cache.update(1, cost: 6) { value -> Int in
            value.append(10)
            return value.count
        }
        #expect(length == 2)
        #expect(cache.peek(1) == [1, 10])
        #expect(cache.peek(2) == nil, "growing entry 1 evicted the oldest other entry")
        #expect(cache.update(42) { _ in 0 } == nil)
        #expect(cache.invariantViolation() == nil)
    }

    @Test func slotsAreReusedAfterRemoval() {
        var cache = LRUCache<Int, Int>(maxCount: 1000)
        for round in 0..<10 {
            for key in 0..<100 { cache.insert(key * round, forKey: key) }
            for key in 0..<100 { cache.removeValue(forKey: key) }
        }
        #expect(cache.count == 0)
        #expect(cache.invariantViolation() == nil)
        cache.removeAll()
        #expect(cache.entriesByRecency.isEmpty)
    }

    /// Thousands of random operations, checked step by step against an obviously correct model.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8, 42, 2026] as [UInt64])
    func randomizedOperationsMatchAReferenceModel(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let maxCount = Int.random(in: 1...20, using: &generator)
        let maxCost = Int.random(in: 3...40, using: &generator)
        var cache = LRUCache<Int, Int>(maxCount: maxCount, maxCost: maxCost)
        var model = ReferenceLRU(maxCount: maxCount, maxCost: maxCost)

        for step in 0..<5000 {
            let key = Int.random(in: 0..<30, using: &generator)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0...3:
                let value = Int.random(in: 0..<1000, using: &generator)
                let cost = Int.random(in: 0...12, using: &generator)
                #expect(cache.insert(value, forKey: key, cost: cost) == model.insert(value, key, cost), "step \(step)")
            case 4...6:
                #expect(cache.value(forKey: key) == model.get(key), "step \(step)")
            case 7:
                #expect(cache.removeValue(forKey: key) == model.remove(key), "step \(step)")
            case 8:
                #expect(cache.peek(key) == model.peek(key), "step \(step)")
            default:
                let newCost = Int.random(in: 0...12, using: &generator)
                let updated = cache.update(key, cost: newCost) { value -> Int in
                    value += 1
                    return value
                }
                #expect(updated == model.update(key, newCost), "step \(step)")
            }
            if let violation = cache.invariantViolation() {
                Issue.record("step \(step): \(violation)")
                return
            }
            #expect(cache.entriesByRecency.map(\.key) == model.entries.map(\.key), "step \(step)")
            #expect(cache.totalCost == model.totalCost, "step \(step)")
        }
    }
}

/// The LRU semantics in the plainest possible form: an array, most recent first.
struct ReferenceLRU {
    var entries: [(key: Int, value: Int, cost: Int)] = []
    let maxCount: Int
    let maxCost: Int

    var totalCost: Int { entries.reduce(0) { $0 + $1.cost } }

    mutating func insert(_ value: Int, _ key: Int, _ cost: Int) -> Int {
        let existed = remove(key) != nil
        guard cost <= maxCost else { return existed ? 1 : 0 }
        entries.insert((key, value, cost), at: 0)
        return evict()
    }

    mutating func get(_ key: Int) -> Int? {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
        let entry = entries.remove(at: index)
        entries.insert(entry, at: 0)
        return entry.value
    }

    func peek(_ key: Int) -> Int? {
        entries.first { $0.key == key }?.value
    }

    mutating func remove(_ key: Int) -> Int? {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
        return entries.remove(at: index).value
    }

    mutating func update(_ key: Int, _ cost: Int) -> Int? {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
        var entry = entries.remove(at: index)
        entry.value += 1
        entry.cost = cost
        guard cost <= maxCost else { return entry.value }
        entries.insert(entry, at: 0)
        _ = evict()
        return entry.value
    }

    private mutating func evict() -> Int {
        var evicted = 0
        while (entries.count > maxCount || totalCost > maxCost) && entries.count > 1 {
            entries.removeLast()
            evicted += 1
        }
        return evicted
    }
}
