#include "podpromo/feeds/fetch.h"

#include <gtest/gtest.h>

#include <thread>

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
