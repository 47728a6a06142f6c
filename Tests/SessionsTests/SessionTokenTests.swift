import Foundation
import Sessions
import Testing

@Suite("Session tokens")
struct SessionTokenTests {
    @Test func generatedTokensAre43Base64URLCharactersAndUnique() throws {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let token = SessionToken.generate()
            let text = token.stringValue
            #expect(text.count == SessionToken.encodedLength)
            #expect(text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            #expect(seen.insert(text).inserted)
            let parsed = try SessionToken(text)
            #expect(parsed == token)
            #expect(parsed.hash == token.hash)
            #expect(parsed.stringValue == text)
        }
    }

    @Test func hashIsTheSHA256OfTheTokenBytes() throws {
        // 32 zero bytes encode as 43 'A's; their SHA-256 is a published constant.
        let token = try SessionToken(String(repeating: "A", count: 43))
        #expect(token.hash.hex == "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925")
        #expect(TokenHash(hex: token.hash.hex) == token.hash)
        #expect(TokenHash(hex: token.hash.hex.uppercased()) == token.hash)
        #expect(TokenHash(bytes: token.hash.bytes) == token.hash)
    }

    @Test func descriptionNeverShowsTheToken() {
        let token = SessionToken.generate()
        #expect(!"\(token)".contains(token.stringValue))
        #expect(!String(reflecting: token).contains(token.stringValue))
    }

    @Test(arguments: [
        "",
        "short",
        String(repeating: "A", count: 42),
        String(repeating: "A", count: 44),
        String(repeating: "A", count: 42) + "=",
        String(repeating: "A", count: 42) + "+",
        String(repeating: "A", count: 42) + "/",
        String(repeating: "A", count: 42) + "\u{0}",
        String(repeating: "A", count: 21) + "\u{0}" + String(repeating: "A", count: 21),
        String(repeating: "A", count: 41) + "é",
        String(repeating: "A", count: 42) + "B",
        String(repeating: "A", count: 1 << 20),
        "' OR '1'='1' --                            ",
    ])
    func malformedTokensAreRejected(_ text: String) {
        #expect {
            try SessionToken(text)
        } throws: { error in
            (error as? SessionStoreError)?.code == .malformedToken
        }
    }

    @Test func theOnlyAcceptedLastCharactersCarryNoExtraBits() throws {
        // 43 characters carry 258 bits; the last character's two low bits must be zero.
        let prefix = String(repeating: "A", count: 42)
        for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".enumerated() {
            let accepted = (try? SessionToken(prefix + String(character))) != nil
            #expect(accepted == index.isMultiple(of: 4), "last character \(character)")
        }
    }

    @Test func tokenHashHexRejectsBadInput() {
        #expect(TokenHash(hex: "abc") == nil)
        #expect(TokenHash(hex: String(repeating: "g", count: 64)) == nil)
        #expect(TokenHash(bytes: [UInt8](repeating: 0, count: 31)) == nil)
    }

    @Test func tokenHashOrderIsByteOrder() {
        let low = TokenHash(bytes: [0x00] + [UInt8](repeating: 0xFF, count: 31))!
        let high = TokenHash(bytes: [0x01] + [UInt8](repeating: 0x00, count: 31))!
        #expect(low < high)
        #expect(!(high < low))
    }
}
