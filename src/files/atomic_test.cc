#include "podpromo/files/atomic.h"

#include <gtest/gtest.h>

#include "testsupport.h"

namespace podpromo {
namespace {
namespace fs = std::filesystem;

size_t CountEntries(const fs::path& dir) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

TEST(WriteFileAtomic, WritesAndReplacesWithoutLeavingTempFiles) {
    testing::TempDir dir;
    ASSERT_TRUE(WriteFileAtomic(dir / "a.txt", "first").ok());
    ASSERT_TRUE(WriteFileAtomic(dir / "a.txt", "second").ok());
    EXPECT_EQ(testing::ReadFile(dir / "a.txt"), "second");
    EXPECT_EQ(CountEntries(dir.path()), 1u);
}

TEST(WriteFileAtomic, FailureLeavesNothing) {
    testing::TempDir dir;
    const Status st = WriteFileAtomic(dir / "missing-dir" / "a.txt", "x");
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(CountEntries(dir.path()), 0u);
}

TEST(WriteFileAtomic, FullDiskIsReportedAsNoSpace) {
    if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
    EXPECT_EQ(StatusFromErrno(ENOSPC, "x").code(), StatusCode::kNoSpace);
}

TEST(StagingDir, RemovedUnlessKept) {
    testing::TempDir dir;
    fs::path p;
    {
        auto s = StagingDir::Create(dir.path(), ".stage-");
        ASSERT_TRUE(s.ok());
        p = s->path();
        ASSERT_TRUE(WriteFileAtomic(p / "f", "data").ok());
    }
    EXPECT_FALSE(fs::exists(p));
    {
        auto s = StagingDir::Create(dir.path(), ".stage-");
        ASSERT_TRUE(s.ok());
        p = s->path();
        s->Keep();
    }
    EXPECT_TRUE(fs::exists(p));
}

}  // namespace
}  // namespace podpromo
