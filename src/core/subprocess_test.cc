#include "podpromo/core/subprocess.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
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

// A child sees stdin, stdout and stderr only: a socket or file this process has open (a client's connection, say, even
// one opened without close-on-exec) is not the child's to keep open.
TEST(Subprocess, AChildInheritsNoDescriptorButTheStandardThree) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);  // inheritable
    auto r = RunProcess({"ls", "/proc/self/fd"});
    ::close(fds[0]);
    ::close(fds[1]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::set<std::string> open;
    std::istringstream in(r->out);
    for (std::string fd; in >> fd;) open.insert(fd);
    // ls has the directory it lists open as well.
    EXPECT_LE(open.size(), 4u) << r->out;
    EXPECT_FALSE(open.count(std::to_string(fds[0])) && open.count(std::to_string(fds[1]))) << r->out;
    EXPECT_TRUE(open.count("0") && open.count("1") && open.count("2")) << r->out;
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
