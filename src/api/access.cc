#include "access.h"

#include <fmt/format.h>

#include <set>

#include "http_common.h"
#include "podpromo/core/secrets.h"
#include "podpromo/core/utf8.h"

namespace podpromo::http {

namespace {

thread_local std::optional<Principal> t_principal;

bool Reads(std::string_view method) { return method == "GET" || method == "HEAD"; }

bool HasBody(const httplib::Request& req) {
    return req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos ||
           (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

// The bearer token of an Authorization header; nullopt when there is no header, "" when it is not a bearer.
std::optional<std::string> BearerToken(const httplib::Request& req) {
    if (!req.has_header("Authorization")) return std::nullopt;
    const std::string value = req.get_header_value("Authorization");
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() <= kScheme.size() || AsciiLower(std::string_view(value).substr(0, kScheme.size())) != kScheme) {
        return std::string();
    }
    return TrimAscii(std::string_view(value).substr(kScheme.size()));
}

bool Allows(const Principal& p, Need need) {
    const bool admin = p.is_admin && p.Can(Scope::kAdmin);
    switch (need) {
        case Need::kNothing:
        case Need::kSignedIn:
            return true;
        case Need::kAccount:
            return p.key_prefix.empty() || admin;
        case Need::kRead:
            return p.Can(Scope::kRead);
        case Need::kWrite:
            return p.Can(Scope::kWrite);
        case Need::kRender:
            return p.Can(Scope::kRender);
        case Need::kAdmin:
        case Need::kMetrics:
            return admin;
    }
    return false;
}

const char* NeedName(Need need) {
    switch (need) {
        case Need::kAccount:
            return "a browser session or a key with the admin scope (keys cannot manage keys)";
        case Need::kRead:
            return "the read scope";
        case Need::kWrite:
            return "the write scope";
        case Need::kRender:
            return "the render scope";
        default:
            return "an administrator";
    }
}

}  // namespace

Need NeedFor(std::string_view method, std::string_view path) {
    static const std::set<std::string_view> kOpenPages = {"/livez", "/readyz",      "/health",
                                                          "/",      "/favicon.svg", "/signin"};
    const bool reads = Reads(method);
    if (method == "OPTIONS") return Need::kNothing;  // preflights are BrowserPolicy's; nothing else answers it
    if (reads && (kOpenPages.count(path) || path.starts_with("/assets/"))) return Need::kNothing;
    if (path == "/api/v1/session") return method == "POST" ? Need::kNothing : Need::kSignedIn;
    if (path == "/metrics") return Need::kMetrics;
    if (path == "/queue/stats" || path == "/storage/stats" || path.starts_with("/api/v1/admin/") ||
        path == "/api/v1/users" || path.starts_with("/api/v1/users/")) {
        return Need::kAdmin;
    }
    if (path == "/api/v1/me") return Need::kSignedIn;
    if (path.starts_with("/api/v1/me/") || path == "/api/v1/keys" || path.starts_with("/api/v1/keys/")) {
        return Need::kAccount;
    }
    if (!reads && path.starts_with("/api/v1/episodes/") && path.ends_with("/clips")) return Need::kRender;
    return reads ? Need::kRead : Need::kWrite;
}

std::string CookieValue(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const size_t semi = header.find(';');
        const std::string item = TrimAscii(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
        const size_t eq = item.find('=');
        if (eq != std::string::npos && std::string_view(item).substr(0, eq) == name) return item.substr(eq + 1);
    }
    return "";
}

std::string SessionCookie(const std::string& token, long max_age_s, bool secure) {
    return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}", kSessionCookie, token,
                       token.empty() ? 0 : max_age_s, secure ? "; Secure" : "");
}

bool OverHttps(const httplib::Request& req) {
    return AsciiLower(TrimAscii(req.get_header_value("X-Forwarded-Proto"))) == "https";
}

const Principal* CurrentPrincipal() { return t_principal ? &*t_principal : nullptr; }

Caller CallerOf(const Principal& p) { return Caller{p.user_id, p.is_admin && p.Can(Scope::kAdmin), ActorOf(&p)}; }

Caller CurrentCaller() { return t_principal ? CallerOf(*t_principal) : Caller{}; }

std::string ActorOf(const Principal* p) {
    if (!p) return "anonymous";
    return p->key_prefix.empty() ? "user:" + p->user_name : "key:" + p->key_prefix;
}

Result<std::optional<Principal>> AccessGuard::Authenticate(const httplib::Request& req, Need need) const {
    if (const auto bearer = BearerToken(req)) {
        if (bearer->empty()) return Status::Unauthenticated("send an API key as \"Authorization: Bearer <key>\"");
        PODPROMO_ASSIGN_OR_RETURN(Principal p, accounts_->AuthenticateKey(*bearer));
        return std::optional<Principal>(std::move(p));
    }
    const std::string cookie = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
    if (cookie.empty()) return std::optional<Principal>();
    PODPROMO_ASSIGN_OR_RETURN(Principal p, accounts_->AuthenticateSession(cookie));
    // A browser's request that changes something must echo the session's CSRF token (a page of another site can
    // make the browser send the cookie, but cannot read the token).
    if (!Reads(req.method) && need != Need::kNothing &&
        !ConstantTimeEquals(req.get_header_value(std::string(kCsrfHeader)), p.csrf_token)) {
        return Status::PermissionDenied("this request needs the session's X-CSRF-Token header; reload the page")
            .WithSlug("csrf");
    }
    return std::optional<Principal>(std::move(p));
}

bool AccessGuard::Refuse(const httplib::Request& req, httplib::Response& res) const {
    t_principal.reset();
    const Need need = NeedFor(req.method, req.path);
    if (need == Need::kMetrics && !metrics_token_.empty()) {
        const auto bearer = BearerToken(req);
        if (bearer && ConstantTimeEquals(*bearer, metrics_token_)) return false;
    }
    if (need == Need::kNothing) {
        // Open. Only /health reads who asks (for its details): the app's files are not worth a database read each.
        if (req.path != "/health") return false;
        auto who = Authenticate(req, need);
        if (who.ok() && *who) t_principal = std::move(**who);  // a bad credential is ignored here
        return false;
    }
    auto who = Authenticate(req, need);
    auto refuse = [&](const Status& st) {
        if (HasBody(req)) res.set_header("Connection", "close");  // the body is not read
        if (st.code() == StatusCode::kUnauthenticated) {
            res.set_header("WWW-Authenticate", "Bearer realm=\"podpromo\"");
            // An ended session's cookie is cleared, so the browser stops sending it.
            if (!BearerToken(req) && req.has_header("Cookie")) {
                res.set_header("Set-Cookie", SessionCookie("", 0, OverHttps(req)));
            }
        }
        SendStatus(res, st);
        return true;
    };
    if (!who.ok()) return refuse(who.status());
    if (!*who) {
        return refuse(Status::Unauthenticated("sign in, or send an API key as \"Authorization: Bearer <key>\"")
                          .WithSlug("unauthenticated"));
    }
    if (!Allows(**who, need)) {
        return refuse(
            Status::PermissionDenied(fmt::format("this needs {}", NeedName(need))).WithSlug("insufficient_scope"));
    }
    t_principal = std::move(**who);
    return false;
}

}  // namespace podpromo::http
