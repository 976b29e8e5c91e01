#include "podpromo/files/zip.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "podpromo/core/subprocess.h"
#include "testsupport.h"

namespace podpromo {
namespace {
namespace fs = std::filesystem;

std::string Bytes(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

// Reads the whole archive in reads of `chunk` bytes, as an HTTP response's body is pulled.
std::string ReadAll(ZipStream& z, size_t chunk) {
    std::string out;
    while (out.size() < z.size()) {
        const size_t was = out.size();
        EXPECT_TRUE(z.Read(out.size(), chunk, &out).ok());
        if (out.size() == was) break;
    }
    return out;
}

// Bar: the archive is a ZIP that unzip reads back whole, with UTF-8 names, of exactly the length announced.
TEST(ZipStream, UnzipReadsBackEveryFileByName) {
    testing::TempDir dir;
    const std::map<std::string, std::string> files = {{"01 Why we quit.mp4", Bytes(300'000, 1)},
                                                      {"01 Why we quit.srt", "1\n00:00:00,000 --> 00:00:01,000\nhi\n"},
                                                      {"02 Café – ten percent.m4a", Bytes(70'001, 2)},
                                                      {"empty.txt", ""}};
    std::vector<ZipStream::Entry> entries;
    int n = 0;
    for (const auto& [name, bytes] : files) {
        const fs::path p = dir / ("f" + std::to_string(n++));
        std::ofstream(p, std::ios::binary) << bytes;
        entries.push_back({name, p});
    }
    auto z = ZipStream::Create(entries);
    ASSERT_TRUE(z.ok()) << z.status().ToString();
    const std::string zip = ReadAll(**z, 65'536 + 7);  // reads that straddle headers and files
    ASSERT_EQ(zip.size(), (*z)->size());
    std::ofstream(dir / "clips.zip", std::ios::binary) << zip;
    auto test = RunProcess({"unzip", "-t", (dir / "clips.zip").string()});
    ASSERT_TRUE(test.ok());
    EXPECT_EQ(test->exit_code, 0) << test->out << test->err;
    // Python's zipfile (what many tools build on) checks every CRC and extracts by the UTF-8 names.
    auto read = RunProcess({"python3", "-c",
                            "import sys, zipfile\n"
                            "z = zipfile.ZipFile(sys.argv[1])\n"
                            "assert z.testzip() is None\n"
                            "z.extractall(sys.argv[2])\n"
                            "print('\\n'.join(z.namelist()))",
                            (dir / "clips.zip").string(), (dir / "out").string()});
    ASSERT_TRUE(read.ok());
    ASSERT_EQ(read->exit_code, 0) << read->err;
    std::string names;
    for (const auto& [name, bytes] : files) {
        names += name + "\n";
        EXPECT_EQ(testing::ReadFile(dir / "out" / name), bytes) << name;
    }
    EXPECT_EQ(read->out, names);
}

TEST(ZipStream, HostileOrDuplicateNamesAreRefused) {
    testing::TempDir dir;
    std::ofstream(dir / "a") << "x";
    for (const std::string bad : {"", ".", "..", "../etc/passwd", "/abs", "a\\b", "line\nbreak", "\xC3\x28"}) {
        EXPECT_EQ(ZipStream::Create({{bad, dir / "a"}}).status().code(), StatusCode::kInvalidInput) << bad;
    }
    EXPECT_EQ(ZipStream::Create({{"x", dir / "a"}, {"x", dir / "a"}}).status().code(), StatusCode::kInvalidInput);
    EXPECT_FALSE(ZipStream::Create({{"gone", dir / "missing"}}).ok());
}

// A file that changes after the archive was sized cannot be finished: the read fails instead of sending a damaged
// archive (the download is cut); reads must come in order.
TEST(ZipStream, AFileChangedWhileStreamingFailsTheRead) {
    testing::TempDir dir;
    std::ofstream(dir / "a", std::ios::binary) << Bytes(10'000, 3);
    auto z = ZipStream::Create({{"a.bin", dir / "a"}});
    ASSERT_TRUE(z.ok());
    std::string out;
    EXPECT_EQ((*z)->Read(5, 10, &out).code(), StatusCode::kInvalidInput) << "out of order";
    ASSERT_TRUE((*z)->Read(0, 10, &out).ok());
    std::ofstream(dir / "a", std::ios::binary) << Bytes(10'000, 4);  // same size, other bytes
    EXPECT_EQ((*z)->Read(10, 100'000, &out).code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace podpromo
