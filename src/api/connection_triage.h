// Where LeanServer's connections wait, so that no thread waits on a client (issue 16). httplib 0.11 hands each
// accepted connection to a FIFO pool whose thread then reads the request head, however slowly it comes: a few
// hundred slow heads from many addresses held every thread and queued /livez behind them for seconds. Here one
// thread watches every connection that has no complete request yet (epoll): it reads heads as their bytes arrive,
// within their deadlines, and only a complete head is handed to a worker. Requests for the priority paths (the
// probes) go ahead of the rest and have workers of their own; an idle keep-alive connection comes back here
// between requests. A connection costs a descriptor and its buffer until it has a whole request, never a thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lean_server.h"

namespace podpromo {

struct TriageOptions {
    size_t threads = 8;                    // workers for any request
    size_t priority_threads = 0;           // workers only for requests to priority_paths
    std::set<std::string> priority_paths;  // exact paths, without the query
    int idle_ms = 5000;                    // a kept-alive connection's wait for its next request's first byte
    int head_ms = 10000;                   // a head's first byte to its blank line
    int read_timeout_ms = 30000;           // a worker's wait for more of a body
    int write_timeout_ms = 30000;
    size_t requests_per_connection = 10000;
    size_t max_connections = 4096;  // open at once; past it a new one is answered 503 and closed
    size_t max_waiting = 1024;      // complete requests waiting for a worker; past it 503
    // Requests one client address may have served at once (0: any): more wait their turn while other addresses'
    // requests go ahead, so one address cannot take every worker. Probes (priority_paths) never wait for it.
    size_t serving_per_client = 0;
};

// Thread-safe. Owns the workers and the watching thread from construction until Stop (or destruction), and every
// connection it was given: each is closed by it, answered or not.
class ConnectionTriage {
  public:
    // Serves the one request whose head `stream` holds complete; `last` asks to close afterwards. Returns whether
    // the connection may carry another request. Called on a worker thread.
    using ServeFn = std::function<bool(BufferedSocketStream& stream, bool last)>;

    // `per_client` (not owned, must outlive this) limits the connections one address holds.
    ConnectionTriage(TriageOptions options, PerClientLimit* per_client, ServeFn serve);
    ~ConnectionTriage();
    ConnectionTriage(const ConnectionTriage&) = delete;
    ConnectionTriage& operator=(const ConnectionTriage&) = delete;

    // Takes an accepted socket. Never blocks on the client: it is watched from here on, or refused (429 for an
    // address over its limit, 503 past max_connections) and closed.
    void Admit(int sock);
    // Closes every connection that waits, lets requests being served finish (their connections then close), and
    // joins the threads. Idempotent.
    void Stop();

    // Connections open, for tests and metrics.
    size_t open_connections() const;

  private:
    struct Connection;
    enum class Phase { kIdle, kHead, kQueued, kServing, kLingering };

    void Watch();
    void OnReadable(Connection* conn);
    void Sweep();
    void Dispatch(Connection* conn);
    void Refuse(Connection* conn, void (BufferedSocketStream::*answer)());
    void Linger(Connection* conn);
    void Rearm(Connection* conn, Phase phase, int deadline_ms);
    void Close(Connection* conn);  // mu_ held
    void Work(bool priority_only);
    bool NextRequestArrives(Connection* conn, size_t served_in_turn, bool priority_only);
    bool IsPriority(Connection* conn) const;
    // The first request of queue_ whose address may be served now (serving_per_client); end() when none. mu_ held.
    std::deque<Connection*>::iterator NextServable();
    void AfterServing(Connection* conn, bool keep);

    const TriageOptions options_;
    PerClientLimit* const per_client_;
    const ServeFn serve_;
    const int epoll_;
    const int wake_;  // an eventfd that ends Watch

    mutable std::mutex mu_;
    std::condition_variable any_cv_;       // ordinary workers wait on it
    std::condition_variable priority_cv_;  // priority-only workers wait on it
    std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
    std::deque<Connection*> priority_queue_, queue_;
    std::unordered_map<std::string, size_t> serving_;       // requests being served, by client address
    std::atomic<size_t> waiting_{0}, waiting_priority_{0};  // the queues' sizes, written under mu_
    std::atomic<bool> stopping_{false};                     // written under mu_

    std::thread watcher_;
    std::vector<std::thread> workers_;
};

}  // namespace podpromo
