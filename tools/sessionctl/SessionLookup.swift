import Sessions

/// Finds the session a command-line argument names: a token (hashed before the lookup), or an
/// unambiguous prefix of a hex token hash.
enum SessionLookup {
    static func find(_ argument: String, in store: any InspectedStore) async throws -> Session {
        if let token = try? SessionToken(argument), let session = try await store.storedSession(for: token) {
            return session
        }
        let digits = argument.lowercased()
        guard !digits.isEmpty, digits.count <= 64, digits.allSatisfy(\.isHexDigit) else {
            if argument.count == SessionToken.encodedLength, (try? SessionToken(argument)) != nil {
                throw SessionStoreError(.notFound, "no session has this token")
            }
            throw SessionStoreError(.malformedToken, "\"\(argument.prefix(80))\" is neither a session token nor a prefix of a hex token hash")
        }
        let matches = try await store.sessions(hashPrefix: digits, limit: 2)
        switch matches.count {
        case 0:
            throw SessionStoreError(.notFound, "no session's token hash starts with \(digits)")
        case 1:
            return matches[0]
        default:
            throw SessionStoreError(.notFound, "\(digits) is ambiguous: more than one token hash starts with it; give more digits")
        }
    }
}
