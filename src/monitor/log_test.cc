#include "podpromo/monitor/log.h"

#include <gtest/gtest.h>

namespace podpromo {
namespace {

TEST(Log, JsonLinesCarryTimeLevelMessageAndFields) {
    const std::string line =
        FormatLogLine(true, LogLevel::kWarn, "job finished \"badly\"\n",
                      {{"job_id", "job_1"}, {"duration_ms", 1234}, {"level", "spoofed"}}, 1764037800123LL);
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["time"], "2025-11-25T02:30:00.123Z");
    EXPECT_EQ(j["level"], "warn") << "a field cannot override the level";
    EXPECT_EQ(j["message"], "job finished \"badly\"\n");
    EXPECT_EQ(j["job_id"], "job_1");
    EXPECT_EQ(j["duration_ms"], 1234);
    EXPECT_EQ(line.find('\n'), std::string::npos) << "one line, whatever the message holds";
}

TEST(Log, TextLinesAreForPeople) {
    const std::string line =
        FormatLogLine(false, LogLevel::kInfo, "request", {{"status", 404}, {"path", "/x"}}, 1764037800123LL);
    EXPECT_EQ(line, "2025-11-25 02:30:00.123 INFO  request path=/x status=404");
}

TEST(Log, LevelsFilter) {
    ConfigureLog("json", "warn");
    EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
    EXPECT_TRUE(LogEnabled(LogLevel::kError));
    ConfigureLog("json", "debug");
    EXPECT_TRUE(LogEnabled(LogLevel::kDebug));
    ConfigureLog("text", "info");
}

}  // namespace
}  // namespace podpromo
