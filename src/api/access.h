// Who makes each request, and what it may call. Private to api/.
//
// Every route has one Need (NeedFor, the single table of who may call what). A request proves who it is by an API key
// ("Authorization: Bearer pp_…") or by the browser's session cookie (pp_session); a request with a cookie that changes
// something must also echo the session's CSRF token in X-CSRF-Token (the Origin check is BrowserPolicy's). A request
// that proves nothing may only reach the open routes (probes, the app's files, sign-in): any other answers 401, and a
// principal without the route's scope answers 403 "insufficient_scope". /metrics also takes METRICS_TOKEN as a bearer.
//
// The guard runs before routing and leaves the principal for the handler on the same thread (httplib runs both on
// the connection's thread): CurrentPrincipal() is valid until the next request on that thread.
#pragma once

#include <httplib.h>

#include <optional>
#include <string>
#include <string_view>

#include "podpromo/app/accounts.h"
#include "podpromo/app/app.h"

namespace podpromo::http {

enum class Need {
    kNothing,   // open to anyone (a principal is still read for /health's details)
    kMetrics,   // an admin, or the METRICS_TOKEN bearer
    kSignedIn,  // any principal
    kAccount,   // the user's own account and keys: a browser session, or a key with the admin scope
    kRead,
    kWrite,
    kRender,
    kAdmin,  // an administrator's session or admin key
};
// What `method` on `path` needs. Unknown paths need read (GET, HEAD) or write (others): closed by default. Pure.
Need NeedFor(std::string_view method, std::string_view path);

// The session cookie's name and the CSRF header's.
inline constexpr std::string_view kSessionCookie = "pp_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";
// The value of cookie `name` in a Cookie header; "" when absent. Pure.
std::string CookieValue(std::string_view header, std::string_view name);
// A Set-Cookie value for the session: HttpOnly, SameSite=Lax, Path=/, Secure when `secure`; an empty token clears it.
std::string SessionCookie(const std::string& token, long max_age_s, bool secure);
// Whether the client reached us over HTTPS (directly never: only a proxy's X-Forwarded-Proto says so).
bool OverHttps(const httplib::Request& req);

// The principal of this thread's current request, when it proved one.
const Principal* CurrentPrincipal();
// The Caller for the use cases: the principal's user; an administrator with the admin scope sees everyone's.
Caller CallerOf(const Principal& p);
// The current request's caller (nobody's when there is no principal: sees nothing).
Caller CurrentCaller();
// "user:<name>" or "key:<prefix>" for the audit log; "anonymous" without one.
std::string ActorOf(const Principal* p);

// Thread-safe (Accounts is; the token is immutable).
class AccessGuard {
  public:
    // `accounts` is borrowed and must outlive the guard.
    AccessGuard(Accounts* accounts, std::string metrics_token)
        : accounts_(accounts), metrics_token_(std::move(metrics_token)) {}
    // Reads the request's credentials and checks them against its route's Need. True when it refused the request and
    // answered `res` (401, 403, or 503 when the database cannot be read).
    bool Refuse(const httplib::Request& req, httplib::Response& res) const;

  private:
    // The principal `req` proves: nullopt when it sends none; an error when what it sends is not valid.
    Result<std::optional<Principal>> Authenticate(const httplib::Request& req, Need need) const;
    Accounts* accounts_;
    const std::string metrics_token_;
};

}  // namespace podpromo::http
