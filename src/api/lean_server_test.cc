#include "lean_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace podpromo {
namespace {

using namespace std::chrono_literals;

// A LeanServer on a free loopback port, serving on its own thread until the fixture ends.
class LeanServerTest : public ::testing::Test {
  protected:
    void Start() {
        port_ = server_.bind_to_any_port("127.0.0.1");
        ASSERT_GT(port_, 0);
        server_.RaiseListenBacklog();
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    void TearDown() override {
        server_.stop();
        if (thread_.joinable()) thread_.join();
    }

    // A raw connection, so the test sees exactly what the server sends and when.
    // `receive_buffer` (bytes, when not 0) is set before connecting, so the window the server sees is that small.
    int Connect(int receive_buffer = 0) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        return fd;
    }
    static void Send(int fd, const std::string& data) {
        for (size_t off = 0; off < data.size();) {
            const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            ASSERT_GT(n, 0) << "send failed: " << std::strerror(errno);
            off += static_cast<size_t>(n);
        }
    }
    // Reads while `more(what arrived)` holds, until the peer closes or `timeout`: what arrived.
    static std::string ReceiveWhile(int fd, std::chrono::milliseconds timeout,
                                    const std::function<bool(const std::string&)>& more) {
        std::string got;
        const auto until = std::chrono::steady_clock::now() + timeout;
        char buf[65536];
        while (more(got) && std::chrono::steady_clock::now() < until) {
            pollfd pfd{fd, POLLIN, 0};
            if (::poll(&pfd, 1, 50) <= 0) continue;
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
        return got;
    }
    // How many whole responses `got` holds (their bodies by Content-Length; a HEAD's has none).
    static int WholeResponses(const std::string& got, bool head_only) {
        int whole = 0;
        for (size_t pos = 0;; ++whole) {
            const size_t end = got.find("\r\n\r\n", pos);
            if (end == std::string::npos) return whole;
            size_t length = 0;
            const size_t at = got.find("Content-Length: ", pos);
            if (!head_only && at != std::string::npos && at < end) length = std::stoul(got.substr(at + 16, 20));
            if (got.size() < end + 4 + length) return whole;
            pos = end + 4 + length;
        }
    }
    // Reads `count` whole responses.
    static std::string ReceiveResponses(int fd, int count, bool head_only = false,
                                        std::chrono::milliseconds timeout = 3000ms) {
        return ReceiveWhile(fd, timeout,
                            [&](const std::string& got) { return WholeResponses(got, head_only) < count; });
    }
    // Reads until `text` arrived.
    static std::string ReceiveUntil(int fd, const std::string& text, std::chrono::milliseconds timeout = 3000ms) {
        return ReceiveWhile(fd, timeout, [&](const std::string& got) { return got.find(text) == std::string::npos; });
    }
    // True when the server closed the connection within `timeout`.
    static bool ClosedWithin(int fd, std::chrono::milliseconds timeout) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
        char byte;
        return ::recv(fd, &byte, 1, 0) == 0;
    }

