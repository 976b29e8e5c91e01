// What an ApiServer keeps between requests, private to api/: the open event streams, the health answer with the
// thread that refreshes it, and the answers shared or cached across requests. Each member says how it is guarded.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "access.h"
#include "alert_webhook.h"
#include "browser_policy.h"
#include "lean_server.h"
#include "page_cache.h"
#include "podpromo/api/server.h"
#include "podpromo/core/single_flight.h"
#include "rate_limit.h"

namespace podpromo {

struct ApiServer::State {
    State(const ServiceConfig& config, Database* db)
        : browser(config.cors_origins),
          accounts(db, &SystemClock()),
          access(&accounts, config.metrics_token),
          rate_limiter(&SystemClock(),
                       http::RateLimits{{config.rate_limit_requests, config.rate_limit_window_seconds},
                                        {config.rate_limit_anonymous_requests, config.rate_limit_window_seconds},
                                        config.rate_limit_heavy_cost}) {}
    const http::BrowserPolicy browser;  // security headers and CORS (immutable)
    Accounts accounts;                  // users, keys, sessions (thread-safe)
    const http::AccessGuard access;     // who makes each request (thread-safe)
    http::RateLimiter rate_limiter;     // requests per caller (thread-safe)
    std::atomic<int> open_streams{0};
    PerClientLimit streams_per_client;  // event streams by client address (thread-safe)
    std::atomic<bool> stopping{false};
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::mutex health_mu;  // guards health_status and health_body
    int health_status = 503;
    std::string health_body;                      // the whole document, for administrators
    std::string health_summary;                   // {"status"} only, for everyone else
    std::unique_ptr<AlertWebhook> alert_webhook;  // ALERT_WEBHOOK_URL's sender; null without one
    std::thread health_thread;                    // refreshes the health answer until health_stop
    std::mutex health_thread_mu;                  // guards health_stop
    std::condition_variable health_cv;
    bool health_stop = false;
    SingleFlight<nlohmann::json> storage_stats_flight;  // GET /storage/stats
    http::PageCache episode_list;                       // GET /api/v1/episodes answers
};

}  // namespace podpromo
