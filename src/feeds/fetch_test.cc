#include "podpromo/feeds/fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "feed_server.h"

namespace podpromo {
namespace {

using testing::FeedServer;

FetchAsk Ask(std::string url, std::string etag = "", std::string modified = "") {
    FetchAsk ask;
    ask.url = std::move(url);
    ask.if_none_match = std::move(etag);
    ask.if_modified_since = std::move(modified);
    return ask;
}

FetchPolicy Loopback() {
    FetchPolicy p;
    p.allow_private = true;
    p.timeout = std::chrono::milliseconds(10000);
    return p;
}

TEST(Fetch, OnlyPublicAddressesAreReachableByDefault) {
    for (const char* a : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                          "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
                          "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "not an address"}) {
        EXPECT_FALSE(IsPublicAddress(a)) << a;
    }
    for (const char* a :
         {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::200e", "::ffff:8.8.8.8"}) {
        EXPECT_TRUE(IsPublicAddress(a)) << a;
    }
}

TEST(Fetch, URLsOfOtherSchemesOrWithCredentialsAreRefused) {
    EXPECT_TRUE(CheckFetchUrl("https://feeds.example.com/show.xml").ok());
    EXPECT_TRUE(CheckFetchUrl("http://[2a00:1450::1]:8080/feed?x=1").ok());
    for (const char* bad :
         {"ftp://example.com/feed", "file:///etc/passwd", "https://user:pw@example.com/feed", "https:///feed",
          "example.com/feed", "http://example.com:99999/", "http://exa mple.com/", "gopher://x"}) {
        const Status st = CheckFetchUrl(bad);
        EXPECT_EQ(st.slug(), "invalid_url") << bad;
    }
}

TEST(Fetch, ALoopbackServerIsRefusedUnlessThePolicyAllowsIt) {
    FeedServer server;
    server.Serve("/feed.xml", "<rss/>", "application/rss+xml");
    FetchPolicy strict;
    auto refused = FetchText(Ask(server.url() + "/feed.xml"), strict);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().slug(), "address_refused");
    EXPECT_EQ(server.Count("/feed.xml"), 0) << "no request was sent";
    strict.private_hosts = {"127.0.0.1"};
    EXPECT_TRUE(FetchText(Ask(server.url() + "/feed.xml"), strict).ok()) << "a host the operator named";
    auto allowed = FetchText(Ask(server.url() + "/feed.xml"), Loopback());
    ASSERT_TRUE(allowed.ok()) << allowed.status().ToString();
    EXPECT_EQ(allowed->first.status, 200);
    EXPECT_EQ(allowed->second, "<rss/>");
}

TEST(Fetch, RedirectsAreFollowedAndEachHopIsCheckedAgain) {
    FeedServer server;
    server.Serve("/feed.xml", "the feed", "application/rss+xml");
    server.Redirect("/old", "/feed.xml");
    auto moved = FetchText(Ask(server.url() + "/old"), Loopback());
    ASSERT_TRUE(moved.ok()) << moved.status().ToString();
    EXPECT_EQ(moved->second, "the feed");
    EXPECT_EQ(moved->first.final_url, server.url() + "/feed.xml");
    // The first hop's host is allowed; the one it redirects to (the same machine by another name) is not.
    server.Redirect("/elsewhere", "http://localhost:" + std::to_string(server.port()) + "/feed.xml");
    FetchPolicy named;
    named.private_hosts = {"127.0.0.1"};
    auto hop = FetchText(Ask(server.url() + "/elsewhere"), named);
    ASSERT_FALSE(hop.ok());
    EXPECT_EQ(hop.status().slug(), "address_refused") << hop.status().ToString();
    server.Redirect("/loop", "/loop");
    auto loop = FetchText(Ask(server.url() + "/loop"), Loopback());
    ASSERT_FALSE(loop.ok());
    EXPECT_NE(loop.status().message().find("redirects"), std::string::npos);
}

TEST(Fetch, ABodyPastTheLimitIsCutOffWhateverItsLengthSaid) {
    FeedServer server;
    server.Serve("/big", std::string(5000, 'x'), "text/plain");
    server.On("/chunked", [](const httplib::Request&, httplib::Response& res) {
        res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
            const std::string piece(1000, 'y');
            for (int i = 0; i < 50; ++i) {
                if (!sink.write(piece.data(), piece.size())) return false;
            }
            sink.done();
            return true;
        });
    });
    FetchPolicy small = Loopback();
    small.max_bytes = 4096;
    for (const char* path : {"/big", "/chunked"}) {
        auto r = FetchText(Ask(server.url() + path), small);
        ASSERT_FALSE(r.ok()) << path;
        EXPECT_EQ(r.status().slug(), "too_large") << path;
    }
}

TEST(Fetch, ASlowServerIsLeftWithinTheTimeLimit) {
    FeedServer server;
    server.On("/slow", [](const httplib::Request&, httplib::Response& res) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1200));
        res.set_content("late", "text/plain");
    });
    FetchPolicy quick = Loopback();
    quick.timeout = std::chrono::milliseconds(300);
    auto r = FetchText(Ask(server.url() + "/slow"), quick);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().slug(), "fetch_timeout") << r.status().ToString();
}

