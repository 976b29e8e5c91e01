// What a browser is told, and which pages may call across origins: the policy on requests built in memory.
#include "api/browser_policy.h"

#include <gtest/gtest.h>

namespace podpromo::http {
namespace {

httplib::Request Req(const std::string& method, const std::string& origin = "",
                     const std::string& host = "127.0.0.1:8080") {
    httplib::Request req;
    req.method = method;
    req.path = "/api/v1/episodes/ep_1";
    req.headers.emplace("Host", host);
    if (!origin.empty()) req.headers.emplace("Origin", origin);
    return req;
}

const BrowserPolicy kPolicy({"https://studio.example.com"});

TEST(BrowserPolicy, EveryAnswerCarriesTheSecurityHeaders) {
    httplib::Response res;
    EXPECT_FALSE(kPolicy.Apply(Req("GET"), res));
    const std::string csp = res.get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << "no inline or foreign script: " << csp;
    EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
    EXPECT_EQ(res.get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(res.get_header_value("Referrer-Policy"), "same-origin");
    EXPECT_EQ(res.get_header_value("X-Frame-Options"), "DENY");
    EXPECT_FALSE(res.has_header("Access-Control-Allow-Origin")) << "no Origin, no CORS";
}

TEST(BrowserPolicy, AListedOriginIsAllowedWithCredentialsAndItsPreflightAnswered) {
    httplib::Response res;
    EXPECT_FALSE(kPolicy.Apply(Req("DELETE", "https://Studio.Example.com"), res)) << "the handler runs";
    EXPECT_EQ(res.get_header_value("Access-Control-Allow-Origin"), "https://Studio.Example.com");
    EXPECT_EQ(res.get_header_value("Access-Control-Allow-Credentials"), "true");
    EXPECT_EQ(res.get_header_value("Vary"), "Origin");

    auto preflight = Req("OPTIONS", "https://studio.example.com");
    preflight.headers.emplace("Access-Control-Request-Method", "DELETE");
    httplib::Response pre;
    EXPECT_TRUE(kPolicy.Apply(preflight, pre));
    EXPECT_EQ(pre.status, 204);
    EXPECT_NE(pre.get_header_value("Access-Control-Allow-Methods").find("DELETE"), std::string::npos);
    EXPECT_NE(pre.get_header_value("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
    EXPECT_EQ(pre.get_header_value("Access-Control-Allow-Origin"), "https://studio.example.com");
}

TEST(BrowserPolicy, AnotherOriginMayNotPreflightOrChangeAnything) {
    for (const std::string origin : {"https://evil.example", "null", "https://studio.example.com.evil.example",
                                     "http://studio.example.com", "https://studio.example.com:444"}) {
        auto preflight = Req("OPTIONS", origin);
        preflight.headers.emplace("Access-Control-Request-Method", "POST");
        httplib::Response pre;
        EXPECT_TRUE(kPolicy.Apply(preflight, pre)) << origin;
        EXPECT_EQ(pre.status, 403) << origin;
        EXPECT_FALSE(pre.has_header("Access-Control-Allow-Origin")) << origin;
        for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
            httplib::Response res;
            EXPECT_TRUE(kPolicy.Apply(Req(method, origin), res)) << method << " from " << origin;
            EXPECT_EQ(res.status, 403);
            EXPECT_NE(res.body.find("cross_origin"), std::string::npos) << res.body;
        }
        httplib::Response read;
        EXPECT_FALSE(kPolicy.Apply(Req("GET", origin), read)) << "a read is served; the browser withholds it";
        EXPECT_FALSE(read.has_header("Access-Control-Allow-Origin")) << origin;
    }
}

TEST(BrowserPolicy, TheAppsOwnPagesAreSameOrigin) {
    for (const auto& [origin, host] :
         std::vector<std::pair<std::string, std::string>>{{"http://127.0.0.1:8080", "127.0.0.1:8080"},
                                                          {"https://PodPromo.example.org", "podpromo.example.org"},
                                                          {"http://[::1]:8080", "[::1]:8080"}}) {
        httplib::Response res;
        EXPECT_FALSE(kPolicy.Apply(Req("POST", origin, host), res)) << origin;
        EXPECT_TRUE(BrowserPolicy::SameOrigin(origin, host)) << origin;
    }
    // Behind a proxy that rewrites Host, the app's page names the proxy's host, which the proxy passes on.
    auto proxied = Req("POST", "https://podpromo.example.org", "127.0.0.1:8080");
    proxied.headers.emplace("X-Forwarded-Host", "podpromo.example.org, 10.0.0.2");
    httplib::Response via_proxy;
    EXPECT_FALSE(kPolicy.Apply(proxied, via_proxy)) << via_proxy.body;
    auto forged = Req("POST", "https://evil.example", "127.0.0.1:8080");
    forged.headers.emplace("X-Forwarded-Host", "podpromo.example.org");
    httplib::Response refused;
    EXPECT_TRUE(kPolicy.Apply(forged, refused)) << "naming another host does not help";
    EXPECT_FALSE(BrowserPolicy::SameOrigin("http://127.0.0.1:8080", "127.0.0.1:8081"));
    EXPECT_FALSE(BrowserPolicy::SameOrigin("http://127.0.0.1:8080/x", "127.0.0.1:8080"));
    EXPECT_FALSE(BrowserPolicy::SameOrigin("http://127.0.0.1:8080", ""));
}

}  // namespace
}  // namespace podpromo::http
