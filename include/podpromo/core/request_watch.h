// Ends a blocking HTTP client request from outside, at a deadline or on a cancel. cpp-httplib 0.11 (our one HTTP
// client) bounds each read, not a request: a server that sends its answer (or its TLS handshake) a byte at a time
// never trips a read's timeout, and a request in flight sees no cancel at all. Its Client::stop() is no cure: it waits
// for the client's lock, which the connection and the TLS handshake hold throughout.
//
// So the watch keeps a duplicate of each socket the client opens (through the client's socket-options hook, called
// before connecting) and, when the deadline passes or the cancel comes, shuts that socket down: the connection, the
// handshake or the read under way fails at once, in whatever phase it is. The duplicate is the watch's own, so the
// socket cannot be closed and its number reused under it. A request it ended may look whole to httplib (a body read
// to the connection's end), so what the request returns is not to be used once `fired()`.
//
// A write to a socket shut down raises SIGPIPE (OpenSSL writes with write(), not with MSG_NOSIGNAL), which would end
// the process; the first watch therefore makes the process ignore SIGPIPE, as serve and worker do from the start.
//
// Every outgoing request (feeds/fetch.cc, asr/whisper_http.cc, api/alert_webhook.cc) runs under one, through
// Watched() below; the client must make no request after the watch is gone. Threads:
// one of its own, from construction to destruction (which joins it); the caller's thread runs the request. `Client`
// is an httplib client (set_socket_options).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <utility>

#include "podpromo/core/progress.h"

namespace podpromo {

template <class Client>
class RequestWatch {
  public:
    using Clock = std::chrono::steady_clock;
    // `cancel` may be null; `client` and `cancel` must outlive the watch.
    RequestWatch(Client& client, const CancelToken* cancel, Clock::time_point deadline)
        : client_(client), cancel_(cancel), deadline_(deadline) {
        static const bool sigpipe_ignored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
        (void)sigpipe_ignored;
        client_.set_socket_options([this](int sock) { Adopt(sock); });
        thread_ = std::thread([this] { Watch(); });
    }
    ~RequestWatch() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            done_ = true;
        }
        wake_.notify_one();
        thread_.join();
        client_.set_socket_options(nullptr);
        if (socket_ >= 0) close(socket_);
    }
    RequestWatch(const RequestWatch&) = delete;
    RequestWatch& operator=(const RequestWatch&) = delete;

    // Whether the watch ended the request (its deadline passed, or it was cancelled).
    bool fired() const { return fired_.load(); }

  private:
    // On the request's thread, as the client opens a socket (again, for a second address or a reconnection).
    void Adopt(int sock) {
        std::lock_guard<std::mutex> lock(mu_);
        if (socket_ >= 0) close(socket_);
        socket_ = dup(sock);
        if (fired_ && socket_ >= 0) shutdown(socket_, SHUT_RDWR);
    }
    void Watch() {
        std::unique_lock<std::mutex> lock(mu_);
        while (!wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return done_; })) {
            if ((cancel_ != nullptr && cancel_->cancelled()) || Clock::now() > deadline_) {
                fired_ = true;
                if (socket_ >= 0) shutdown(socket_, SHUT_RDWR);
            }
        }
    }
    Client& client_;
    const CancelToken* cancel_;
    const Clock::time_point deadline_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool done_ = false;  // guarded by mu_
    int socket_ = -1;    // guarded by mu_: the watch's duplicate of the client's socket
    std::atomic<bool> fired_{false};
    std::thread thread_;
};

// Runs `request` (one call on `client`, such as `[&] { return client.Get(path); }`) under a RequestWatch: its result,
// and whether the watch ended it (then the result is not to be used).
template <class Client, class Request>
auto Watched(Client& client, const CancelToken* cancel, std::chrono::steady_clock::time_point deadline,
             Request&& request) {
    const RequestWatch<Client> watch(client, cancel, deadline);
    auto result = std::forward<Request>(request)();
    return std::make_pair(std::move(result), watch.fired());
}

}  // namespace podpromo
