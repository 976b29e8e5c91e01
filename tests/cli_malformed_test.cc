// Black-box: unusable inputs get exit code 2, one line on stderr, and leave nothing behind.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>

#include "podpromo/media/decode.h"
#include "podpromo/media/probe.h"
#include "testsupport.h"

namespace podpromo::testing {
namespace {
namespace fs = std::filesystem;

class Malformed : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        // 20 s of real speech, as an mp3 whose header records its length.
        auto tl = SynthesizeEpisode(
            {{"slt", "x",
              "We burned through two million dollars in eighteen months and we were nine days from shutting down. What "
              "saved us was one phone call with an angry customer. That is why I call five customers every week.",
              500}},
            *dir_ / "speech.wav");
        ASSERT_TRUE(tl.ok()) << tl.status().ToString();
        ASSERT_TRUE(FfmpegConvert({"-i", (*dir_ / "speech.wav").string(), "-c:a", "libmp3lame", "-b:a", "64k",
                                   (*dir_ / "speech.mp3").string()}));
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }

    // Runs `process FILE --out OUT` and checks the contract for a refused input.
    void ExpectRefused(const fs::path& file, const std::string& reason_part) {
        TempDir work;
        const fs::path out = work / "out";
        const fs::path existing = work / "existing";
        fs::create_directory(existing);
        for (const fs::path& target : {out, existing}) {
            auto r = RunPodpromo({"process", file.string(), "--out", target.string()}, 120000);
            EXPECT_EQ(r.exit_code, 2) << file << "\n" << r.err;
            EXPECT_TRUE(r.out.empty()) << r.out;
            // One line: the reason. (Progress lines may come before it; the reason is the last line.)
            ASSERT_FALSE(r.err.empty());
            ASSERT_EQ(r.err.back(), '\n');
            const std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
            EXPECT_EQ(last.rfind("podpromo: ", 0), 0u) << r.err;
            EXPECT_NE(last.find(reason_part), std::string::npos) << "reason: " << last;
            if (target == out) {
                EXPECT_FALSE(fs::exists(out)) << "a refused input created the output directory";
            } else {
                EXPECT_TRUE(fs::is_empty(existing)) << "a refused input left files behind";
            }
        }
    }

    static TempDir* dir_;
};
TempDir* Malformed::dir_ = nullptr;

TEST_F(Malformed, EmptyFile) {
    std::ofstream(*dir_ / "empty.mp3").close();
    ExpectRefused(*dir_ / "empty.mp3", "empty");
}

TEST_F(Malformed, RandomBytesNamedMp3) {
    std::ofstream out(*dir_ / "random.mp3", std::ios::binary);
    std::mt19937 rng(1);
    for (int i = 0; i < 500000; ++i) out.put(static_cast<char>(rng()));
    out.close();
    ExpectRefused(*dir_ / "random.mp3", "not an audio or video file");
}

TEST_F(Malformed, TextNamedWav) {
    std::ofstream(*dir_ / "notes.wav") << "Episode 12 notes\nTalk about pricing.\nThen the sponsor read.\n";
    ExpectRefused(*dir_ / "notes.wav", "not an audio or video file");
}

TEST_F(Malformed, TruncatedMp3) {
    std::string bytes = ReadFile(*dir_ / "speech.mp3");
    bytes.resize(bytes.size() / 4);
    std::ofstream(*dir_ / "truncated.mp3", std::ios::binary) << bytes;
    ExpectRefused(*dir_ / "truncated.mp3", "truncated");
}

TEST_F(Malformed, WavHeaderThatLiesAboutItsSize) {
    std::string bytes = ReadFile(*dir_ / "speech.wav");
    bytes.resize(bytes.size() / 5);  // the header still declares the full length
    std::ofstream(*dir_ / "liar.wav", std::ios::binary) << bytes;
    ExpectRefused(*dir_ / "liar.wav", "truncated");
}

TEST_F(Malformed, PngNamedMp4) {
    ASSERT_TRUE(
        FfmpegConvert({"-f", "lavfi", "-i", "color=red:s=64x64", "-frames:v", "1", (*dir_ / "image.png").string()}));
    fs::rename(*dir_ / "image.png", *dir_ / "video.mp4");
    ExpectRefused(*dir_ / "video.mp4", "no audio stream");
}

TEST_F(Malformed, AnHourOfSilence) {
    ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "3600", "-c:a", "pcm_s16le",
                               (*dir_ / "silence.wav").string()}));
    ExpectRefused(*dir_ / "silence.wav", "silent");
}

TEST_F(Malformed, TooShortToClip) {
    ASSERT_TRUE(FfmpegConvert({"-i", (*dir_ / "speech.wav").string(), "-t", "5", (*dir_ / "short.wav").string()}));
    ExpectRefused(*dir_ / "short.wav", "shortest clip");
}

TEST_F(Malformed, HostileFileNameIsNeverInterpreted) {
    const std::string name = "--json; touch pwned $(touch pwned2) `touch pwned3`\n'\".mp3";
    std::ofstream(*dir_ / name, std::ios::binary) << "garbage garbage garbage";
    ExpectRefused(*dir_ / name, "\\x0a");  // the newline is shown escaped, keeping the reason on one line
    EXPECT_FALSE(fs::exists("pwned") || fs::exists("pwned2") || fs::exists("pwned3"));
}

// A playlist or a concat script names other files: opened as one, it would read whatever it names (a file outside
// the data directory, over the service). Only plain media containers are opened.
TEST_F(Malformed, APlaylistOrScriptNamingAnotherFileIsRefused) {
    const std::string target = fs::absolute(*dir_ / "speech.wav").string();
    std::ofstream(*dir_ / "playlist.m3u8")
        << "#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30,\nfile:" << target << "\n#EXT-X-ENDLIST\n";
    ExpectRefused(*dir_ / "playlist.m3u8", "a hls file is not accepted");
    std::ofstream(*dir_ / "list.ffconcat") << "ffconcat version 1.0\nfile '" << target << "'\n";
    ExpectRefused(*dir_ / "list.ffconcat", "not accepted");
}

