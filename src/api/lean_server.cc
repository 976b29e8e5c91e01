#include "lean_server.h"

#include <linux/sockios.h>
#include <netdb.h>
#include <poll.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "connection_triage.h"

namespace podpromo {
namespace {

// poll() for one socket, retried when a signal interrupts it. >0 ready, 0 timed out, <0 failed.
int PollOne(int sock, short events, int timeout_ms) {
    pollfd pfd{sock, events, 0};
    for (;;) {
        const int r = ::poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
}

// A response head (status line and headers, nothing after) that announces a body of known, non-zero length:
// its body follows at once, so the head can wait for it.
bool IsHeadWithBody(std::string_view data) {
    constexpr std::string_view kLength = "\r\nContent-Length: ";
    if (data.size() > 16384 || !data.starts_with("HTTP/1.") || !data.ends_with("\r\n\r\n")) return false;
    const size_t at = data.find(kLength);
    if (at == std::string_view::npos) return false;
    const char first_digit = data[at + kLength.size()];
    return first_digit >= '1' && first_digit <= '9';
}

// One end of the connection (getpeername or getsockname) as numeric host and port, asked once: `cache` keeps it.
const std::pair<std::string, int>& SocketAddress(int sock, int (*lookup)(int, sockaddr*, socklen_t*),
                                                 std::optional<std::pair<std::string, int>>& cache) {
    if (cache) return *cache;
    cache.emplace("", 0);
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    char host[NI_MAXHOST] = "";
    char port[NI_MAXSERV] = "";
    if (lookup(sock, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        *cache = {host, std::atoi(port)};
    }
    return *cache;
}

int ToMs(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

// Closes after a refusal the client may still be sending to (a 411 for a chunked body, a 413): the kernel would
// answer its unread bytes with a reset, and the client would see that instead of the answer. So our side is shut
// first and what still comes is read and dropped, for at most kLingerMs and kLingerBytes, until the client closes.
void LingeringClose(int sock) {
    constexpr int kLingerMs = BufferedSocketStream::kLingerMs;
    constexpr size_t kLingerBytes = BufferedSocketStream::kLingerBytes;
    ::shutdown(sock, SHUT_WR);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMs);
    char buf[16384];
    for (size_t drained = 0; drained < kLingerBytes;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
        if (left <= 0 || PollOne(sock, POLLIN, static_cast<int>(left)) <= 0) break;
        const ssize_t n = ::recv(sock, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        drained += static_cast<size_t>(n);
    }
    ::close(sock);
}

// httplib 0.11 cuts the body of any answer to a request's Range, a JSON one included (with a 200 status and a
// Content-Range of its own beside a handler's): ranges are hidden from it once parsed, and the handlers that serve
// files read the header themselves (http::SendFile).
void HideRanges(httplib::Request& req) { req.ranges.clear(); }

// httplib 0.11 parses a Range header with std::regex before any hook of ours runs, and libstdc++'s regex recurses
// once per character: an 8 KB list of ranges touched 2 MB of a worker's stack, which stays resident, so range spam
// grew the server by 250 MB across its workers. We serve one range or the whole file (http::SendFile), so a Range
// header that is not one short range is ignored, as HTTP allows: its name is changed in place, before httplib reads
// the head, to one nobody reads.
void DisarmRangeList(std::span<char> head) {
    constexpr size_t kMostRangeBytes = 64;  // "bytes=" and two 20-digit numbers, with room
    for (size_t line = 0; line < head.size();) {
        const size_t end = std::string_view(head.data(), head.size()).find('\n', line);
        const size_t stop = end == std::string_view::npos ? head.size() : end;
        const std::string_view text(head.data() + line, stop - line);
        if (text.size() > 6 && strncasecmp(text.data(), "range:", 6) == 0) {
            const std::string_view value = text.substr(6);
            if (value.size() > kMostRangeBytes || value.find(',') != std::string_view::npos) head[line] = 'X';
        }
        line = stop + 1;
    }
}

}  // namespace

BufferedSocketStream::BufferedSocketStream(int sock, int read_timeout_ms, int write_timeout_ms)
    : sock_(sock), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

bool BufferedSocketStream::is_readable() const { return in_begin_ < in_end_ || AwaitSocket(POLLIN, read_timeout_ms_); }

void BufferedSocketStream::StartRequest(int grace_ms, int64_t bytes_per_second) {
    read_ = -static_cast<int64_t>(in_end_ - in_begin_);
    sent_ = 0;
    pace_rate_ = bytes_per_second;
    pace_grace_ms_ = grace_ms;
    waited_ms_ = 0;
    client_too_slow_ = false;
}

bool BufferedSocketStream::AwaitSocket(short events, int timeout_ms) const {
    int wait_ms = timeout_ms;
    bool paced = false;  // the client's pace, not the timeout, sets this wait
    if (pace_rate_ > 0) {
        int unsent = 0;  // bytes the client has not taken yet
        if (sent_ > 0 && ::ioctl(sock_, SIOCOUTQ, &unsent) != 0) unsent = 0;
        const int64_t moved = std::max<int64_t>(read_, 0) + std::max<int64_t>(sent_ - unsent, 0);
        const int64_t left_ms = pace_grace_ms_ + moved * 1000 / pace_rate_ - waited_ms_;
        paced = left_ms < timeout_ms;
        wait_ms = static_cast<int>(std::clamp<int64_t>(left_ms, 0, timeout_ms));
    }
    const auto began = std::chrono::steady_clock::now();
    const int r = wait_ms > 0 ? PollOne(sock_, events, wait_ms) : 0;
    waited_ms_ +=
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began).count();
    if (r == 0 && paced) {
        client_too_slow_ = true;
        // An answer the client reads too slowly is dropped, not left to drain from the kernel's send queue at the
        // client's pace after the close: the close resets the connection.
        if ((events & POLLOUT) != 0) {
            const linger abort{1, 0};
            ::setsockopt(sock_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
        }
    }
    return r > 0;
}

bool BufferedSocketStream::is_writable() const {
    if (!AwaitSocket(POLLOUT, write_timeout_ms_)) return false;
    if (PollOne(sock_, POLLIN, 0) <= 0) return true;  // nothing to read: the peer is still there
    char byte = 0;
    const ssize_t n = ::recv(sock_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));  // 0: the peer closed its end
}

ssize_t BufferedSocketStream::read(char* ptr, size_t size) {
    if (size == 0) return 0;
    EnsureBuffer();
    for (;;) {
        if (in_begin_ < in_end_) {
            const size_t n = std::min(size, in_end_ - in_begin_);
            std::memcpy(ptr, in_.data() + in_begin_, n);
            in_begin_ += n;
            read_ += static_cast<int64_t>(n);
            return static_cast<ssize_t>(n);
        }
        // A read as large as the buffer goes straight to the caller's memory.
        const bool direct = size >= in_.size();
        const ssize_t n = ::recv(sock_, direct ? ptr : in_.data(), direct ? size : in_.size(), MSG_DONTWAIT);
        if (n > 0) {
            if (direct) {
                read_ += n;
                return n;
            }
            in_begin_ = 0;
            in_end_ = static_cast<size_t>(n);
            continue;
        }
        if (n == 0) return 0;  // the peer closed
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        if (!AwaitSocket(POLLIN, read_timeout_ms_)) return -1;
    }
}

ssize_t BufferedSocketStream::write(const char* ptr, size_t size) {
    if (size == 0) return 0;
    const std::string_view data(ptr, size);
    if (held_head_.empty() && IsHeadWithBody(data)) {
        held_head_.assign(data);
        return static_cast<ssize_t>(size);
    }
    const bool ok = SendAll(held_head_.data(), held_head_.size(), ptr, size);
    held_head_.clear();
    return ok ? static_cast<ssize_t>(size) : -1;
}

bool BufferedSocketStream::Flush() {
    if (held_head_.empty()) return true;
    const bool ok = SendAll(held_head_.data(), held_head_.size(), nullptr, 0);
    held_head_.clear();
    return ok;
}

bool BufferedSocketStream::SendAll(const char* first, size_t first_size, const char* second, size_t second_size) {
    iovec parts[2] = {{const_cast<char*>(first), first_size}, {const_cast<char*>(second), second_size}};
    iovec* part = first_size > 0 ? parts : parts + 1;
    int count = static_cast<int>(parts + 2 - part);
    while (count > 0) {
        msghdr msg{};
        msg.msg_iov = part;
        msg.msg_iovlen = static_cast<size_t>(count);
        const ssize_t sent = ::sendmsg(sock_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
            if (!AwaitSocket(POLLOUT, write_timeout_ms_)) return false;
            continue;
        }
        sent_ += sent;
        size_t left = static_cast<size_t>(sent);
        while (count > 0 && left >= part->iov_len) {
            left -= part->iov_len;
            ++part;
            --count;
        }
        if (count > 0) {
            part->iov_base = static_cast<char*>(part->iov_base) + left;
            part->iov_len -= left;
        }
    }
    return true;
}

void BufferedSocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
    std::tie(ip, port) = SocketAddress(sock_, getpeername, remote_);
}

void BufferedSocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
    std::tie(ip, port) = SocketAddress(sock_, getsockname, local_);
}

bool BufferedSocketStream::AwaitRequest(int timeout_ms, const std::atomic<socket_t>& listening) {
    if (in_begin_ < in_end_) return true;  // a pipelined request is already here
    // Waits in slices so a stopping server ends its idle connections promptly.
    constexpr int kSliceMs = 100;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (listening != INVALID_SOCKET) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return false;
        const int r = PollOne(sock_, POLLIN, static_cast<int>(std::min<long long>(left, kSliceMs)));
        if (r != 0) return r > 0;
    }
    return false;
}

