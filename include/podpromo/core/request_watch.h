// Ends a blocking HTTP client request from outside, at a deadline or on a cancel. cpp-httplib 0.11 (our one HTTP
// client) bounds each read, not a request: a server that sends its answer a byte at a time never trips a read's
// timeout, and a request in flight sees no cancel at all. Client::stop() shuts the socket down under the client's own
// lock (its one thread-safe way to end a request in flight), and the blocked read returns. A stop that comes before
// the socket exists is lost, so it is repeated every 50 ms until the request returns; the connection's own timeout
// bounds that wait. A request it ended may look whole to httplib (a body read to the connection's end), so what the
// request returns is not to be used once `fired()`.
//
// Every outgoing request (feeds/fetch.cc, asr/whisper_http.cc, api/alert_webhook.cc) runs under one: construct it
// just before the request, read fired() just after. Threads: one of its own, from construction to destruction (which
// joins it); the caller's thread runs the request. `Client` is anything with a thread-safe stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "podpromo/core/progress.h"

namespace podpromo {

template <class Client>
class RequestWatch {
  public:
    using Clock = std::chrono::steady_clock;
    // `cancel` may be null; `client` and `cancel` must outlive the watch.
    RequestWatch(Client& client, const CancelToken* cancel, Clock::time_point deadline)
        : client_(client), cancel_(cancel), deadline_(deadline), thread_([this] { Watch(); }) {}
    ~RequestWatch() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            done_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }
    RequestWatch(const RequestWatch&) = delete;
    RequestWatch& operator=(const RequestWatch&) = delete;

    // Whether the watch ended the request (its deadline passed, or it was cancelled).
    bool fired() const { return fired_.load(); }

  private:
    void Watch() {
        std::unique_lock<std::mutex> lock(mu_);
        while (!wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return done_; })) {
            if ((cancel_ != nullptr && cancel_->cancelled()) || Clock::now() > deadline_) {
                fired_ = true;
                client_.stop();
            }
        }
    }
    Client& client_;
    const CancelToken* cancel_;
    const Clock::time_point deadline_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool done_ = false;  // guarded by mu_
    std::atomic<bool> fired_{false};
    std::thread thread_;  // last: it starts in the constructor and reads the members above
};

}  // namespace podpromo
