// Job progress fan-out to any number of listeners (the server-sent events stream). Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace podpromo {

// The one shape of a job progress event (DESIGN §4): a JSON object text with type "job", job_id, episode_id,
// state, stage, progress (0..1, three decimals) and, when not empty, error.
std::string JobEvent(const std::string& job_id, const std::string& episode_id, const std::string& state,
                     const std::string& stage, double progress, const std::string& error = "");

class EventBus {
  public:
    // One listener's queue. Events published after Subscribe arrive in order; a listener that falls more
    // than `capacity` events behind loses the oldest (progress is idempotent: the next event says it all).
    class Subscription {
      public:
        // The next event (a JSON text), waiting at most `timeout_ms`; nullopt on timeout or when closed.
        std::optional<std::string> Next(int timeout_ms);

      private:
        friend class EventBus;
        std::mutex mu_;
        std::condition_variable cv_;
        std::deque<std::string> queue_;
        bool closed_ = false;
        size_t capacity_ = 256;
    };

    std::shared_ptr<Subscription> Subscribe();
    void Unsubscribe(const std::shared_ptr<Subscription>& s);
    // To this process's listeners, and to `relay` when one is set.
    void Publish(const std::string& event);
    // Events published here also go to `relay` (other processes' buses, through the database's notices). Set it once,
    // before any thread publishes.
    void SetRelay(std::function<void(const std::string& event)> relay) { relay_ = std::move(relay); }
    // To this process's listeners only: an event that came from another process.
    void PublishLocal(const std::string& event);
    // Wakes every listener with nothing more to come (shutdown).
    void CloseAll();
    size_t listeners() const;

  private:
    mutable std::mutex mu_;
    std::set<std::shared_ptr<Subscription>> subs_;
    std::function<void(const std::string&)> relay_;
};

}  // namespace podpromo
