#include "connection_triage.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

namespace podpromo {
namespace {

using Clock = std::chrono::steady_clock;

// Lingering after a refusal or a last answer: see BufferedSocketStream::kLingerMs.
constexpr int kLingerMs = BufferedSocketStream::kLingerMs;
constexpr size_t kLingerBytes = BufferedSocketStream::kLingerBytes;
constexpr int kSweepMs = 50;  // how often deadlines are checked

}  // namespace

struct ConnectionTriage::Connection {
    Connection(int sock, const TriageOptions& options, PerClientLimit* per_client)
        : stream(sock, options.read_timeout_ms, options.write_timeout_ms),
          requests_left(options.requests_per_connection),
          per_client(per_client) {
        int port = 0;
        stream.get_remote_ip_and_port(address, port);
    }
    ~Connection() {
        ::close(stream.socket());
        if (counted) per_client->Release(address);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    BufferedSocketStream stream;
    std::string address;
    size_t requests_left;
    PerClientLimit* per_client;
    bool counted = false;     // holds one of its address's connections
    bool registered = false;  // added to the epoll set
    Phase phase = Phase::kIdle;
    Clock::time_point deadline;
    size_t lingered = 0;  // bytes dropped while lingering
};

ConnectionTriage::ConnectionTriage(TriageOptions options, PerClientLimit* per_client, ServeFn serve)
    : options_(std::move(options)),
      per_client_(per_client),
      serve_(std::move(serve)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    watcher_ = std::thread([this] { Watch(); });
    for (size_t i = 0; i < options_.threads + options_.priority_threads; ++i) {
        workers_.emplace_back([this, priority_only = i >= options_.threads] { Work(priority_only); });
    }
}

ConnectionTriage::~ConnectionTriage() {
    Stop();
    ::close(epoll_);
    ::close(wake_);
}

size_t ConnectionTriage::open_connections() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_.size();
}

void ConnectionTriage::Admit(int sock) {
    // A client's socket is never a child process's (cpp-httplib accepts without SOCK_CLOEXEC): a child that kept it
    // would keep it open, and its epoll registration alive, after the connection here is closed.
    ::fcntl(sock, F_SETFD, ::fcntl(sock, F_GETFD) | FD_CLOEXEC);
    auto owned = std::make_unique<Connection>(sock, options_, per_client_);
    Connection* conn = owned.get();
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;  // closed by the destructor
    const bool full = connections_.size() >= options_.max_connections;
    connections_.emplace(conn, std::move(owned));
    if (full) {
        Refuse(conn, &BufferedSocketStream::RefuseBusy);
        return;
    }
    if (!per_client_->TryAcquire(conn->address)) {
        Refuse(conn, &BufferedSocketStream::RefuseConnection);
        return;
    }
    conn->counted = true;
    Rearm(conn, Phase::kIdle, options_.idle_ms);
}

void ConnectionTriage::Stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    const uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    any_cv_.notify_all();
    priority_cv_.notify_all();
    if (watcher_.joinable()) watcher_.join();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    priority_queue_.clear();
    queue_.clear();
    connections_.clear();  // those that waited: each closes its socket
}

void ConnectionTriage::Watch() {
    constexpr int kEvents = 64;
    epoll_event events[kEvents];
    auto last_sweep = Clock::now();
    for (;;) {
        const int n = ::epoll_wait(epoll_, events, kEvents, kSweepMs);
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        for (int i = 0; i < n; ++i) {
            if (events[i].data.ptr != nullptr) OnReadable(static_cast<Connection*>(events[i].data.ptr));
        }
        if (Clock::now() - last_sweep >= std::chrono::milliseconds(kSweepMs)) {
            Sweep();
            last_sweep = Clock::now();
        }
    }
}

