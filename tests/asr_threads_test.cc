// The recogniser on many threads at once, as the service runs it: several transcriptions side by side must
// neither corrupt each other (sphinxbase has process-wide state) nor depend on how chunks fell to threads.
#include <gtest/gtest.h>

#include <thread>

#include "podpromo/asr/transcriber.h"
#include "podpromo/media/audio_features.h"
#include "podpromo/media/decode.h"
#include "podpromo/media/probe.h"
#include "testsupport.h"

namespace podpromo::testing {
namespace {
namespace fs = std::filesystem;

std::vector<Word> AllWords(const Transcript& t) {
    std::vector<Word> out;
    for (const auto& s : t.segments) out.insert(out.end(), s.words.begin(), s.words.end());
    return out;
}

void ExpectSameWords(const std::vector<Word>& a, const std::vector<Word>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].text, b[i].text) << "word " << i;
        EXPECT_EQ(a[i].start_ms, b[i].start_ms) << "word " << i;
        EXPECT_EQ(a[i].end_ms, b[i].end_ms) << "word " << i;
    }
}

TEST(ConcurrentRecognition, SameWordsWhateverTheThreadsAndNoInterference) {
    TempDir dir;
    auto script = LoadScript(fs::path(PODPROMO_TEST_DATA) / "business_interview.tsv");
    ASSERT_TRUE(script.ok()) << script.status().ToString();
    const fs::path wav = dir / "episode.wav";
    auto timeline = SynthesizeEpisode(*script, wav);
    ASSERT_TRUE(timeline.ok()) << timeline.status().ToString();
    auto info = ProbeMedia(wav);
    ASSERT_TRUE(info.ok());
    auto pcm = DecodeToPcm(wav, *info);
    ASSERT_TRUE(pcm.ok());
    auto frames = AnalyzeAudio(*pcm);
    ASSERT_TRUE(frames.ok());
    const MemoryPcmSource source(*pcm);
    const auto chunks = PlanChunks(*frames, PocketsphinxConfig{}.chunk_target_ms, PocketsphinxConfig{}.chunk_max_ms);
    ASSERT_GE(chunks.size(), 6u) << "the episode must give each thread several chunks";

    auto transcribe = [&](int threads) -> Result<Transcript> {
        PocketsphinxConfig config;
        config.threads = threads;
        return MakePocketsphinxTranscriber(config)->Transcribe(source, *frames, {}, nullptr);
    };
    auto one = transcribe(1);
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    const auto reference = AllWords(*one);
    ASSERT_GT(reference.size(), 200u);

    // Two jobs at once, each on several threads, twice over.
    for (int round = 0; round < 2; ++round) {
        Result<Transcript> a = Status::Internal("not run"), b = Status::Internal("not run");
        std::thread ta([&] { a = transcribe(3); });
        std::thread tb([&] { b = transcribe(4); });
        ta.join();
        tb.join();
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        ASSERT_TRUE(b.ok()) << b.status().ToString();
        ExpectSameWords(AllWords(*a), reference);
        ExpectSameWords(AllWords(*b), reference);
    }
}

}  // namespace
}  // namespace podpromo::testing
