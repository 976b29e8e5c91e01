// Request rate limits: a token bucket per caller (an API key, a user's browser sessions, or an address for requests
// without credentials), with a higher cost for the heavy requests (uploads, renders, transcript imports). Every limited
// answer carries the IETF RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers); a request
// over the limit is answered 429 with Retry-After. Private to api/.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "podpromo/app/accounts.h"
#include "podpromo/core/clock.h"

namespace podpromo::http {

// `quota` units per `window_s` seconds, refilled steadily, at most `quota` held (the burst). quota 0: no limit.
struct RatePolicy {
    int quota = 0;
    int window_s = 60;
};

// Token buckets by key. At most kMaxKeys are kept: past that, the buckets that have refilled are dropped (a full
// bucket is the same as none), so a flood of addresses cannot exhaust memory. Thread-safe; `clock` is borrowed.
class TokenBuckets {
  public:
    static constexpr size_t kMaxKeys = 100000;
    explicit TokenBuckets(const Clock* clock) : clock_(clock) {}
    struct Decision {
        bool allowed = true;
        int remaining = 0;      // whole units left after this request
        int reset_s = 0;        // seconds until the bucket is full again
        int retry_after_s = 0;  // when refused: seconds until `cost` units are there
    };
    // Takes `cost` units from `key`'s bucket under `policy`, or refuses when fewer are left (taking nothing).
    Decision Take(const std::string& key, const RatePolicy& policy, int cost);
    size_t size() const;

  private:
    struct Bucket {
        double units = 0;
        int64_t at_ms = 0;
        RatePolicy policy;  // its own, so a bucket is judged full by its own quota
    };
    void DropFull(int64_t now);
    const Clock* clock_;
    mutable std::mutex mu_;
    std::map<std::string, Bucket> buckets_;
};

// The service's limits: one policy for callers with credentials, one for addresses without.
struct RateLimits {
    RatePolicy signed_in{1200, 60};
    RatePolicy anonymous{120, 60};
    int heavy_cost = 10;
};

// What a request costs: 0 for the probes, /metrics and the app's files (not limited); heavy_cost for an upload, a
// render or a transcript import; 1 otherwise. Pure.
int RequestCost(std::string_view method, std::string_view path, int heavy_cost);

class RateLimiter {
  public:
    // `clock` is borrowed and must outlive the limiter.
    RateLimiter(const Clock* clock, RateLimits limits) : buckets_(clock), limits_(limits) {}
    // Charges the request to its caller (`who`, or its address when null) and sets the RateLimit fields on `res`.
    // True when it is over the limit: `res` is then a 429 with Retry-After (replacing any answer already set), and
    // `limited_as` names the caller's kind (key, session, anonymous) for the metrics.
    bool Refuse(const httplib::Request& req, httplib::Response& res, const Principal* who, std::string* limited_as);
    const RateLimits& limits() const { return limits_; }

  private:
    TokenBuckets buckets_;
    const RateLimits limits_;
};

}  // namespace podpromo::http
