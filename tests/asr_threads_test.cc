// The recogniser on many threads at once, as the service runs it: several transcriptions side by side must
// neither corrupt each other (sphinxbase has process-wide state) nor depend on how chunks fell to threads. And
// word times that hold across pauses.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "podpromo/asr/pocketsphinx.h"
#include "podpromo/asr/segments.h"
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

// The WAV decoded and analysed as the pipeline does.
Result<std::pair<Pcm, AudioFrames>> DecodeAndAnalyze(const fs::path& wav) {
    auto info = ProbeMedia(wav);
    if (!info.ok()) return info.status();
    auto pcm = DecodeToPcm(wav, *info);
    if (!pcm.ok()) return pcm.status();
    auto frames = AnalyzeAudio(*pcm);
    if (!frames.ok()) return frames.status();
    return std::make_pair(std::move(*pcm), std::move(*frames));
}

TEST(ConcurrentRecognition, SameWordsWhateverTheThreadsAndNoInterference) {
    TempDir dir;
    auto script = LoadScript(fs::path(PODPROMO_TEST_DATA) / "business_interview.tsv");
    ASSERT_TRUE(script.ok()) << script.status().ToString();
    script->resize(std::min<size_t>(script->size(), 13));  // about two minutes: enough chunks for four threads
    const fs::path wav = dir / "episode.wav";
    auto timeline = SynthesizeEpisode(*script, wav);
    ASSERT_TRUE(timeline.ok()) << timeline.status().ToString();
    auto decoded = DecodeAndAnalyze(wav);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    const Pcm* pcm = &decoded->first;
    const AudioFrames* frames = &decoded->second;
    const MemoryPcmSource source(*pcm);
    const auto chunks = PlanChunks(*frames, PocketsphinxConfig{}.chunk_target_ms, PocketsphinxConfig{}.chunk_max_ms);
    ASSERT_GE(chunks.size(), 6u) << "the episode must give each thread several chunks";

    auto transcribe = [&](int threads) -> Result<Transcript> {
        PocketsphinxConfig config;
        config.threads = threads;
        return MakePocketsphinxTranscriber(config)->Transcribe(source, *frames, {}, nullptr);
    };
    // Two jobs at once, on one and four threads: five decoders started, used and freed side by side, and the words
    // the same as the single thread's although the chunks fell to threads in another order.
    Result<Transcript> one = Status::Internal("not run"), four = Status::Internal("not run");
    std::thread t1([&] { one = transcribe(1); });
    std::thread t4([&] { four = transcribe(4); });
    t1.join();
    t4.join();
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    const auto reference = AllWords(*one);
    ASSERT_GT(reference.size(), 150u);
    ASSERT_TRUE(four.ok()) << four.status().ToString();
    ExpectSameWords(AllWords(*four), reference);
}

// Words keep their time after a long pause inside one recognition chunk. (The decoder's own silence removal drops
// the pause's frames without saying which, and every word after it came out early by the pause's length.)
TEST(RecognitionTiming, WordsAfterLongPausesInOneChunkKeepTheirTime) {
    TempDir dir;
    const fs::path wav = dir / "pauses.wav";
    const std::vector<ScriptLine> script = {
        {"slt", "plain", "The harbour was quiet on the morning the boats came back.", 3000},
        {"slt", "plain", "Nobody on the pier said a word about the storm.", 2500},
        {"slt", "plain", "Then the first captain stepped ashore and started laughing.", 600}};
    auto timeline = SynthesizeEpisode(script, wav);
    ASSERT_TRUE(timeline.ok()) << timeline.status().ToString();
    ASSERT_LT(timeline->back().end_ms, PocketsphinxConfig{}.chunk_max_ms) << "the whole episode is one chunk";
    auto decoded = DecodeAndAnalyze(wav);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    const Pcm* pcm = &decoded->first;
    const AudioFrames* frames = &decoded->second;
    auto t = MakePocketsphinxTranscriber({})->Transcribe(MemoryPcmSource(*pcm), *frames, {}, nullptr);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    std::vector<int> per_line(timeline->size(), 0);
    for (const auto& w : AllWords(*t)) {
        const Ms mid = (w.start_ms + w.end_ms) / 2;
        bool placed = false;
        for (size_t i = 0; i < timeline->size(); ++i) {
            const auto& l = (*timeline)[i];
            if (mid >= l.start_ms - 250 && mid <= l.end_ms + 250) {
                ++per_line[i];
                placed = true;
            }
        }
        EXPECT_TRUE(placed) << "\"" << w.text << "\" at " << w.start_ms << "-" << w.end_ms << " ms lies in a pause";
    }
    for (size_t i = 0; i < per_line.size(); ++i) EXPECT_GE(per_line[i], 5) << "line " << i;
}

}  // namespace
}  // namespace podpromo::testing
