import RedisSessions
import Sessions
import Testing

@Suite("Redis URLs")
struct RedisConfigurationTests {
    @Test func fullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://app:s%3Acret@cache.internal:6380/3")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "app")
        #expect(configuration.password == "s:cret")
        #expect(configuration.database == 3)
        #expect(configuration.description == "redis://cache.internal:6380/3", "no credentials in descriptions")
    }

    @Test func defaultsAndPasswordOnly() throws {
        let plain = try RedisConfiguration(url: "redis://localhost")
        #expect(plain.port == 6379)
        #expect(plain.database == 0)
        #expect(plain.password == nil)
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@[::1]:7000")
        #expect(passwordOnly.host == "::1")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.description == "redis://[::1]:7000/0")
        #expect(try RedisConfiguration(url: "redis://h/2?protocol=3").resp3)
    }

    @Test(arguments: [
        ("rediss://host:6380", "TLS"),
        ("http://host", "scheme"),
        ("redis://", "no host"),
        ("redis://host:99999", "out of range"),
        ("redis://host:port", "not a number"),
        ("redis://host/abc", "database"),
        ("redis://host/-1", "database"),
        ("not a url at all", "not a URL"),
        ("redis://host?timeout=5", "unknown option"),
        ("redis://user:hunter2@host:port", "not a number"),
    ])
    func badURLsAreExplained(_ url: String, _ mention: String) {
        do {
            _ = try RedisConfiguration(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.code == .configurationError)
            #expect(error.message.contains(mention), "\(error.message)")
            #expect(!error.message.contains("hunter2"), "passwords are redacted")
        }
    }
}
