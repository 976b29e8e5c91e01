// cpp-httplib's server with our own connection handling, the one place where httplib 0.11 (Debian 12's) is guarded.
// httplib polls the socket before every read and twice before every write, sends a response's head and body
// separately, asks the kernel for both socket addresses on every request, reads a request head for as long as it
// keeps coming, and gives every connection a thread of a FIFO pool for as long as it stays open. LeanServer reads
// each request head whole and bounded before httplib sees it, on one watching thread (ConnectionTriage), so slow or
// idle clients hold no worker; a busy connection costs one poll and one recv per request and one send of the head
// together with its body. Parsing, routing, handlers and responses stay httplib's: process_request is its
// protected entry point for exactly this (its SSLServer overrides process_and_close_socket in the same way).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podpromo {

// One accepted connection as an httplib::Stream: reads are buffered (httplib reads request lines a byte at
// a time), and a response head that announces a body is held until that body's first bytes so both leave in
// one send. Anything else is sent at once; Flush sends a held head whose body never came (HEAD requests).
class BufferedSocketStream final : public httplib::Stream {
  public:
    BufferedSocketStream(int sock, int read_timeout_ms, int write_timeout_ms);

    bool is_readable() const override;
    // Writable within the write timeout and the peer has not closed its end (an event stream's way to learn
    // its client left).
    bool is_writable() const override;
    ssize_t read(char* ptr, size_t size) override;
    ssize_t write(const char* ptr, size_t size) override;
    void get_remote_ip_and_port(std::string& ip, int& port) const override;
    void get_local_ip_and_port(std::string& ip, int& port) const override;
    socket_t socket() const override { return sock_; }

    // The pace a client must keep while a worker waits on it, sending its body or taking the answer. httplib's read
    // and write timeouts restart with every byte, so a body sent, or an answer read, a byte a second would hold the
    // worker for as long as it lasts. From this call on, the request's waits for the socket may add up to
    // `grace_ms` plus one second for every `bytes_per_second` bytes that moved: read (what is already buffered, its
    // head, not counted) or taken by the client (sent, less what still waits in the kernel's send queue). Past that
    // a read or write fails, and client_too_slow() says so until the next StartRequest. 0 bytes a second: only the
    // timeouts apply.
    void StartRequest(int grace_ms, int64_t bytes_per_second);
    bool client_too_slow() const { return client_too_slow_; }

    // Waits up to timeout_ms for the next request's first bytes. Gives up early (false) once `listening`
    // becomes invalid, i.e. the server is stopping, or when the peer closes.
    bool AwaitRequest(int timeout_ms, const std::atomic<socket_t>& listening);
    // Sends a held response head. False when the peer is gone.
    bool Flush();

    // The guard on what a stranger can make httplib read (httplib 0.11 takes any number of header lines, each up
    // to 8 KB, for as long as they keep coming): the next request's head is read whole into the buffer before
    // httplib parses it, in at most kHeadBytes and kHeadLines lines.
    enum class Head { kReady, kPending, kClosed, kTooLarge, kTooSlow };
    // After a refusal or a last answer the client may still be sending: what comes is read and dropped for at most
    // this long and this much before the socket closes, so the kernel does not reset the connection under an answer
    // the client has not read yet.
    static constexpr int kLingerMs = 250;
    static constexpr size_t kLingerBytes = 1 << 20;
    static constexpr size_t kHeadBytes = 32768;
    static constexpr size_t kHeadLines = 100;
    // Begins the next request's head: what is buffered of it moves to the front of the buffer.
    void StartHead();
    // Reads what has arrived, without waiting, and says whether the head begun by StartHead is complete (kReady),
    // needs more (kPending), is too large, or will never come (kClosed).
    Head ReadHead();
    // StartHead, then ReadHead until the head is complete, within `deadline_ms` (kTooSlow past it).
    Head AwaitHead(int deadline_ms);
    // Bytes received and not yet read (a pipelined request's).
    bool HasBuffered() const { return in_begin_ < in_end_; }
    // Frees the buffer while nothing is in it (an idle connection's); it comes back on the next read.
    void ReleaseIdleBuffer();
    // The refusals: each sends its answer if the socket takes it at once (never waits) and asks the client to
    // close; the caller then closes. A head AwaitHead or ReadHead refused: 431 or 408, a JSON error body.
    void RefuseHead(Head why);
    // Answers a connection its address may not open (429, Connection: close), without reading from it.
    void RefuseConnection();
    // Answers a request the server has no thread for (503, Retry-After: 1, Connection: close).
    void RefuseBusy();
    // The path of the request whose head AwaitHead found ready, without its query; empty when there is none.
    std::string_view HeadPath() const;

  private:
    // Sends a JSON error answer and asks the client to close.
    void Refuse(const char* status_line, const std::string& code, const std::string& message, bool retry);
    bool SendAll(const char* first, size_t first_size, const char* second, size_t second_size);

    int sock_;
    int read_timeout_ms_;
    int write_timeout_ms_;
    Head ScanHead();
    void EnsureBuffer();
    // Waits until the socket is ready for `events` (POLLIN or POLLOUT): for `timeout_ms`, or less as the client's
    // pace demands. False when it did not become ready (client_too_slow_ is set when the pace ran out) or failed.
    bool AwaitSocket(short events, int timeout_ms) const;

