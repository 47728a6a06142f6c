import Sessions

extension RedisClient {
    /// Walks every key that matches `pattern` with `SCAN` (never `KEYS`, which blocks the
    /// server), handing `body` each page of names. A key may come twice, as `SCAN` promises.
    ///
    /// - Throws: What the connection or `body` throws, or
    ///   `SessionStoreError.Code.protocolError` for a reply that is not a `SCAN` page.
    func scanKeys(matching pattern: String, count: Int = 500, _ body: ([String]) async throws -> Void) async throws {
        var cursor = "0"
        repeat {
            let reply = try await send(RedisCommand("SCAN", .string(cursor), "MATCH", .string(pattern), "COUNT", .integer(Int64(count))))
            guard let parts = reply.elements, parts.count == 2, let next = parts[0].string, let found = parts[1].elements else {
                throw SessionStoreError(.protocolError, "Redis answered SCAN with \(reply)")
            }
            cursor = next
            let names = found.compactMap(\.string)
            if !names.isEmpty { try await body(names) }
        } while cursor != "0"
    }
}
