#include "alert_webhook.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>

#include "podpromo/core/clock.h"
#include "podpromo/core/request_watch.h"
#include "podpromo/core/secrets.h"
#include "podpromo/monitor/log.h"

namespace podpromo {
using nlohmann::json;

namespace {

constexpr size_t kMaxPending = 16;

// The failing checks of a /health document's "checks" (each {"ok", "detail", ...}).
json FailingChecks(const json& checks) {
    json failing = json::object();
    if (!checks.is_object()) return failing;
    for (const auto& [name, check] : checks.items()) {
        if (check.is_object() && !check.value("ok", true)) failing[name] = check;
    }
    return failing;
}

std::string IsoTime(int64_t ms) {
    const std::time_t s = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&s, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                       tm.tm_min, tm.tm_sec);
}

}  // namespace

AlertWebhook::AlertWebhook(const std::string& url, std::string secret, std::string instance)
    : secret_(std::move(secret)), instance_(std::move(instance)) {
    // scheme://host[:port] and the path (ValidateConfig has checked the scheme).
    const size_t authority = url.find("://") + 3;
    const size_t slash = url.find('/', authority);
    origin_ = url.substr(0, slash);
    path_ = slash == std::string::npos ? "/" : url.substr(slash);
    thread_ = std::thread([this] { Run(); });
}

AlertWebhook::~AlertWebhook() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    stopping_.Cancel();
    cv_.notify_all();
    thread_.join();
}

void AlertWebhook::Observe(const std::string& status, const json& checks) {
    if (last_status_.empty() || status == last_status_) {
        last_status_ = status;
        return;
    }
    const int64_t now = NowEpochMs();
    const json body = {
        {"type", "health.changed"},
        {"timestamp", IsoTime(now)},
        {"data", {{"instance", instance_}, {"from", last_status_}, {"to", status}, {"checks", FailingChecks(checks)}}}};
    last_status_ = status;
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.size() >= kMaxPending) {
        Log(LogLevel::kWarn, "alert webhook: a call was dropped (too many waiting)", {{"id", pending_.front().first}});
        pending_.pop_front();
    }
    pending_.emplace_back("msg_" + RandomToken(15), body.dump());
    cv_.notify_all();
}

void AlertWebhook::Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
        cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
        if (stop_) return;
        auto [id, body] = std::move(pending_.front());
        pending_.pop_front();
        lock.unlock();
        bool sent = false;
        for (int attempt = 0; attempt < 3 && !sent; ++attempt) {
            if (attempt > 0) {
                std::unique_lock<std::mutex> wait(mu_);
                if (cv_.wait_for(wait, std::chrono::seconds(attempt == 1 ? 1 : 4), [this] { return stop_; })) return;
            }
            sent = Send(id, body);
        }
        if (!sent) Log(LogLevel::kWarn, "alert webhook: the endpoint did not take a call", {{"id", id}});
        lock.lock();
    }
}

bool AlertWebhook::Send(const std::string& id, const std::string& body) {
    httplib::Client client(origin_);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    client.set_write_timeout(5, 0);
    const int64_t timestamp = NowEpochMs() / 1000;
    const httplib::Headers headers = {{"webhook-id", id},
                                      {"webhook-timestamp", std::to_string(timestamp)},
                                      {"webhook-signature", WebhookSignature(secret_, id, timestamp, body)}};
    const auto [res, ended] = Watched(client, &stopping_, std::chrono::steady_clock::now() + std::chrono::seconds(5),
                                      [&] { return client.Post(path_, headers, body, "application/json"); });
    return !ended && res && res->status >= 200 && res->status < 300;
}

}  // namespace podpromo