    std::vector<char> in_;  // starts at 8 KB, grows to kHeadBytes for a head that needs it
    size_t in_begin_ = 0;
    size_t in_end_ = 0;
    size_t head_scanned_ = 0;  // how far the current head has been looked at, and its lines so far
    size_t head_lines_ = 0;
    std::string held_head_;
    // The client's pace (StartRequest); mutable, as the const is_readable and is_writable wait too.
    int64_t read_ = 0;  // bytes read since StartRequest, less what was buffered then
    int64_t sent_ = 0;  // bytes sent since StartRequest
    int64_t pace_rate_ = 0;
    int pace_grace_ms_ = 0;
    mutable int64_t waited_ms_ = 0;
    mutable bool client_too_slow_ = false;
    mutable std::optional<std::pair<std::string, int>> remote_;
    mutable std::optional<std::pair<std::string, int>> local_;
};

// What each client address holds at once (connections, event streams), refused past a limit, so one client cannot
// take what all share. Thread-safe.
class PerClientLimit {
  public:
    explicit PerClientLimit(int max_per_client = 0) : max_(max_per_client) {}
    void set_max(int max_per_client) { max_ = max_per_client; }
    // Takes one for `address`: false (nothing taken) when it already holds the limit. A limit of 0 takes always.
    bool TryAcquire(const std::string& address);
    void Release(const std::string& address);

  private:
    std::mutex mu_;
    std::map<std::string, int> held_;
    int max_;
};

class ConnectionTriage;

// Connections are not served by httplib's thread pool: LeanServer gives its task queue (new_task_queue, set by the
// constructor; do not replace it) a ConnectionTriage, which reads request heads on one thread and hands complete
// requests to workers (src/api/connection_triage.h). So a slow client costs a descriptor, never a thread.
class LeanServer : public httplib::Server {
  public:
    LeanServer();
    ~LeanServer() override;

    // httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it and the kernel drops
    // SYNs (retried after a second, which shows as 1 s latencies). Call after binding: listens again on the
    // same socket with the system's maximum backlog.
    void RaiseListenBacklog();

    // How long a request head may take from its first byte to its blank line (10 s unless set); past it, 408.
    void set_head_timeout_ms(int ms) { head_timeout_ms_ = ms; }
    // The pace a client must keep (BufferedSocketStream::StartRequest): `grace_ms` of waiting on it (10 s unless
    // set), plus a second for each `bytes_per_second` bytes (500 unless set; 0: no pace). A body slower than that
    // fails its request (httplib answers 400; an error handler that asks RequestClientTooSlow can say 408), an
    // answer read slower than that is cut off, and the connection closes.
    void set_client_min_rate(int grace_ms, int64_t bytes_per_second) {
        pace_grace_ms_ = grace_ms;
        pace_rate_ = bytes_per_second;
    }
    // Whether the request the calling thread serves has outrun its client's pace. For the error handler, which
    // httplib calls on that thread; false on any other thread.
    static bool RequestClientTooSlow();
    // Connections one client address may hold open at once (0: no limit, the default); past it a new connection is
    // answered 429 and closed.
    void set_connections_per_client(int n) { connections_.set_max(n); }
    // Requests one client address may have served at once (0: no limit, the default); more wait for one of its own
    // to end while other addresses' requests go ahead. Probes (the priority paths) never wait for it. Set before
    // listening.
    void set_requests_per_client(size_t n) { requests_per_client_ = n; }
    // The workers: `threads` serve any request, and `priority_threads` more serve only requests for
    // `priority_paths`, which also go ahead of the others in the queue. So /livez and /health answer while clients
    // hold every other worker. 8 and none unless set. Set before listening.
    void set_threads(size_t threads, size_t priority_threads, std::set<std::string> priority_paths);
    // Connections open at once (4096 unless set), and complete requests waiting for a worker (1024 unless set);
    // past either, 503 with Retry-After. Set before listening.
    void set_max_connections(size_t n) { max_connections_ = n; }
    void set_max_waiting(size_t n) { max_waiting_ = n; }

    // Serves one connected socket on the calling thread, then closes it; the server need not listen. For the fuzz
    // targets, which hand it one end of a socket pair.
    bool ServeConnection(socket_t sock);

  private:
    class TriageQueue;

    bool process_and_close_socket(socket_t sock) override;
    // Serves the one request whose head `stream` holds; whether the connection may carry another.
    bool ServeRequest(BufferedSocketStream& stream, bool last);
    int head_timeout_ms_ = 10000;
    int pace_grace_ms_ = 10000;
    int64_t pace_rate_ = 500;
    PerClientLimit connections_;
    size_t threads_ = 8, priority_threads_ = 0;
    std::set<std::string> priority_paths_;
    size_t max_connections_ = 4096, max_waiting_ = 1024;
    size_t requests_per_client_ = 0;
    std::unique_ptr<ConnectionTriage> triage_;  // while listening: made and stopped by the TriageQueue
};

}  // namespace podpromo
