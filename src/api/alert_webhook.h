// ALERT_WEBHOOK_URL's sender (private to api/): one POST to a team's own endpoint for each change of /health's state,
// for a team that runs no Alertmanager. Each call is signed as Standard Webhooks describes: headers webhook-id,
// webhook-timestamp and webhook-signature (core/secrets.h WebhookSignature with ALERT_WEBHOOK_SECRET), and the body
//   {"type": "health.changed", "timestamp": "<ISO 8601>",
//    "data": {"instance": "<host:port>", "from": "healthy", "to": "degraded", "checks": {<the failing checks>}}}.
// Bounded: calls go out from a thread of their own, so the health checks never wait on the endpoint; at most 16 wait
// (the oldest are dropped, with a log line), and each is tried 3 times, 1 s and then 4 s apart, each try ended at
// 5 s however the endpoint spreads its answer (core/request_watch.h), or at once by the destructor.
//
// Threads: Observe is called from one thread (the health thread); the sender thread is the object's own and stops in
// the destructor (what has not gone out by then is dropped).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "podpromo/core/progress.h"

namespace podpromo {

class AlertWebhook {
  public:
    AlertWebhook(const std::string& url, std::string secret, std::string instance);
    ~AlertWebhook();
    AlertWebhook(const AlertWebhook&) = delete;
    AlertWebhook& operator=(const AlertWebhook&) = delete;

    // The latest health: `status` (healthy, degraded, unhealthy) and its checks. The first call sets where it starts;
    // each later one whose status differs from the last queues a call.
    void Observe(const std::string& status, const nlohmann::json& checks);

  private:
    void Run();
    bool Send(const std::string& id, const std::string& body);
    std::string origin_, path_, secret_, instance_;
    std::string last_status_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::pair<std::string, std::string>> pending_;  // (id, body)
    bool stop_ = false;
    CancelToken stopping_;  // set with stop_: ends a call in flight
    std::thread thread_;
};

}  // namespace podpromo
