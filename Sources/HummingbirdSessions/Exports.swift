#if Hummingbird
// A handler that imports HummingbirdSessions reaches RequestSession, SessionCookieOptions and CSRFProtection
// without importing Sessions too.
@_exported public import Sessions
#endif