TEST_F(Malformed, MissingFile) { ExpectRefused(*dir_ / "absent.mp3", "no such file"); }

TEST_F(Malformed, MalformedTranscript) {
    std::ofstream(*dir_ / "bad.srt") << "1\n00:00:01,000 --> nonsense\nhello\n";
    TempDir work;
    auto r = RunPodpromo({"process", (*dir_ / "speech.wav").string(), "--transcript", (*dir_ / "bad.srt").string(),
                          "--out", (work / "out").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("bad.srt: line 2"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(work / "out"));
}

TEST_F(Malformed, BadOptionsNameTheChoices) {
    auto r = RunPodpromo({"process", (*dir_ / "speech.wav").string(), "--platform", "myspace"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("tiktok"), std::string::npos) << r.err;
    r = RunPodpromo({"process", (*dir_ / "speech.wav").string(), "--genre", "opera"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("true_crime"), std::string::npos) << r.err;
    r = RunPodpromo({"process", (*dir_ / "speech.wav").string(), "--asr-flag", "-logfn=/tmp/x.log"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-logfn is not supported"), std::string::npos) << r.err;
}

TEST_F(Malformed, BrokenRecordingsFromSharedData) {
    const fs::path data = SharedData();
    if (data.empty()) GTEST_SKIP() << "../shared/data is absent: skipping the real broken files";
    for (const char* f :
         {"pocketsphinx_bad.wav", "pocketsphinx_null.wav", "pocketsphinx_evil.wav", "pocketsphinx_awful.wav"}) {
        SCOPED_TRACE(f);
        auto r = RunPodpromo({"process", (data / "broken" / f).string()});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_TRUE(r.out.empty());
    }
}

}  // namespace
}  // namespace podpromo::testing

namespace podpromo::testing {
namespace {

// Every container a podcaster might upload decodes to the same audio.
TEST(Containers, CommonAudioAndVideoContainersDecode) {
    TempDir dir;
    auto tl = SynthesizeEpisode({{"slt", "x",
                                  "Every container should give the same fourteen seconds of audio, more or less, so we "
                                  "keep talking for a while about nothing much at all, just to fill the time.",
                                  300}},
                                dir / "speech.wav");
    ASSERT_TRUE(tl.ok()) << tl.status().ToString();
    auto ref = ProbeMedia(dir / "speech.wav");
    ASSERT_TRUE(ref.ok());
    auto ref_pcm = DecodeToPcm(dir / "speech.wav", *ref);
    ASSERT_TRUE(ref_pcm.ok());
    const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
        {"a.mp3", {"-c:a", "libmp3lame"}}, {"a.m4a", {"-c:a", "aac"}},       {"a.aac", {"-c:a", "aac"}},
        {"a.flac", {"-c:a", "flac"}},      {"a.ogg", {"-c:a", "libvorbis"}}, {"a.opus", {"-c:a", "libopus"}},
        {"a.mkv", {"-c:a", "libopus"}},    {"a.webm", {"-c:a", "libopus"}},
    };
    for (const auto& [name, codec] : cases) {
        SCOPED_TRACE(name);
        std::vector<std::string> args = {"-i", (dir / "speech.wav").string()};
        args.insert(args.end(), codec.begin(), codec.end());
        args.push_back((dir / name).string());
        ASSERT_TRUE(FfmpegConvert(args));
        auto info = ProbeMedia(dir / name);
        ASSERT_TRUE(info.ok()) << info.status().ToString();
        auto pcm = DecodeToPcm(dir / name, *info);
        ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
        EXPECT_NEAR(static_cast<double>(pcm->DurationMs()), static_cast<double>(ref_pcm->DurationMs()), 120.0);
    }
    for (const auto& [name, vcodec] : std::vector<std::pair<std::string, std::string>>{
             {"v.mp4", "libx264"}, {"v.mov", "libx264"}, {"v.mkv", "libx264"}, {"v.webm", "libvpx"}}) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "testsrc2=s=160x120:r=5", "-i", (dir / "speech.wav").string(),
                                   "-shortest", "-c:v", vcodec, "-c:a", name == "v.webm" ? "libopus" : "aac",
                                   (dir / name).string()}));
        auto info = ProbeMedia(dir / name);
        ASSERT_TRUE(info.ok()) << info.status().ToString();
        EXPECT_TRUE(info->has_video);
        auto pcm = DecodeToPcm(dir / name, *info);
        ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
        EXPECT_NEAR(static_cast<double>(pcm->DurationMs()), static_cast<double>(ref_pcm->DurationMs()), 250.0);
    }
}

// Ctrl-C during processing stops within seconds, exits 130 and leaves no output directory.
TEST(Interrupt, SigintStopsCleanly) {
    auto script = LoadScript(std::filesystem::path(PODPROMO_TEST_DATA) / "true_crime.tsv");
    ASSERT_TRUE(script.ok());
    TempDir dir;
    ASSERT_TRUE(SynthesizeEpisode(*script, dir / "ep.wav").ok());
    const auto start = std::chrono::steady_clock::now();
    auto r = RunProcess({"timeout", "--preserve-status", "-s", "INT", "2", PodpromoBinary(), "process",
                         (dir / "ep.wav").string(), "--out", (dir / "out").string()});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->exit_code, 130) << r->err;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
    EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

}  // namespace
}  // namespace podpromo::testing
