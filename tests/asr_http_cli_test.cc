// `podpromo process` with a Whisper-compatible engine: pointed at a loopback server that speaks the OpenAI
// shape and returns known words, it uses exactly those words and times, for a 10-minute episode sent as
// several chunks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "fake_whisper.h"
#include "testsupport.h"

namespace podpromo::testing {
namespace {
using nlohmann::json;

struct ReturnedWord {
    double start, end;
    int request;
};

TEST(WhisperEngine, ProcessUsesExactlyTheEnginesWordsForATenMinuteEpisodeInSeveralChunks) {
    TempDir dir;
    // Ten minutes of 6 s tones with 1 s of silence between: pauses for the chunker, no speech needed.
    const auto episode = dir / "Tone Show.wav";
    ASSERT_TRUE(
        FfmpegConvert({"-f", "lavfi", "-i", "aevalsrc=if(lt(mod(t\\,7)\\,6)\\,0.3*sin(2*PI*220*t)\\,0):s=16000:d=600",
                       "-ac", "1", episode.string()}));
    std::mutex mu;
    std::map<std::string, ReturnedWord> returned;  // word text -> where it was put in its chunk
    FakeWhisper server([&](int n, const Seen& s, httplib::Response& res) {
        const double seconds = static_cast<double>(s.wav_bytes - 44) / 32000.0;
        json words = json::array();
        std::lock_guard<std::mutex> lock(mu);
        for (int k = 0; 0.3 + 0.5 * k + 0.4 < seconds; ++k) {
            const std::string text = "r" + std::to_string(n) + "w" + std::to_string(k);
            const double start = 0.3 + 0.5 * k;
            words.push_back({{"word", text}, {"start", start}, {"end", start + 0.4}});
            returned[text] = {start, start + 0.4, n};
        }
        res.set_content(json{{"text", "..."}, {"words", words}}.dump(), "application/json");
    });
    setenv("ASR_API_KEY", "test-key-42", 1);
    const auto run = RunPodpromo({"process", episode.string(), "--json", "--asr-engine", "openai", "--asr-url",
                                  server.url(), "--asr-chunk-seconds", "120"});
    unsetenv("ASR_API_KEY");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err.find("test-key-42"), std::string::npos);
    const json doc = json::parse(run.out, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << run.out.substr(0, 500);

    const auto seen = server.seen();
    ASSERT_GE(seen.size(), 4u) << "ten minutes go as several chunks";
    for (const auto& s : seen) {
        EXPECT_EQ(s.auth, "Bearer test-key-42");
        EXPECT_EQ(s.prompt, "Tone Show.") << "the title is the vocabulary hint";
        EXPECT_LE(s.wav_bytes, 44u + 144u * 32000u) << "no chunk over 1.2 x 120 s";
    }
    EXPECT_EQ(doc["transcript"]["engine"], "openai:whisper-1");
    // Every word the engine returned, and nothing else, each moved by its chunk's start only.
    std::map<int, double> chunk_start;  // request -> offset seen
    size_t count = 0;
    double last = -1;
    for (const auto& seg : doc["transcript"]["segments"]) {
        for (const auto& w : seg["words"]) {
            const std::string text = w["word"];
            ASSERT_TRUE(returned.count(text)) << "a word the engine never sent: " << text;
            const ReturnedWord& r = returned[text];
            const double offset = w["start"].get<double>() - r.start;
            EXPECT_NEAR(w["end"].get<double>() - w["start"].get<double>(), r.end - r.start, 0.002) << text;
            if (!chunk_start.count(r.request)) chunk_start[r.request] = offset;
            EXPECT_NEAR(offset, chunk_start[r.request], 0.002) << "one shift for all words of a chunk: " << text;
            EXPECT_GE(w["start"].get<double>(), last) << "in time order";
            last = w["start"].get<double>();
            ++count;
        }
    }
    EXPECT_EQ(count, returned.size());
    EXPECT_EQ(chunk_start.size(), seen.size());
    EXPECT_LE(last, 600.0);
}

TEST(WhisperEngine, AnUnusableEngineSettingIsRefusedBeforeAnyWork) {
    const auto run = RunPodpromo({"process", "/nonexistent.wav", "--asr-engine", "openai", "--asr-url", "ftp://x"});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_NE(run.err.find("ASR_URL"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace podpromo::testing
