// cpp-httplib's server with a leaner connection loop. httplib 0.11 (Debian 12's) polls the socket before
// every read and twice before every write, sends a response's head and body separately, and asks the kernel
// for both socket addresses on every request: 11 system calls and two packets for a small GET. LeanServer
// serves a keep-alive connection with one poll while it idles, one recv per request (more only for large
// bodies) and one send of the head together with its body, and looks the addresses up once per connection.
// Parsing, routing, handlers and responses stay httplib's: process_request is its protected entry point for
// exactly this (its SSLServer overrides process_and_close_socket in the same way).
#pragma once

#include <httplib.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

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

    // Waits up to timeout_ms for the next request's first bytes. Gives up early (false) once `listening`
    // becomes invalid, i.e. the server is stopping, or when the peer closes.
    bool AwaitRequest(int timeout_ms, const std::atomic<socket_t>& listening);
    // Sends a held response head. False when the peer is gone.
    bool Flush();

    // The guard on what a stranger can make httplib read (httplib 0.11 takes any number of header lines, each up
    // to 8 KB, for as long as they keep coming): the next request's head is read whole into the buffer before
    // httplib parses it, within `deadline_ms` of its first byte, in at most kHeadBytes and kHeadLines lines.
    enum class Head { kReady, kClosed, kTooLarge, kTooSlow };
    static constexpr size_t kHeadBytes = 32768;
    static constexpr size_t kHeadLines = 100;
    Head AwaitHead(int deadline_ms);
    // Answers a head AwaitHead refused (431 or 408, a JSON error body, Connection: close).
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
    std::array<char, kHeadBytes> in_{};
    size_t in_begin_ = 0;
    size_t in_end_ = 0;
    std::string held_head_;
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

class LeanServer : public httplib::Server {
  public:
    // httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it and the kernel drops
    // SYNs (retried after a second, which shows as 1 s latencies). Call after binding: listens again on the
    // same socket with the system's maximum backlog.
    void RaiseListenBacklog();

    // How long a request head may take from its first byte to its blank line (10 s unless set).
    void set_head_timeout_ms(int ms) { head_timeout_ms_ = ms; }
    // Connections one client address may hold open at once (0: no limit, the default); past it a new connection is
    // answered 429 and closed.
    void set_connections_per_client(int n) { connections_.set_max(n); }
    // Threads kept for the probes: of the `pool` threads serving connections (the size given to the task queue), the
    // last `reserve` serve only requests for `paths`: one request per connection, its first byte within 500 ms and
    // its head within 500 ms more; anything else reaching them is answered 503. So /livez and /health answer while
    // slow or many clients hold the rest. Set before listening.
    void set_reserve(size_t pool, size_t reserve, std::set<std::string> paths);

    // Serves one connected socket on the calling thread as the listener's threads do, then closes it; the server
    // need not listen. For the fuzz targets, which hand it one end of a socket pair.
    bool ServeConnection(socket_t sock);

  private:
    bool process_and_close_socket(socket_t sock) override;
    // The connection loop; it ends early once `listening` is INVALID_SOCKET (the server stopping).
    bool Serve(socket_t sock, const std::atomic<socket_t>& listening);
    int head_timeout_ms_ = 10000;
    PerClientLimit connections_;
    std::atomic<size_t> busy_{0};  // connections being served
    size_t pool_ = 0, reserve_ = 0;
    std::set<std::string> reserved_paths_;
};

}  // namespace podpromo
