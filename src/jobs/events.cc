#include "podpromo/jobs/events.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "podpromo/core/utf8.h"

namespace podpromo {

std::string JobEvent(const std::string& job_id, const std::string& episode_id, const std::string& state,
                     const std::string& stage, double progress, const std::string& error) {
    nlohmann::json e = {{"type", "job"},  {"job_id", job_id}, {"episode_id", episode_id},
                        {"state", state}, {"stage", stage},   {"progress", std::round(progress * 1000) / 1000}};
    if (!error.empty()) e["error"] = error;
    return DumpJson(e);
}

std::optional<std::string> EventBus::Subscription::Next(int timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;
    std::string e = std::move(queue_.front());
    queue_.pop_front();
    return e;
}

std::shared_ptr<EventBus::Subscription> EventBus::Subscribe() {
    auto s = std::make_shared<Subscription>();
    std::lock_guard<std::mutex> lock(mu_);
    subs_.insert(s);
    return s;
}

void EventBus::Unsubscribe(const std::shared_ptr<Subscription>& s) {
    std::lock_guard<std::mutex> lock(mu_);
    subs_.erase(s);
}

void EventBus::Publish(const std::string& event) {
    PublishLocal(event);
    if (relay_) relay_(event);
}

void EventBus::PublishLocal(const std::string& event) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : subs_) {
        {
            std::lock_guard<std::mutex> l(s->mu_);
            if (s->queue_.size() >= s->capacity_) s->queue_.pop_front();
            s->queue_.push_back(event);
        }
        s->cv_.notify_one();
    }
}

void EventBus::CloseAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : subs_) {
        {
            std::lock_guard<std::mutex> l(s->mu_);
            s->closed_ = true;
        }
        s->cv_.notify_all();
    }
}

size_t EventBus::listeners() const {
    std::lock_guard<std::mutex> lock(mu_);
    return subs_.size();
}

}  // namespace podpromo
