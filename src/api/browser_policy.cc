#include "browser_policy.h"

#include <algorithm>
#include <cctype>

#include "http_common.h"
#include "podpromo/core/config.h"
#include "podpromo/core/utf8.h"

namespace podpromo::http {

namespace {

constexpr size_t kMaxOriginBytes = 253 + 16;  // a DNS name, the scheme and a port

// The first of a comma-separated header's values ("a.example, b.example" -> "a.example").
std::string FirstValue(const std::string& value) {
    return TrimAscii(std::string_view(value).substr(0, value.find(',')));
}

bool StateChanging(const std::string& method) {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// No inline or foreign script. Inline style is allowed: the waveform (wavesurfer.js) styles its shadow DOM with a
// <style> element, and style cannot run script (the app writes text with textContent, never markup).
void SetSecurityHeaders(httplib::Response& res) {
    res.set_header(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "same-origin");
    res.set_header("X-Frame-Options", "DENY");
}

}  // namespace

bool BrowserPolicy::Listed(std::string_view origin) const {
    return origin.size() <= kMaxOriginBytes &&
           std::find(allowed_.begin(), allowed_.end(), AsciiLower(origin)) != allowed_.end();
}

bool BrowserPolicy::SameOrigin(std::string_view origin, std::string_view host) {
    const std::string_view authority = OriginAuthority(origin);
    return !authority.empty() && !host.empty() && AsciiLower(authority) == AsciiLower(host);
}

bool BrowserPolicy::Apply(const httplib::Request& req, httplib::Response& res) const {
    SetSecurityHeaders(res);
    if (!req.has_header("Origin")) return false;  // not sent by a browser's page
    const std::string origin = req.get_header_value("Origin");
    res.set_header("Vary", "Origin");
    const bool listed = Listed(origin);
    if (listed) {
        res.set_header("Access-Control-Allow-Origin", origin);
        res.set_header("Access-Control-Allow-Credentials", "true");
        res.set_header("Access-Control-Expose-Headers",
                       "Location, Retry-After, RateLimit, RateLimit-Policy, X-Request-Id, Content-Range");
    }
    if (req.method == "OPTIONS" && req.has_header("Access-Control-Request-Method")) {
        if (!listed) {
            SendError(res, 403, "origin_not_allowed", "this origin is not in CORS_ORIGINS");
            return true;
        }
        res.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE");
        res.set_header("Access-Control-Allow-Headers",
                       "Authorization, Content-Type, X-Filename, X-CSRF-Token, Range, Last-Event-ID");
        res.set_header("Access-Control-Max-Age", "600");
        res.status = 204;
        return true;
    }
    // Behind a proxy that rewrites Host, X-Forwarded-Host names the host the page came from. A page cannot forge it:
    // a cross-origin request carrying it needs a preflight, which only a listed origin passes.
    const bool same_origin = SameOrigin(origin, req.get_header_value("Host")) ||
                             SameOrigin(origin, FirstValue(req.get_header_value("X-Forwarded-Host")));
    if (StateChanging(req.method) && !listed && !same_origin) {
        res.set_header("Connection", "close");  // its body, if any, is not read
        SendError(res, 403, "cross_origin", "a page of another origin may not change this service");
        return true;
    }
    return false;
}

}  // namespace podpromo::http