    LeanServer server_;
    int port_ = 0;
    std::thread thread_;
};

std::string Get(const std::string& path, const std::string& method = "GET") {
    return method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST_F(LeanServerTest, AnswersPipelinedRequestsInOrderOnOneConnection) {
    server_.Get(R"(/echo/(\w+))", [](const httplib::Request& req, httplib::Response& res) {
        res.set_content("you asked for " + req.matches[1].str(), "text/plain");
    });
    Start();
    const int fd = Connect();
    Send(fd, Get("/echo/first") + Get("/echo/second") + Get("/echo/third"));
    const std::string got = ReceiveResponses(fd, 3);
    const size_t first = got.find("you asked for first");
    const size_t second = got.find("you asked for second");
    const size_t third = got.find("you asked for third");
    ASSERT_NE(first, std::string::npos) << got;
    ASSERT_NE(second, std::string::npos) << got;
    ASSERT_NE(third, std::string::npos) << got;
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
    EXPECT_EQ(got.find("HTTP/1.1 200 OK"), 0u);
    // The connection stays open for more.
    Send(fd, Get("/echo/fourth"));
    EXPECT_NE(ReceiveResponses(fd, 1).find("you asked for fourth"), std::string::npos);
    ::close(fd);
}

TEST_F(LeanServerTest, HeadRequestsAndEmptyBodiesStillGetTheirHead) {
    server_.Get("/doc", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(5000, 'x'), "text/plain");
    });
    server_.Delete("/doc", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    Start();
    const int fd = Connect();
    // A HEAD announces the body's length but sends none: the held head must still go out.
    Send(fd, Get("/doc", "HEAD"));
    const std::string head = ReceiveResponses(fd, 1, /*head_only=*/true);
    EXPECT_EQ(head.find("HTTP/1.1 200 OK\r\n"), 0u) << head;
    EXPECT_NE(head.find("Content-Length: 5000\r\n"), std::string::npos) << head;
    EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
    Send(fd, Get("/doc", "DELETE"));
    const std::string empty = ReceiveResponses(fd, 1);
    EXPECT_EQ(empty.find("HTTP/1.1 204 No Content\r\n"), 0u) << empty;
    Send(fd, Get("/doc"));
    const std::string full = ReceiveResponses(fd, 1);
    ASSERT_NE(full.find("\r\n\r\n"), std::string::npos);
    EXPECT_EQ(full.substr(full.find("\r\n\r\n") + 4), std::string(5000, 'x'));
    ::close(fd);
}

TEST_F(LeanServerTest, LargeBodiesArriveWholeAtAReaderThatIsSlowToStart) {
    std::string big(8u << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
    server_.Get("/big",
                [&big](const httplib::Request&, httplib::Response& res) { res.set_content(big, "text/plain"); });
    std::atomic<size_t> uploaded{0};
    server_.Post("/upload",
                 [&uploaded](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
                     reader([&](const char*, size_t n) {
                         uploaded += n;
                         return true;
                     });
                     res.set_content(std::to_string(uploaded.load()), "text/plain");
                 });
    Start();
    const int fd = Connect();
    Send(fd, Get("/big"));
    std::this_thread::sleep_for(300ms);  // the server's send buffer fills and it must wait for the reader
    const std::string got = ReceiveResponses(fd, 1, false, 10000ms);
    ASSERT_NE(got.find("\r\n\r\n"), std::string::npos);
    EXPECT_TRUE(got.substr(got.find("\r\n\r\n") + 4) == big) << "the 8 MB body came back altered";

    const std::string body(3u << 20, 'u');
    Send(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    const std::string answer = ReceiveResponses(fd, 1);
    EXPECT_TRUE(answer.ends_with("\r\n\r\n" + std::to_string(body.size()))) << answer;
    ::close(fd);
}

TEST_F(LeanServerTest, StreamedResponsesAreNotHeldAndNoticeTheClientLeaving) {
    std::atomic<bool> saw_client_leave{false};
    std::atomic<bool> released{false};
    server_.Get("/events", [&](const httplib::Request&, httplib::Response& res) {
        res.set_chunked_content_provider(
            "text/event-stream",
            [&, first = true](size_t, httplib::DataSink& sink) mutable {
                if (first) {
                    first = false;
                    return sink.write("data: one\n\n", 11);
                }
                // Wait, as an event stream does, while the client is there.
                for (int i = 0; i < 500 && sink.is_writable(); ++i) std::this_thread::sleep_for(10ms);
                saw_client_leave = !sink.is_writable();
                return false;
            },
            [&](bool) { released = true; });
    });
    Start();
    const int fd = Connect();
    Send(fd, Get("/events"));
    // The head and the first event arrive while the provider is still running.
    const std::string got = ReceiveUntil(fd, "data: one");
    EXPECT_EQ(got.find("HTTP/1.1 200 OK\r\n"), 0u) << got;
    EXPECT_NE(got.find("data: one"), std::string::npos) << got;
    ::close(fd);
    for (int i = 0; i < 300 && !released; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(saw_client_leave);
    EXPECT_TRUE(released);
}

TEST_F(LeanServerTest, KnowsBothEndsOfTheConnection) {
    std::string remote_addr, local_addr;
    int remote_port = 0, local_port = 0;
    server_.Get("/who", [&](const httplib::Request& req, httplib::Response& res) {
        remote_addr = req.remote_addr;
        remote_port = req.remote_port;
        local_addr = req.get_header_value("LOCAL_ADDR");
        local_port = std::stoi(req.get_header_value("LOCAL_PORT"));
        res.set_content("ok", "text/plain");
    });
    Start();
    const int fd = Connect();
    sockaddr_in mine{};
    socklen_t len = sizeof mine;
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &len), 0);
    for (int i = 0; i < 2; ++i) {  // the second request reuses what the first looked up
        Send(fd, Get("/who"));
        EXPECT_TRUE(ReceiveResponses(fd, 1).ends_with("ok"));
        EXPECT_EQ(remote_addr, "127.0.0.1");
        EXPECT_EQ(remote_port, ntohs(mine.sin_port));
        EXPECT_EQ(local_addr, "127.0.0.1");
        EXPECT_EQ(local_port, port_);
    }
    ::close(fd);
}

TEST_F(LeanServerTest, IdleConnectionsCloseAfterTheKeepAliveTimeoutAndCountLimit) {
    server_.Get("/x", [](const httplib::Request&, httplib::Response& res) { res.set_content("x", "text/plain"); });
    server_.set_keep_alive_timeout(1);
    server_.set_keep_alive_max_count(2);
    Start();
    const int idle = Connect();
    Send(idle, Get("/x"));
    EXPECT_TRUE(ReceiveResponses(idle, 1).ends_with("x"));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(ClosedWithin(idle, 3000ms));
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GT(waited, 0.8);
    ::close(idle);

    const int busy = Connect();
    Send(busy, Get("/x"));
    EXPECT_EQ(ReceiveResponses(busy, 1).find("Connection: close"), std::string::npos);
    Send(busy, Get("/x"));  // the last one this connection may carry says so
    EXPECT_NE(ReceiveResponses(busy, 1).find("Connection: close"), std::string::npos);
    EXPECT_TRUE(ClosedWithin(busy, 1000ms));
    ::close(busy);
}

TEST_F(LeanServerTest, StoppingEndsIdleKeepAliveConnectionsPromptly) {
    server_.Get("/x", [](const httplib::Request&, httplib::Response& res) { res.set_content("x", "text/plain"); });
    server_.set_keep_alive_timeout(30);
    Start();
    const int fd = Connect();
    Send(fd, Get("/x"));
    EXPECT_TRUE(ReceiveResponses(fd, 1).ends_with("x"));
    const auto start = std::chrono::steady_clock::now();
    server_.stop();
    thread_.join();
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
    EXPECT_TRUE(ClosedWithin(fd, 1000ms));
    ::close(fd);
}

}  // namespace
// The head guard (issue 16): httplib takes any number of header lines for as long as they keep coming. Heads of
// more than 100 lines or 32 KB are refused with 431, and a head that trickles in past its deadline with 408; each
// closes its connection, and the server goes on answering others meanwhile.
TEST_F(LeanServerTest, OversizedOrSlowRequestHeadsAreRefusedAndOthersStillAnswered) {
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server_.set_head_timeout_ms(400);
    Start();
    std::string many = "GET /ok HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 150; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    const int a = Connect();
    Send(a, many + "\r\n");
    EXPECT_NE(ReceiveUntil(a, "\r\n\r\n").find("HTTP/1.1 431 "), std::string::npos);
    EXPECT_TRUE(ClosedWithin(a, 1000ms));
    ::close(a);

    const int b = Connect();
    Send(b, "GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n");
    EXPECT_NE(ReceiveUntil(b, "\r\n\r\n").find("HTTP/1.1 431 "), std::string::npos);
    ::close(b);

    // One byte every 100 ms: refused at the deadline, while a whole request on another connection is answered.
    const int slow = Connect();
    const auto t0 = std::chrono::steady_clock::now();
    std::thread trickle([&] {
        const std::string head = "GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(40, 'a');
        for (char ch : head) {
            if (::send(slow, &ch, 1, MSG_NOSIGNAL) != 1) return;
            std::this_thread::sleep_for(100ms);
        }
    });
    const int c = Connect();
    Send(c, Get("/ok"));
    EXPECT_NE(ReceiveResponses(c, 1).find("HTTP/1.1 200"), std::string::npos);
    ::close(c);
    const std::string refused = ReceiveUntil(slow, "\r\n\r\n", 3000ms);
    EXPECT_NE(refused.find("HTTP/1.1 408 "), std::string::npos) << refused;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    ::shutdown(slow, SHUT_RDWR);
    trickle.join();
    ::close(slow);

    // An ordinary head with a body and pipelined requests is still served.
    const int d = Connect();
    Send(d, Get("/ok") + Get("/ok"));
    EXPECT_EQ(WholeResponses(ReceiveResponses(d, 2), false), 2);
    ::close(d);
}

// A client must keep a pace once it has had its grace: a body that trickles in is cut off (the error handler learns
// why, here to answer 408) and its connection closed, so its worker serves the next request; a body that begins late
// within the grace, or pauses on the credit of what it sent, is read whole, by the streamed reader and into memory.
// An answer read a little at a time is cut off too.
TEST_F(LeanServerTest, AClientThatTricklesIsCutOffAndFreesItsWorker) {
    const std::string big(8u << 20, 'b');
    server_.Get("/big",
                [&big](const httplib::Request&, httplib::Response& res) { res.set_content(big, "text/plain"); });
    auto size = [](const httplib::Request& req, httplib::Response& res) {
        res.set_content(std::to_string(req.body.size()), "text/plain");
    };
    server_.Post("/form", size);
    server_.Post("/upload", [](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
        size_t got = 0;
        reader([&](const char*, size_t n) {
            got += n;
            return true;
        });
        res.set_content(std::to_string(got), "text/plain");
    });
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (LeanServer::RequestClientTooSlow()) res.status = 408;
    });
    server_.set_threads(1, 0, {});
    server_.set_client_min_rate(300, 10000);
    Start();
    auto post = [](const std::string& path, size_t length) {
        return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
    };
    for (const char* path : {"/form", "/upload"}) {
        // 100 bytes a second, a hundredth of the pace: cut off after the grace, while the one worker is held.
        const int slow = Connect();
        Send(slow, post(path, 50000));
        const auto t0 = std::chrono::steady_clock::now();
        std::atomic<bool> dripping{true};
        std::thread drip([&] {
            for (int i = 0; i < 100 && dripping.load(); ++i) {
                if (::send(slow, "0123456789", 10, MSG_NOSIGNAL) != 10) return;
                std::this_thread::sleep_for(100ms);
            }
        });
        const std::string cut = ReceiveUntil(slow, "\r\n\r\n", 3000ms);
        const auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_EQ(cut.rfind("HTTP/1.1 408 ", 0), 0u) << path << ": " << cut;
        EXPECT_GE(took, 250ms) << path;
        EXPECT_LT(took, 1500ms) << path;
        EXPECT_TRUE(ClosedWithin(slow, 1000ms)) << path;
        dripping = false;
        drip.join();
        ::close(slow);
        // The worker is free: the next request is answered.
        const int next = Connect();
        Send(next, Get("/ok"));
        EXPECT_NE(ReceiveResponses(next, 1).find("HTTP/1.1 200"), std::string::npos) << path;
        ::close(next);

        // A body that begins 200 ms late, sends half, pauses 1 s (its 25 KB are 2.5 s of credit), then the rest.
        const int late = Connect();
        Send(late, post(path, 50000));
        std::this_thread::sleep_for(200ms);
        Send(late, std::string(25000, 'a'));
        std::this_thread::sleep_for(1000ms);
        Send(late, std::string(25000, 'b'));
        const std::string whole = ReceiveResponses(late, 1);
        EXPECT_EQ(whole.rfind("HTTP/1.1 200 ", 0), 0u) << path << ": " << whole;
        EXPECT_TRUE(whole.ends_with("\r\n\r\n50000")) << path << ": " << whole;
        // The pace is each request's own: the same connection's next body has its grace again.
        Send(late, post(path, 10));
        std::this_thread::sleep_for(200ms);
        Send(late, "0123456789");
        EXPECT_TRUE(ReceiveResponses(late, 1).ends_with("\r\n\r\n10")) << path;
        ::close(late);
    }

    // 8 MB read 500 bytes every 100 ms, half the pace, through a small window: cut off well before its end.
    const int reader = Connect(4096);
    Send(reader, Get("/big"));
    const auto t0 = std::chrono::steady_clock::now();
    size_t received = 0;
    bool closed = false;
    char buf[500];
    while (!closed && std::chrono::steady_clock::now() - t0 < 10s) {
        const ssize_t n = ::recv(reader, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        if (n > 0) received += static_cast<size_t>(n);
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(closed) << "still sending after 10 s, " << received << " bytes read";
    EXPECT_LT(received, big.size() / 4);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
    ::close(reader);
    const int next = Connect();
    Send(next, Get("/ok"));
    EXPECT_NE(ReceiveResponses(next, 1).find("HTTP/1.1 200"), std::string::npos) << "the worker is free again";
    ::close(next);
}

// One address may have only so many requests served at once: its others wait for one of its own to end, while
// another address's request is served at once and the probes never wait.
TEST_F(LeanServerTest, OneAddressCannotTakeEveryWorker) {
    std::atomic<bool> released{false};
    std::atomic<int> holding{0};
    server_.Get("/hold", [&](const httplib::Request&, httplib::Response& res) {
        ++holding;
        for (int i = 0; i < 1000 && !released.load(); ++i) std::this_thread::sleep_for(5ms);
        res.set_content("held", "text/plain");
    });
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server_.set_threads(3, 0, {});
    server_.set_requests_per_client(2);
    Start();
    std::vector<int> holds;
    for (int i = 0; i < 4; ++i) {
        holds.push_back(Connect());
        Send(holds.back(), Get("/hold"));
    }
    for (int i = 0; i < 200 && holding.load() < 2; ++i) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(holding.load(), 2) << "127.0.0.1 has its two requests served; its other two wait";
    // Another address gets the third worker at once.
    const int other = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(other, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    ASSERT_EQ(::connect(other, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    const auto t0 = std::chrono::steady_clock::now();
    Send(other, Get("/ok"));
    EXPECT_NE(ReceiveResponses(other, 1, false, 2000ms).find("HTTP/1.1 200"), std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
    ::close(other);
    // Once released, the waiting two are served too.
    released = true;
    for (int fd : holds) {
        EXPECT_NE(ReceiveResponses(fd, 1, false, 5000ms).find("HTTP/1.1 200"), std::string::npos);
        ::close(fd);
    }
    EXPECT_EQ(holding.load(), 4);
}

// One address may hold only so many connections: past the limit a new one is answered 429 and closed, and a
// connection given back makes room again.
TEST_F(LeanServerTest, ConnectionsPerClientAddressAreLimited) {
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server_.set_keep_alive_timeout(30);
    server_.set_connections_per_client(2);
    Start();
    const int a = Connect(), b = Connect();
    for (int fd : {a, b}) {
        Send(fd, Get("/ok"));
        EXPECT_NE(ReceiveResponses(fd, 1).find("HTTP/1.1 200"), std::string::npos);
    }
    const int c = Connect();
    EXPECT_NE(ReceiveUntil(c, "\r\n\r\n").find("HTTP/1.1 429 "), std::string::npos);
    EXPECT_TRUE(ClosedWithin(c, 1000ms));
    ::close(c);
    ::close(a);
    std::this_thread::sleep_for(200ms);  // the server notices the close
    const int d = Connect();
    Send(d, Get("/ok"));
    EXPECT_NE(ReceiveResponses(d, 1).find("HTTP/1.1 200"), std::string::npos);
    ::close(d);
    ::close(b);
}

// Refusals are sent by the one thread that watches every waiting connection: a client that reads nothing, its
// socket's buffers full of earlier answers, must not hold that thread for the write timeout.
TEST(BufferedSocketStreamTest, ARefusalNeverWaitsForAClientThatDoesNotRead) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    const std::string chunk(65536, 'x');
    while (::send(fds[0], chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
    }
    BufferedSocketStream stream(fds[0], /*read_timeout_ms=*/5000, /*write_timeout_ms=*/5000);
    const auto t0 = std::chrono::steady_clock::now();
    stream.RefuseBusy();
    stream.RefuseHead(BufferedSocketStream::Head::kTooSlow);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
    ::close(fds[0]);
    ::close(fds[1]);
}

// httplib parses a Range header with a regex that recurses once per character (2 MB of a worker's stack for 8 KB of
// ranges). One short range reaches the handlers as sent; a list of ranges, or one too long to be a range, is ignored
// as HTTP allows, and the whole answer is sent.
TEST_F(LeanServerTest, RangeListsAreIgnoredBeforeHttplibParsesThem) {
    server_.Get("/r", [](const httplib::Request& req, httplib::Response& res) {
        res.set_content(req.has_header("Range") ? "range " + req.get_header_value("Range") : "none", "text/plain");
    });
    Start();
    std::string list = "bytes=0-1";
    for (int i = 1; i < 500; ++i) list += "," + std::to_string(2 * i) + "-" + std::to_string(2 * i + 1);
    const std::pair<std::string, std::string> cases[] = {
        {"bytes=0-99", "range bytes=0-99"},
        {"bytes=0-1,5-9", "none"},
        {list, "none"},
        {"bytes=" + std::string(100, '0') + "1-", "none"},
    };
    for (const auto& [range, expected] : cases) {
        const int fd = Connect();
        Send(fd, "GET /r HTTP/1.1\r\nHost: x\r\nrange: " + range + "\r\n\r\n");
        const std::string answer = ReceiveResponses(fd, 1);
        EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer.substr(0, 200);
        EXPECT_TRUE(answer.ends_with("\r\n\r\n" + expected)) << answer.substr(0, 200);
        ::close(fd);
    }
}

// Workers kept for the probes: once requests hold every other worker and the waiting line is full, another request
// is answered 503 at once while /livez is still served; idle keep-alive connections hold no worker at all.
TEST_F(LeanServerTest, PriorityWorkersAnswerTheProbesWhenRequestsHoldTheRest) {
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    int inside = 0;
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server_.Get("/hold", [&](const httplib::Request&, httplib::Response& res) {
        std::unique_lock<std::mutex> lock(mu);
        ++inside;
        cv.notify_all();
        cv.wait_for(lock, 10s, [&] { return release; });  // bounded, so a failed check cannot hang the test
        res.set_content("held", "text/plain");
    });
    server_.Get("/livez",
                [](const httplib::Request&, httplib::Response& res) { res.set_content("alive", "text/plain"); });
    constexpr size_t kThreads = 2;
    server_.set_threads(kThreads, 1, {"/livez"});
    server_.set_max_waiting(1);
    server_.set_keep_alive_timeout(30);
    Start();
    std::vector<int> idle;  // more idle keep-alive connections than workers: they hold none
    for (int i = 0; i < 6; ++i) {
        idle.push_back(Connect());
        Send(idle.back(), Get("/ok"));
        EXPECT_NE(ReceiveResponses(idle.back(), 1).find("HTTP/1.1 200"), std::string::npos);
    }
    std::vector<int> held;
    for (size_t i = 1; i <= kThreads; ++i) {  // one at a time: two at once could find the line full
        held.push_back(Connect());
        Send(held.back(), Get("/hold"));
        std::unique_lock<std::mutex> lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, 3s, [&] { return inside == static_cast<int>(i); }));
    }
    const int waits = Connect();  // the one place in the line
    Send(waits, Get("/ok"));
    std::this_thread::sleep_for(100ms);
    const int other = Connect();
    Send(other, Get("/ok"));
    const std::string busy = ReceiveUntil(other, "\r\n\r\n");
    EXPECT_NE(busy.find("HTTP/1.1 503 "), std::string::npos) << busy;
    EXPECT_NE(busy.find("Retry-After: 1"), std::string::npos);
    EXPECT_TRUE(ClosedWithin(other, 1000ms));
    ::close(other);
    for (int i = 0; i < 3; ++i) {
        const int probe = Connect();
        Send(probe, Get("/livez?verbose=1"));
        const std::string answer = ReceiveResponses(probe, 1);
        EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
        ::close(probe);
    }
    {
        std::lock_guard<std::mutex> lock(mu);
        release = true;
        cv.notify_all();
    }
    // Once the held requests finish, the one that waited is served, and so are the idle connections.
    EXPECT_NE(ReceiveResponses(waits, 1).find("HTTP/1.1 200"), std::string::npos);
    for (int fd : idle) {
        Send(fd, Get("/ok"));
        EXPECT_NE(ReceiveResponses(fd, 1).find("HTTP/1.1 200"), std::string::npos);
    }
    for (int fd : held) EXPECT_NE(ReceiveResponses(fd, 1).find("held"), std::string::npos);
    for (int fd : idle) ::close(fd);
    for (int fd : held) ::close(fd);
    ::close(waits);
}

// Issue 16's slow-head attack in small: many more connections than workers each trickle a request head. None of
// them holds a worker, so /livez and an ordinary request are answered at once throughout, and each slow head is
// refused 408 at its deadline.
TEST_F(LeanServerTest, SlowHeadsHoldNoWorker) {
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server_.Get("/livez",
                [](const httplib::Request&, httplib::Response& res) { res.set_content("alive", "text/plain"); });
    server_.set_threads(2, 1, {"/livez"});
    server_.set_head_timeout_ms(1500);
    Start();
    std::vector<int> slow;
    for (int i = 0; i < 64; ++i) {
        slow.push_back(Connect());
        Send(slow.back(), "GET /ok HTTP/1.1\r\n");
    }
    const auto until = std::chrono::steady_clock::now() + 1000ms;
    std::chrono::steady_clock::duration worst{};
    while (std::chrono::steady_clock::now() < until) {
        for (const char* path : {"/livez", "/ok"}) {
            const auto t0 = std::chrono::steady_clock::now();
            const int fd = Connect();
            Send(fd, Get(path));
            EXPECT_NE(ReceiveResponses(fd, 1).find("HTTP/1.1 200"), std::string::npos) << path;
            worst = std::max(worst, std::chrono::steady_clock::now() - t0);
            ::close(fd);
        }
        for (int fd : slow) Send(fd, "X");
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_LT(worst, 250ms);
    for (int fd : slow) {
        EXPECT_NE(ReceiveUntil(fd, "\r\n\r\n", 2000ms).find("HTTP/1.1 408 "), std::string::npos);
        ::close(fd);
    }
}

}  // namespace podpromo