void ConnectionTriage::OnReadable(Connection* conn) {
    if (conn->phase == Phase::kLingering) {
        char buf[16384];
        for (;;) {
            const ssize_t n = ::recv(conn->stream.socket(), buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0 && (conn->lingered += static_cast<size_t>(n)) < kLingerBytes) continue;
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                Rearm(conn, Phase::kLingering, -1);
            } else {
                Close(conn);  // the client closed, failed, or sent too much
            }
            return;
        }
    }
    if (conn->phase == Phase::kIdle) {
        conn->stream.StartHead();
        conn->phase = Phase::kHead;
        conn->deadline = Clock::now() + std::chrono::milliseconds(options_.head_ms);
    }
    switch (conn->stream.ReadHead()) {
        case BufferedSocketStream::Head::kReady:
            Dispatch(conn);
            return;
        case BufferedSocketStream::Head::kPending:
            Rearm(conn, Phase::kHead, -1);
            return;
        case BufferedSocketStream::Head::kTooLarge:
            conn->stream.RefuseHead(BufferedSocketStream::Head::kTooLarge);
            Linger(conn);
            return;
        default:
            Close(conn);
    }
}

void ConnectionTriage::Sweep() {
    const auto now = Clock::now();
    std::vector<Connection*> expired;
    for (auto& [conn, owned] : connections_) {
        const bool waits =
            conn->phase == Phase::kIdle || conn->phase == Phase::kHead || conn->phase == Phase::kLingering;
        if (waits && conn->deadline <= now) expired.push_back(conn);
    }
    for (Connection* conn : expired) {
        if (conn->phase == Phase::kHead) {
            conn->stream.RefuseHead(BufferedSocketStream::Head::kTooSlow);
            Linger(conn);
        } else {
            Close(conn);  // an idle keep-alive connection, or one done lingering
        }
    }
}

void ConnectionTriage::Dispatch(Connection* conn) {
    const bool priority = IsPriority(conn);
    if (!priority && queue_.size() >= options_.max_waiting) {
        Refuse(conn, &BufferedSocketStream::RefuseBusy);
        return;
    }
    conn->phase = Phase::kQueued;
    (priority ? priority_queue_ : queue_).push_back(conn);
    (priority ? waiting_priority_ : waiting_) = (priority ? priority_queue_ : queue_).size();
    any_cv_.notify_one();
    if (priority) priority_cv_.notify_one();
}

void ConnectionTriage::Refuse(Connection* conn, void (BufferedSocketStream::*answer)()) {
    (conn->stream.*answer)();
    Linger(conn);
}

void ConnectionTriage::Linger(Connection* conn) {
    ::shutdown(conn->stream.socket(), SHUT_WR);
    conn->lingered = 0;
    Rearm(conn, Phase::kLingering, kLingerMs);
}

void ConnectionTriage::Rearm(Connection* conn, Phase phase, int deadline_ms) {
    conn->phase = phase;
    if (deadline_ms >= 0) conn->deadline = Clock::now() + std::chrono::milliseconds(deadline_ms);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = conn;
    const int op = conn->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (::epoll_ctl(epoll_, op, conn->stream.socket(), &ev) != 0) {
        Close(conn);
        return;
    }
    conn->registered = true;
}

void ConnectionTriage::Close(Connection* conn) {
    // Out of the epoll set before it is freed: closing the socket removes it only once no other descriptor (a child
    // process's copy) refers to it, and an event for a freed connection would be read after its free.
    if (conn->registered) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, conn->stream.socket(), nullptr);
    connections_.erase(conn);
}

