#include "podpromo/files/storage.h"

#include <gtest/gtest.h>

#include <fstream>

#include "fake_file_system.h"
#include "podpromo/files/atomic.h"
#include "testsupport.h"

namespace podpromo {
namespace {
namespace fs = std::filesystem;

TEST(SanitizeFileName, KeepsOnlyASafeLastComponent) {
    EXPECT_EQ(SanitizeFileName("episode 12.mp3"), "episode 12.mp3");
    EXPECT_EQ(SanitizeFileName("../../etc/passwd"), "passwd");
    EXPECT_EQ(SanitizeFileName("C:\\Users\\me\\show.wav"), "show.wav");
    EXPECT_EQ(SanitizeFileName("..."), "upload");
    EXPECT_EQ(SanitizeFileName(".hidden.wav"), "hidden.wav");
    EXPECT_EQ(SanitizeFileName("a;rm -rf ~$(x).wav"), "a_rm -rf ___x_.wav");
    EXPECT_EQ(SanitizeFileName(std::string("a\nb\0c.wav", 9)), "abc.wav");
    const std::string longname = std::string(300, 'x') + ".flac";
    const std::string s = SanitizeFileName(longname);
    EXPECT_LE(s.size(), 120u);
    EXPECT_EQ(s.substr(s.size() - 5), ".flac");
}

TEST(UploadFile, HashesAndRemovesWhatIsNotCommitted) {
    testing::TempDir dir;
    fs::path leftover;
    {
        auto f = UploadFile::Create(dir / "tmp");
        ASSERT_TRUE(f.ok());
        ASSERT_TRUE((*f)->Write("abc", 3).ok());
        leftover = (*f)->path();
        EXPECT_TRUE(fs::exists(leftover));
    }
    EXPECT_FALSE(fs::exists(leftover)) << "an abandoned upload is removed";
    auto f = UploadFile::Create(dir / "tmp");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write("abc", 3).ok());
    ASSERT_TRUE((*f)->Commit(dir / "kept" / "a.bin").ok());
    EXPECT_EQ((*f)->sha256_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ((*f)->size_bytes(), 3);
    EXPECT_TRUE(fs::exists(dir / "kept" / "a.bin"));
}

TEST(Storage, QuotaAndResolveStayInside) {
    testing::TempDir dir;
    auto s = Storage::Open(dir / "data", 1000);
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s->CheckRoom(900).ok());
    EXPECT_EQ(s->CheckRoom(1001).code(), StatusCode::kNoSpace);
    fs::create_directories(s->EpisodeDir("ep_1"));
    std::ofstream(s->EpisodeDir("ep_1") / "x.srt") << std::string(600, 'a');
    EXPECT_EQ(s->UsedBytes(), 600);
    EXPECT_EQ(s->CheckRoom(500).code(), StatusCode::kNoSpace);
    EXPECT_EQ(s->Stats().files_by_kind.at("captions"), 1);
    EXPECT_FALSE(s->Resolve("../outside").ok());
    EXPECT_FALSE(s->Resolve("/etc/passwd").ok());
    EXPECT_TRUE(s->Resolve("episodes/ep_1/x.srt").ok());
}

// An upload that meets a full disk: the write says NoSpace, and the part that fitted goes with the UploadFile.
TEST(UploadFile, ADiskThatFillsMidUploadLeavesNothing) {
    testing::TempDir dir;
    testing::LimitedFileSystem disk(64 * 1024);
    {
        auto f = UploadFile::Create(dir.path(), &disk);
        ASSERT_TRUE(f.ok()) << f.status().ToString();
        const std::string chunk(16 * 1024, 'a');
        Status st;
        for (int i = 0; i < 8 && st.ok(); ++i) st = (*f)->Write(chunk.data(), chunk.size());
        EXPECT_EQ(st.code(), StatusCode::kNoSpace) << st.ToString();
        EXPECT_EQ(st.message(), "cannot write the upload: no space left on device") << "no server path";
    }
    EXPECT_TRUE(fs::is_empty(dir.path()));
    EXPECT_EQ(disk.used_bytes(), 0);
}

// The room check asks the storage's file system: a disk with under 1% free refuses more, whatever the quota.
TEST(Storage, ANearlyFullDiskRefusesRoomAndStatsShowIt) {
    testing::TempDir dir;
    testing::LimitedFileSystem disk(100000);
    auto storage = Storage::Open(dir / "data", int64_t{1} << 40, &disk);
    ASSERT_TRUE(storage.ok());
    EXPECT_TRUE(storage->CheckRoom(1000).ok());
    EXPECT_EQ(storage->Disk().total_bytes, 100000);
    ASSERT_TRUE(WriteFileAtomic(storage->tmp_dir() / "big", std::string(98000, 'x'), &disk).ok());
    EXPECT_EQ(storage->Disk().free_bytes, 2000);
    EXPECT_TRUE(storage->CheckRoom(500).ok());
    EXPECT_EQ(storage->CheckRoom(1500).code(), StatusCode::kNoSpace);
    EXPECT_EQ(storage->Reserve(1500).status().code(), StatusCode::kNoSpace);
    EXPECT_EQ(storage->Stats().disk_free_bytes, 2000);
}

}  // namespace
}  // namespace podpromo
