#include "podpromo/files/atomic.h"

#include <gtest/gtest.h>

#include "fake_file_system.h"
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

// A disk that fills in the middle of the write: NoSpace, the old content stays, and neither the part that fitted nor
// a temp file is left.
TEST(WriteFileAtomic, ADiskThatFillsMidWriteKeepsTheOldFileAndLeavesNothing) {
    testing::TempDir dir;
    testing::LimitedFileSystem disk(100);
    ASSERT_TRUE(WriteFileAtomic(dir / "a.txt", "old", &disk).ok());
    const Status st = WriteFileAtomic(dir / "a.txt", std::string(500, 'x'), &disk);
    EXPECT_EQ(st.code(), StatusCode::kNoSpace) << st.ToString();
    EXPECT_NE(st.message().find("a.txt: no space left on device"), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find(".tmp-"), std::string::npos) << "names the file, not its temp file";
    EXPECT_EQ(disk.no_space_failures(), 1);
    EXPECT_EQ(testing::ReadFile(dir / "a.txt"), "old");
    EXPECT_EQ(CountEntries(dir.path()), 1u);
    EXPECT_EQ(disk.used_bytes(), 3) << "only the old file holds space";
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