void ConnectionTriage::Work(bool priority_only) {
    for (;;) {
        Connection* conn = nullptr;
        {
            std::unique_lock<std::mutex> lock(mu_);
            (priority_only ? priority_cv_ : any_cv_).wait(lock, [&] {
                return stopping_ || !priority_queue_.empty() || (!priority_only && NextServable() != queue_.end());
            });
            if (stopping_) return;
            if (!priority_queue_.empty()) {
                conn = priority_queue_.front();
                priority_queue_.pop_front();
                waiting_priority_ = priority_queue_.size();
            } else {
                const auto next = NextServable();
                conn = *next;
                queue_.erase(next);
                waiting_ = queue_.size();
            }
            ++serving_[conn->address];
            conn->phase = Phase::kServing;
        }
        bool keep = true;
        size_t served = 0;
        do {
            const bool last = --conn->requests_left == 0;
            try {
                keep = serve_(conn->stream, last);
            } catch (...) {  // httplib answers a handler's exception itself; anything else ends the connection
                keep = false;
            }
        } while (keep && NextRequestArrives(conn, ++served, priority_only));
        AfterServing(conn, keep);
    }
}

// A client that keeps its connection busy usually sends its next request within a millisecond or two of the answer
// (more on a loaded machine). Waiting up to kWarmMs for it on this worker saves the hand-over to the watching thread
// and back, a quarter of the throughput of small requests; a head not complete by then goes back to waiting without
// a thread. A connection keeps its worker so for at most kTurn requests in a row while others wait for one, and a
// priority worker keeps only a connection that asks for a priority path again.
bool ConnectionTriage::NextRequestArrives(Connection* conn, size_t served_in_turn, bool priority_only) {
    constexpr int kWarmMs = 10;
    constexpr size_t kTurn = 16;
    if (conn->requests_left == 0) return false;
    // Read without the lock, which every worker would otherwise take once per request: a stale count only moves
    // a hand-over by a request.
    const size_t others = waiting_priority_ + (priority_only ? 0 : waiting_.load());
    if (stopping_ || (served_in_turn >= kTurn && others > 0)) return false;
    conn->stream.StartHead();
    auto head = conn->stream.ReadHead();
    if (head == BufferedSocketStream::Head::kPending && !conn->stream.HasBuffered()) {
        pollfd pfd{conn->stream.socket(), POLLIN, 0};
        if (::poll(&pfd, 1, kWarmMs) > 0) head = conn->stream.ReadHead();
    }
    return head == BufferedSocketStream::Head::kReady && (!priority_only || IsPriority(conn));
}

std::deque<ConnectionTriage::Connection*>::iterator ConnectionTriage::NextServable() {
    if (options_.serving_per_client == 0) return queue_.begin();
    return std::find_if(queue_.begin(), queue_.end(), [this](Connection* conn) {
        const auto it = serving_.find(conn->address);
        return it == serving_.end() || it->second < options_.serving_per_client;
    });
}

bool ConnectionTriage::IsPriority(Connection* conn) const {
    return options_.priority_paths.count(std::string(conn->stream.HeadPath())) > 0;
}

// On the worker that served `conn`, which it still owns: a pipelined request already here is dispatched at once, a
// partial one waits for the rest of its head, and an idle connection waits for its next request without a thread.
void ConnectionTriage::AfterServing(Connection* conn, bool keep) {
    auto head = BufferedSocketStream::Head::kPending;
    if (keep && conn->stream.HasBuffered()) {
        conn->stream.StartHead();
        head = conn->stream.ReadHead();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (const auto it = serving_.find(conn->address); it != serving_.end() && --it->second == 0) serving_.erase(it);
    // A request of this address that waited for its turn may go now.
    if (options_.serving_per_client > 0 && !queue_.empty()) any_cv_.notify_all();
    if (stopping_ || head == BufferedSocketStream::Head::kClosed) {
        Close(conn);
    } else if (!keep) {
        Linger(conn);
    } else if (head == BufferedSocketStream::Head::kReady) {
        Dispatch(conn);
    } else if (head == BufferedSocketStream::Head::kTooLarge) {
        conn->stream.RefuseHead(head);
        Linger(conn);
    } else if (conn->stream.HasBuffered()) {
        Rearm(conn, Phase::kHead, options_.head_ms);
    } else {
        conn->stream.ReleaseIdleBuffer();
        Rearm(conn, Phase::kIdle, options_.idle_ms);
    }
}

}  // namespace podpromo
