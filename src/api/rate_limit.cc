#include "rate_limit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "http_common.h"

namespace podpromo::http {

namespace {

double RatePerMs(const RatePolicy& p) { return static_cast<double>(p.quota) / (p.window_s * 1000.0); }

// The units a bucket holds `since_ms` after it held `units`.
double UnitsNow(double units, int64_t since_ms, const RatePolicy& p) {
    return std::min<double>(p.quota, units + static_cast<double>(since_ms) * RatePerMs(p));
}

int CeilSeconds(double ms) { return static_cast<int>(std::ceil(std::max(0.0, ms) / 1000.0)); }

}  // namespace

TokenBuckets::Decision TokenBuckets::Take(const std::string& key, const RatePolicy& policy, int cost) {
    Decision d;
    const int64_t now = clock_->NowMs();
    std::lock_guard<std::mutex> lock(mu_);
    if (buckets_.size() >= kMaxKeys && !buckets_.count(key)) DropFull(now);
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{static_cast<double>(policy.quota), now, policy});
    Bucket& b = it->second;
    double units = fresh ? b.units : UnitsNow(b.units, now - b.at_ms, policy);
    d.allowed = units >= cost;
    if (d.allowed) units -= cost;
    if (!d.allowed) d.retry_after_s = std::max(1, CeilSeconds((cost - units) / RatePerMs(policy)));
    b.units = units;
    b.at_ms = now;
    d.remaining = static_cast<int>(std::floor(units));
    d.reset_s = CeilSeconds((policy.quota - units) / RatePerMs(policy));
    return d;
}

void TokenBuckets::DropFull(int64_t now) {
    std::erase_if(buckets_, [&](const auto& kv) {
        const Bucket& b = kv.second;
        return UnitsNow(b.units, now - b.at_ms, b.policy) >= b.policy.quota;
    });
    // Most still refilling: the staler half goes at once, so a flood of new keys costs one scan per half the map,
    // not one per key.
    if (buckets_.size() < kMaxKeys * 9 / 10) return;
    std::vector<int64_t> times;
    times.reserve(buckets_.size());
    for (const auto& [key, b] : buckets_) times.push_back(b.at_ms);
    auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), middle, times.end());
    const int64_t cut = *middle;
    std::erase_if(buckets_, [&](const auto& kv) { return kv.second.at_ms < cut; });
    if (buckets_.size() >= kMaxKeys) buckets_.clear();  // all of one instant: nothing better to keep
}

size_t TokenBuckets::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return buckets_.size();
}

int RequestCost(std::string_view method, std::string_view path, int heavy_cost) {
    const bool reads = method == "GET" || method == "HEAD";
    if (reads && (path == "/livez" || path == "/readyz" || path == "/health" || path == "/metrics" || path == "/" ||
                  path == "/signin" || path == "/favicon.svg" || path.starts_with("/assets/"))) {
        return 0;
    }
    if (method == "OPTIONS") return 0;
    // (Adding or polling a show fetches a stranger's feed; processing one of its items downloads an episode.)
    const bool heavy =
        (method == "POST" &&
         (path == "/api/v1/episodes" || path == "/api/v1/shows" ||
          (path.starts_with("/api/v1/episodes/") && path.ends_with("/clips")) ||
          (path.starts_with("/api/v1/shows/") && (path.ends_with("/poll") || path.ends_with("/items/process"))))) ||
        ((method == "PUT" || method == "PATCH") && path.starts_with("/api/v1/episodes/") &&
         path.ends_with("/transcript")) ||
        // (A preview runs ffmpeg.)
        (method == "GET" && path.starts_with("/api/v1/episodes/") && path.ends_with("/preview"));
    return heavy ? heavy_cost : 1;
}

bool RateLimiter::Refuse(const httplib::Request& req, httplib::Response& res, const Principal* who,
                         std::string* limited_as) {
    const int cost = RequestCost(req.method, req.path, limits_.heavy_cost);
    const RatePolicy& policy = who ? limits_.signed_in : limits_.anonymous;
    if (cost == 0 || policy.quota <= 0) return false;
    // A key is limited on its own; a user's browser sessions share one bucket; no credentials: the address.
    const std::string kind = !who ? "anonymous" : (who->key_prefix.empty() ? "session" : "key");
    const std::string key =
        !who ? "a:" + req.remote_addr : (who->key_prefix.empty() ? "s:" + who->user_id : "k:" + who->key_prefix);
    const TokenBuckets::Decision d = buckets_.Take(key, policy, std::min(cost, policy.quota));
    const std::string name = who ? "user" : "address";
    res.set_header("RateLimit-Policy", fmt::format("\"{}\";q={};w={}", name, policy.quota, policy.window_s));
    res.set_header("RateLimit", fmt::format("\"{}\";r={};t={}", name, d.remaining, d.reset_s));
    if (d.allowed) return false;
    *limited_as = kind;
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
        res.set_header("Connection", "close");  // its body is not read
    }
    res.headers.erase("Set-Cookie");
    res.headers.erase("WWW-Authenticate");
    SendStatus(res,
               Status::RateLimited(
                   fmt::format("too many requests: at most {} per {} s{}; retry in {} s", policy.quota, policy.window_s,
                               cost > 1 ? fmt::format(" (this one counts {})", cost) : "", d.retry_after_s))
                   .WithSlug("rate_limited")
                   .WithRetryAfter(d.retry_after_s));
    return true;
}

}  // namespace podpromo::http