void BufferedSocketStream::EnsureBuffer() {
    constexpr size_t kInitialBuffer = 8192;
    if (in_.empty()) in_.resize(kInitialBuffer);
}

void BufferedSocketStream::ReleaseIdleBuffer() {
    if (HasBuffered()) return;
    in_ = {};
    in_begin_ = in_end_ = 0;
}

void BufferedSocketStream::StartHead() {
    if (in_begin_ > 0) {  // a pipelined request's bytes move to the front: the whole buffer is for its head
        std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    }
    head_scanned_ = head_lines_ = 0;
}

BufferedSocketStream::Head BufferedSocketStream::ScanHead() {
    for (; head_scanned_ < in_end_; ++head_scanned_) {
        const size_t i = head_scanned_;
        if (in_[i] != '\n') continue;
        // A blank line ends the head ("\n\n" or "\n\r\n").
        if ((i >= 1 && in_[i - 1] == '\n') || (i >= 2 && in_[i - 1] == '\r' && in_[i - 2] == '\n')) return Head::kReady;
        if (++head_lines_ > kHeadLines) return Head::kTooLarge;
    }
    if (in_end_ == in_.size()) {
        if (in_.size() >= kHeadBytes) return Head::kTooLarge;
        in_.resize(std::min(kHeadBytes, in_.size() * 2));
    }
    return Head::kPending;
}

