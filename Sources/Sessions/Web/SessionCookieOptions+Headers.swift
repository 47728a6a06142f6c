extension SessionCookieOptions {
    /// Finds the session cookie in a request's `Cookie` header values and parses it as a token,
    /// without I/O.
    ///
    /// Browsers send several cookies of one name when several paths or domains match; each is
    /// tried in order and the first well-formed token wins. A value in double quotes (RFC 6265
    /// allows them) is unquoted first.
    ///
    /// - Parameter headerValues: Every `Cookie` header of the request.
    public func incomingCookie(in headerValues: some Sequence<String>) -> IncomingSessionCookie {
        var sawCookie = false
        for header in headerValues {
            for pair in header.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: true) {
                guard let value = Self.value(of: pair, ifNamed: name) else { continue }
                sawCookie = true
                if let token = try? SessionToken(Substring(value)) { return .token(token) }
            }
        }
        return sawCookie ? .malformed : .none
    }

    /// The value of one `name=value` pair if its name is `name`, trimmed and unquoted.
    private static func value(of pair: Substring.UTF8View, ifNamed name: String) -> Substring.UTF8View? {
        var pair = pair
        while let first = pair.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { pair = pair.dropFirst() }
        guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        var key = pair[..<equals]
        while let last = key.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { key = key.dropLast() }
        guard key.elementsEqual(name.utf8) else { return nil }
        var value = pair[pair.index(after: equals)...]
        while let last = value.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { value = value.dropLast() }
        while let first = value.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { value = value.dropFirst() }
        if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
            value = value.dropFirst().dropLast()
        }
        return value
    }

    /// The `Set-Cookie` value that hands `token` to the browser.
    ///
    /// With ``Lifetime-swift.enum/untilAbsoluteDeadline`` and a session that has an absolute
    /// deadline, `Max-Age` is the whole seconds left until it, so the cookie never outlives the
    /// session. No `Expires` date is formatted: every browser in use honours `Max-Age`.
    ///
    /// - Parameters:
    ///   - token: The session's token.
    ///   - session: The stored session, for its deadline.
    ///   - now: The store's current time.
    public func setCookieHeader(for token: SessionToken, session: Session, now: SessionInstant) -> String {
        var header = "\(name)=\(token.stringValue)"
        if lifetime == .untilAbsoluteDeadline, let deadline = session.deadlines.absoluteExpiresAt {
            header += "; Max-Age=\(max(0, (deadline - now).wholeMilliseconds / 1000))"
        }
        appendAttributes(to: &header)
        return header
    }

    /// The `Set-Cookie` value that makes the browser drop the session cookie: the same name,
    /// path and domain as the cookie it replaces (or the browser would keep the original), an
    /// empty value, `Max-Age=0`, and an `Expires` in 1970 for agents older than `Max-Age`.
    public var deletionCookieHeader: String {
        var header = "\(name)=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        appendAttributes(to: &header)
        return header
    }

    private func appendAttributes(to header: inout String) {
        header += "; Path=\(path)"
        if let domain { header += "; Domain=\(domain)" }
        if secure { header += "; Secure" }
        if httpOnly { header += "; HttpOnly" }
        header += "; SameSite=\(sameSite.rawValue)"
    }
}
