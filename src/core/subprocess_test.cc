#include "podpromo/core/subprocess.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace podpromo {
namespace {

TEST(Subprocess, ArgumentsAreNeverInterpretedByAShell) {
    const std::string hostile = "$(touch /tmp/podpromo-pwned); rm -rf / `id`";
    auto r = RunProcess({"echo", hostile});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->exit_code, 0);
    EXPECT_EQ(r->out, hostile + "\n");
    EXPECT_FALSE(std::filesystem::exists("/tmp/podpromo-pwned"));
}

TEST(Subprocess, ReportsExitCodeAndStderr) {
    auto r = RunProcess({"sh", "-c", "echo oops >&2; exit 3"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->exit_code, 3);
    EXPECT_EQ(r->err, "oops\n");
}

TEST(Subprocess, MissingProgramIsUnavailable) {
    auto r = RunProcess({"podpromo-no-such-program"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_FALSE(ProgramExists("podpromo-no-such-program"));
    EXPECT_TRUE(ProgramExists("sh"));
}

TEST(Subprocess, CancelKillsTheChildQuickly) {
    CancelToken cancel;
    std::thread t([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        cancel.Cancel();
    });
    const auto start = std::chrono::steady_clock::now();
    auto r = RunProcess({"sleep", "30"}, &cancel);
    t.join();
    EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Subprocess, TimeoutStopsTheChild) {
    auto r = RunProcess({"sleep", "30"}, nullptr, 300);
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

// A child that wants more memory than it is given fails on its own instead of taking the machine's.
TEST(Subprocess, AMemoryLimitStopsAChildThatWantsMore) {
    const std::vector<std::string> wants_300mb = {"python3", "-c", "x = bytearray(300 * 1024 * 1024); print(len(x))"};
    auto free = RunProcess(wants_300mb, nullptr, 30000);
    ASSERT_TRUE(free.ok()) << free.status().ToString();
    EXPECT_EQ(free->exit_code, 0) << free->err;
    auto limited = RunProcess(wants_300mb, nullptr, 30000, int64_t{100} << 20);
    ASSERT_TRUE(limited.ok()) << limited.status().ToString();
    EXPECT_NE(limited->exit_code, 0);
    EXPECT_NE(limited->err.find("MemoryError"), std::string::npos) << limited->err;
}

}  // namespace
}  // namespace podpromo