BufferedSocketStream::Head BufferedSocketStream::ReadHead() {
    EnsureBuffer();
    for (;;) {
        const Head scanned = ScanHead();
        if (scanned == Head::kReady)
            DisarmRangeList(std::span<char>(in_.data() + in_begin_, head_scanned_ - in_begin_));
        if (scanned != Head::kPending) return scanned;
        const ssize_t n = ::recv(sock_, in_.data() + in_end_, in_.size() - in_end_, MSG_DONTWAIT);
        if (n > 0) {
            in_end_ += static_cast<size_t>(n);
            continue;
        }
        if (n == 0) return Head::kClosed;
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? Head::kPending : Head::kClosed;
    }
}

BufferedSocketStream::Head BufferedSocketStream::AwaitHead(int deadline_ms) {
    StartHead();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
    for (;;) {
        const Head head = ReadHead();
        if (head != Head::kPending) return head;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return Head::kTooSlow;
        if (PollOne(sock_, POLLIN, static_cast<int>(std::min<long long>(left, read_timeout_ms_))) < 0) {
            return Head::kClosed;
        }
    }
}

void BufferedSocketStream::Refuse(const char* status_line, const std::string& code, const std::string& message,
                                  bool retry) {
    const std::string body = R"({"error":{"code":")" + code + R"(","message":")" + message + R"("}})";
    const std::string head = std::string(status_line) + "\r\nContent-Type: application/json\r\n" +
                             (retry ? "Retry-After: 1\r\n" : "") +
                             "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    // One try, never a wait: the connection closes next anyway, and the watching thread that sends most refusals
    // must not wait on a client that reads nothing (its earlier answers filling the socket's buffer).
    const std::string answer = head + body;
    (void)!::send(sock_, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void BufferedSocketStream::RefuseConnection() {
    Refuse("HTTP/1.1 429 Too Many Requests", "too_many_connections", "this address has too many connections open",
           true);
}

void BufferedSocketStream::RefuseBusy() {
    Refuse("HTTP/1.1 503 Service Unavailable", "busy", "every connection is in use; try again shortly", true);
}

void BufferedSocketStream::RefuseHead(Head why) {
    if (why == Head::kTooLarge) {
        Refuse("HTTP/1.1 431 Request Header Fields Too Large", "headers_too_large",
               "request heads are at most 32 KB and 100 lines", false);
    } else {
        Refuse("HTTP/1.1 408 Request Timeout", "request_timeout", "the request head came too slowly", false);
    }
}

std::string_view BufferedSocketStream::HeadPath() const {
    const std::string_view head(in_.data() + in_begin_, in_end_ - in_begin_);
    const size_t sp = head.find(' ');
    if (sp == std::string_view::npos) return {};
    const size_t end = head.find_first_of(" ?\r\n", sp + 1);
    return end == std::string_view::npos ? std::string_view() : head.substr(sp + 1, end - sp - 1);
}

bool PerClientLimit::TryAcquire(const std::string& address) {
    std::lock_guard<std::mutex> lock(mu_);
    int& held = held_[address];
    if (max_ > 0 && held >= max_) {
        if (held == 0) held_.erase(address);
        return false;
    }
    ++held;
    return true;
}

void PerClientLimit::Release(const std::string& address) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = held_.find(address);
    if (it != held_.end() && --it->second <= 0) held_.erase(it);
}

// httplib's listen loop hands each accepted socket to its task queue, on the accepting thread. This queue runs
// that hand-over at once (LeanServer::process_and_close_socket gives the socket to the triage, which never blocks)
// and owns the triage's life: made when listening starts, stopped when it ends.
class LeanServer::TriageQueue final : public httplib::TaskQueue {
  public:
    explicit TriageQueue(LeanServer* server) : server_(server) {
        TriageOptions options;
        options.threads = server->threads_;
        options.priority_threads = server->priority_threads_;
        options.priority_paths = server->priority_paths_;
        options.idle_ms = static_cast<int>(server->keep_alive_timeout_sec_ * 1000);
        options.head_ms = server->head_timeout_ms_;
        options.read_timeout_ms = ToMs(server->read_timeout_sec_, server->read_timeout_usec_);
        options.write_timeout_ms = ToMs(server->write_timeout_sec_, server->write_timeout_usec_);
        options.requests_per_connection = server->keep_alive_max_count_;
        options.max_connections = server->max_connections_;
        options.max_waiting = server->max_waiting_;
        options.serving_per_client = server->requests_per_client_;
        server->triage_ = std::make_unique<ConnectionTriage>(
            std::move(options), &server->connections_,
            [server](BufferedSocketStream& stream, bool last) { return server->ServeRequest(stream, last); });
    }
    void enqueue(std::function<void()> fn) override { fn(); }
    void shutdown() override {
        server_->triage_->Stop();
        server_->triage_.reset();
    }

  private:
    LeanServer* server_;
};

LeanServer::LeanServer() {
    new_task_queue = [this] { return new TriageQueue(this); };
}

LeanServer::~LeanServer() = default;

void LeanServer::set_threads(size_t threads, size_t priority_threads, std::set<std::string> priority_paths) {
    threads_ = std::max<size_t>(threads, 1);
    priority_threads_ = priority_threads;
    priority_paths_ = std::move(priority_paths);
}

void LeanServer::RaiseListenBacklog() {
    if (svr_sock_ != INVALID_SOCKET) ::listen(svr_sock_, SOMAXCONN);
}

bool LeanServer::process_and_close_socket(socket_t sock) {
    triage_->Admit(sock);
    return true;
}

namespace {
// The stream whose request the calling thread serves (LeanServer::ServeRequest), for RequestClientTooSlow.
thread_local const BufferedSocketStream* serving = nullptr;
}  // namespace

bool LeanServer::RequestClientTooSlow() { return serving != nullptr && serving->client_too_slow(); }

bool LeanServer::ServeRequest(BufferedSocketStream& stream, bool last) {
    bool connection_closed = false;
    stream.StartRequest(pace_grace_ms_, pace_rate_);
    serving = &stream;
    bool ok = process_request(stream, last, connection_closed, HideRanges);
    serving = nullptr;
    ok = stream.Flush() && ok;
    return ok && !connection_closed && !last && !stream.client_too_slow();
}

bool LeanServer::ServeConnection(socket_t sock) {
    BufferedSocketStream stream(sock, ToMs(read_timeout_sec_, read_timeout_usec_),
                                ToMs(write_timeout_sec_, write_timeout_usec_));
    static const std::atomic<socket_t> kNeverStopping{0};
    bool ok = true;
    for (size_t left = keep_alive_max_count_; left > 0 && ok; --left) {
        if (!stream.AwaitRequest(static_cast<int>(keep_alive_timeout_sec_ * 1000), kNeverStopping)) break;
        const auto head = stream.AwaitHead(head_timeout_ms_);
        if (head == BufferedSocketStream::Head::kClosed) break;
        if (head != BufferedSocketStream::Head::kReady) {
            stream.RefuseHead(head);
            break;
        }
        ok = ServeRequest(stream, left == 1);
    }
    LingeringClose(sock);
    return ok;
}

}  // namespace podpromo
