#include "podpromo/monitor/metrics.h"

#include <gtest/gtest.h>

namespace podpromo {
namespace {

TEST(Metrics, PrometheusTextFormat) {
    Metrics m;
    m.Describe("req_total", "counter", "Requests.");
    m.Increment("req_total", {{"route", "/health"}, {"status", "200"}});
    m.Increment("req_total", {{"route", "/health"}, {"status", "200"}});
    m.Set("queue_depth", {{"state", "queued"}}, 3);
    m.Observe("latency_seconds", {{"route", "/x\"y"}}, 0.004, {0.001, 0.01, 0.1});
    m.Observe("latency_seconds", {{"route", "/x\"y"}}, 0.5, {0.001, 0.01, 0.1});
    const std::string text = m.Render();
    EXPECT_NE(text.find("# HELP req_total Requests.\n# TYPE req_total counter\n"), std::string::npos) << text;
    EXPECT_NE(text.find("req_total{route=\"/health\",status=\"200\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("queue_depth{state=\"queued\"} 3\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE latency_seconds histogram\n"), std::string::npos);
    EXPECT_NE(text.find("latency_seconds_bucket{route=\"/x\\\"y\",le=\"0.001\"} 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("latency_seconds_bucket{route=\"/x\\\"y\",le=\"0.01\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("latency_seconds_bucket{route=\"/x\\\"y\",le=\"+Inf\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("latency_seconds_count{route=\"/x\\\"y\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("latency_seconds_sum{route=\"/x\\\"y\"} 0.504\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace podpromo
