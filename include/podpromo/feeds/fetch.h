// Fetching what a stranger's feed names (the feed, its enclosures, transcripts and chapters) without letting the URL
// reach what it must not, or run without bounds.
//
// - Only http:// and https:// URLs with a host and no user name or password.
// - The host is resolved here, and every address it resolves to must be public: loopback, private (RFC 1918, IPv6
//   unique-local), link-local, carrier-grade NAT, multicast and unspecified addresses are refused (PermissionDenied
//   "address_refused") unless the policy allows private addresses (an operator's FEED_ALLOW_PRIVATE, and the tests'
//   loopback servers) or names the host among its private_hosts. The connection goes to the address that was checked,
//   not to a second lookup.
// - Redirects are followed by hand, at most `max_redirects`, each new URL checked the same way.
// - The whole fetch is bounded in time (`timeout`: reported as Unavailable "fetch_timeout"), however the server
//   spreads its bytes (one a second never trips a read's own timeout: a watch ends the request from outside), and
//   the body in bytes (TooLarge "too_large" once it passes `max_bytes`, whatever Content-Length said).
// - HTTPS verifies the server's certificate against the system's trust store.
//
// Threads: every call is independent; nothing is shared (each runs a watching thread of its own while it fetches).
// Errors: Unavailable "fetch_failed" for a server that cannot be reached or answers with an error status (the message
// names the URL and the status), InvalidInput "invalid_url".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"

namespace podpromo {

struct FetchPolicy {
    bool allow_private = false;
    // Host names (as written in URLs) that may resolve to private addresses: an operator's intranet feed server.
    std::vector<std::string> private_hosts;
    int max_redirects = 5;
    int64_t max_bytes = 20LL * 1024 * 1024;
    std::chrono::milliseconds timeout{30000};  // the whole fetch, redirects included
};

struct FetchAsk {
    std::string url;
    // Conditional request headers (a feed's poll): an answer 304 means "not changed", and has no body.
    std::string if_none_match, if_modified_since;
};

struct Fetched {
    int status = 0;         // 200, or 304 for a conditional request whose resource did not change
    std::string final_url;  // after redirects
    std::string etag, last_modified, content_type;
    int64_t bytes = 0;  // of the body given to the sink
};

// Receives the body in pieces; a Status that is not Ok stops the fetch and is returned.
using FetchSink = std::function<Status(const char* data, size_t size)>;

// Checks the URL's form (scheme, host, no credentials); nothing is resolved.
Status CheckFetchUrl(const std::string& url);

// GETs `ask.url` under `policy`, giving the body (of a 200) to `sink`. `cancel` (may be null) stops it within 50 ms,
// even in a read the server holds open (Cancelled). Each call runs one watching thread of its own while it fetches.
Result<Fetched> FetchUrl(const FetchAsk& ask, const FetchPolicy& policy, const FetchSink& sink,
                         const CancelToken* cancel = nullptr);

// The same, with the body kept in memory (at most policy.max_bytes).
Result<std::pair<Fetched, std::string>> FetchText(const FetchAsk& ask, const FetchPolicy& policy,
                                                  const CancelToken* cancel = nullptr);

// Whether a numeric address (IPv4 or IPv6 text) is one a fetch may reach without allow_private.
bool IsPublicAddress(const std::string& address);

}  // namespace podpromo
