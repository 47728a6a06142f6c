#if Vapor
// A handler that imports VaporSessions reaches RequestSession, SessionCookieOptions and CSRFProtection
// without importing Sessions too.
@_exported public import Sessions
#endif
