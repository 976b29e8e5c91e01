// What every answer tells a browser, and which web pages may call the API (CORS). Private to api/.
//
// Every answer carries a Content-Security-Policy that allows only this server's own scripts (none inline), styles,
// media and connections and no framing, plus X-Content-Type-Options, Referrer-Policy and X-Frame-Options.
//
// Cross-origin callers: a page of another origin may read answers, with credentials, only when its origin is listed in
// CORS_ORIGINS; a preflight from a listed origin is answered 204, from any other 403. A state-changing request
// (POST, PUT, PATCH, DELETE) that a browser sent from a page of another, unlisted origin is refused 403 "cross_origin"
// before any handler runs, so a web page cannot make a visitor's browser change this service (the Origin check of
// CSRF protection; clients that send no Origin, such as curl and the SDKs, are not browsers and pass). A request is
// same-origin when its Origin names the host and port of its Host header, or of X-Forwarded-Host (a proxy's).
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>
#include <vector>

namespace podpromo::http {

// Immutable after construction: thread-safe.
class BrowserPolicy {
  public:
    explicit BrowserPolicy(std::vector<std::string> allowed_origins) : allowed_(std::move(allowed_origins)) {}

    // Sets the headers every answer carries and `req`'s CORS headers on `res`. Answers a preflight, and refuses a
    // state-changing request from an unlisted other origin. True when it answered `res` (the handler must not run).
    bool Apply(const httplib::Request& req, httplib::Response& res) const;

    bool Listed(std::string_view origin) const;
    // True when `origin` ("scheme://host[:port]") names `host` (a Host header's "host[:port]"), ignoring case.
    static bool SameOrigin(std::string_view origin, std::string_view host);

  private:
    std::vector<std::string> allowed_;
};

}  // namespace podpromo::http
