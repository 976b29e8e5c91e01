#include "podpromo/files/storage.h"

#include <gtest/gtest.h>

#include <fstream>

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

}  // namespace
}  // namespace podpromo
