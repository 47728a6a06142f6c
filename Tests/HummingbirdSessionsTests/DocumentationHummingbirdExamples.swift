#if Hummingbird
import Hummingbird
import HummingbirdSessions

/// The CSRF listing of HummingbirdSessions.docc/Hummingbird.md, compiled here.
func csrfFormExample(context: BasicSessionStoreRequestContext) throws -> String {
    let token = try context.session.csrfToken() ?? ""   // nil without a session: no token needed
    let form = "<form method=post action=/cart><input type=hidden name=_csrf value=\(token)>…</form>"
    // scripts: <meta name=csrf content=…>, then fetch(url, {method: "POST", headers: {"X-CSRF-Token": token}})
    return form
}
#endif