// A server of raw bytes on loopback: it reads a request, then writes `head` and after it one byte of `drip` every
// `every` until the peer goes or the server is destroyed. (An httplib server cannot send a partial header.)
class DrippingServer {
  public:
    DrippingServer(std::string head, std::chrono::milliseconds every) : head_(std::move(head)), every_(every) {
        listener_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof at;
        bind(listener_, reinterpret_cast<sockaddr*>(&at), size);
        listen(listener_, 4);
        getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &size);
        port_ = ntohs(at.sin_port);
        thread_ = std::thread([this] { Serve(); });
    }
    ~DrippingServer() {
        stop_ = true;
        shutdown(listener_, SHUT_RDWR);
        thread_.join();
        close(listener_);
    }
    DrippingServer(const DrippingServer&) = delete;
    DrippingServer& operator=(const DrippingServer&) = delete;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/feed.xml"; }

  private:
    void Serve() {
        const int c = accept(listener_, nullptr, nullptr);
        if (c < 0) return;
        char request[4096];
        (void)!recv(c, request, sizeof request, 0);
        bool open = send(c, head_.data(), head_.size(), MSG_NOSIGNAL) >= 0;
        auto next = std::chrono::steady_clock::now() + every_;
        while (open && !stop_) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (std::chrono::steady_clock::now() < next) continue;
            open = send(c, "a", 1, MSG_NOSIGNAL) == 1;
            next += every_;
        }
        close(c);
    }
    std::string head_;
    std::chrono::milliseconds every_;
    int listener_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// httplib bounds each read, not the request: a header that comes a byte at a time never trips a read's timeout.
TEST(Fetch, AServerThatDripsItsAnswerIsLeftAtTheTimeLimit) {
    // The header, the body, and (over https) a TLS handshake: a record that says it is 16 kB long, whose bytes come
    // one by one (the TLS library waits for the whole record, and every byte restarts httplib's wait).
    const std::string tls_record("\x16\x03\x03\x40\x00", 5);
    for (const std::string& head : {std::string("HTTP/1.1 200 OK\r\nX-Slow: "),
                                    std::string("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n"), tls_record}) {
        DrippingServer server(head, std::chrono::milliseconds(100));
        FetchPolicy quick = Loopback();
        quick.timeout = std::chrono::milliseconds(1000);
        std::string url = server.url();
        if (head == tls_record) url.replace(0, 4, "https");
        const auto began = std::chrono::steady_clock::now();
        auto r = FetchText(Ask(url), quick);
        const auto took = std::chrono::steady_clock::now() - began;
        ASSERT_FALSE(r.ok()) << head;
        EXPECT_EQ(r.status().slug(), "fetch_timeout") << r.status().ToString();
        EXPECT_LT(took, std::chrono::milliseconds(2500)) << "the fetch ran past its time limit: " << head;
    }
}

// A stop (the service shutting down, a job cancelled) ends a read the server holds open without a byte.
TEST(Fetch, ACancelEndsAReadTheServerHoldsSilent) {
    DrippingServer server("", std::chrono::milliseconds(60000));
    CancelToken cancel;
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        cancel.Cancel();
    });
    const auto began = std::chrono::steady_clock::now();
    auto r = FetchText(Ask(server.url()), Loopback(), &cancel);
    const auto took = std::chrono::steady_clock::now() - began;
    canceller.join();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
    EXPECT_LT(took, std::chrono::milliseconds(1500)) << "the cancel waited for the read's own timeout";
}

// A host that never completes the handshake (its accept queue is full, so the kernel drops our SYN): the connect
// itself hangs, up to the connection timeout. A cancel ends it at once.
TEST(Fetch, ACancelEndsAConnectTheHostNeverAnswers) {
    if (std::ifstream("/proc/sys/net/ipv4/tcp_abort_on_overflow").get() == '1') {
        GTEST_SKIP() << "this kernel refuses a full queue's connections at once (tcp_abort_on_overflow)";
    }
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(listen(listener, 0), 0);
    ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    // Fill the queue, never accepting: the first connections complete, then the kernel stops answering.
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {
        const int f = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
        fillers.push_back(f);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CancelToken cancel;
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        cancel.Cancel();
    });
    const auto began = std::chrono::steady_clock::now();
    auto r =
        FetchText(Ask("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/feed.xml"), Loopback(), &cancel);
    const auto took = std::chrono::steady_clock::now() - began;
    canceller.join();
    for (int f : fillers) close(f);
    close(listener);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
    EXPECT_GE(took, std::chrono::milliseconds(450)) << "the connect did hang until the cancel";
    EXPECT_LT(took, std::chrono::milliseconds(2000)) << "the cancel waited for the connection timeout";
}

TEST(Fetch, AConditionalRequestAnswered304HasNoBodyAndErrorsNameTheStatus) {
    FeedServer server;
    server.On("/feed.xml", [](const httplib::Request& req, httplib::Response& res) {
        if (req.get_header_value("If-None-Match") == "\"v1\"") {
            res.status = 304;
            return;
        }
        res.set_header("ETag", "\"v1\"");
        res.set_header("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT");
        res.set_content("<rss/>", "application/rss+xml");
    });
    auto first = FetchText(Ask(server.url() + "/feed.xml"), Loopback());
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->first.etag, "\"v1\"");
    EXPECT_EQ(first->first.last_modified, "Tue, 01 Dec 2026 10:00:00 GMT");
    auto again = FetchText(Ask(server.url() + "/feed.xml", first->first.etag, first->first.last_modified), Loopback());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->first.status, 304);
    EXPECT_TRUE(again->second.empty());
    auto missing = FetchText(Ask(server.url() + "/nothing"), Loopback());
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().slug(), "fetch_failed");
    EXPECT_NE(missing.status().message().find("404"), std::string::npos);
}

}  // namespace
}  // namespace podpromo
