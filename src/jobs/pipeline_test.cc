#include "podpromo/jobs/pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "fake_file_system.h"
#include "testsupport.h"

namespace podpromo {
namespace {

std::vector<Word> Words(const std::vector<std::pair<Ms, Ms>>& times) {
    std::vector<Word> w;
    w.reserve(times.size());
    for (const auto& [s, e] : times) w.push_back({"w", s, e, 1.0});
    return w;
}

TEST(BreathingRoom, PadsTheCutsWithoutTouchingNeighbouringWords) {
    // Long pauses around the clip: the full 150 ms lead and 300 ms tail.
    auto w = Words({{0, 400}, {2000, 2400}, {2500, 20000}, {22000, 22400}});
    Candidate c{1, 3, 2000, 20000};
    Candidate p = WithBreathingRoom(w, c, 60000, 0);
    EXPECT_EQ(p.start_ms, 1850);
    EXPECT_EQ(p.end_ms, 20300);
    EXPECT_EQ(p.first_word, 1u);
    EXPECT_EQ(p.end_word, 3u);
    // Tight neighbours: at most half of the pause, so no part of them is heard.
    w = Words({{0, 1900}, {2000, 2400}, {2500, 20000}, {20100, 22400}});
    p = WithBreathingRoom(w, c, 60000, 0);
    EXPECT_EQ(p.start_ms, 1950);
    EXPECT_EQ(p.end_ms, 20050);
    // Never past the media's end, nor longer than the platform allows.
    w = Words({{0, 400}, {2000, 2400}, {2500, 20000}});
    EXPECT_EQ(WithBreathingRoom(w, c, 60000, 20100).end_ms, 20100);
    p = WithBreathingRoom(w, c, 18100, 0);
    EXPECT_LE(p.DurationMs(), 18100);
    EXPECT_LE(p.start_ms, c.start_ms);
    EXPECT_GE(p.end_ms, c.end_ms);
    // A clip already at the limit keeps its words.
    p = WithBreathingRoom(w, c, 18000, 0);
    EXPECT_EQ(p.start_ms, c.start_ms);
    EXPECT_EQ(p.end_ms, c.end_ms);
}

}  // namespace
}  // namespace podpromo

namespace podpromo {
namespace {

// A recogniser that hears a fixed script: one sentence every 4 s, stopping when asked to.
class ScriptTranscriber : public Transcriber {
  public:
    explicit ScriptTranscriber(Vocabulary v) : vocabulary(std::move(v)) {}
    std::string Name() const override { return "script"; }
    Result<Transcript> Transcribe(const PcmSource& pcm, const AudioFrames&, const ProgressFn& progress,
                                  const CancelToken* cancel) override {
        if (cancel && cancel->cancelled()) return Status::Cancelled();
        Transcript t;
        t.engine = "script";
        const std::vector<std::string> sentence = {"the",  "reason", "this",   "works",    "is",
                                                   "that", "people", "always", "remember", "stories"};
        const auto duration_ms = static_cast<Ms>(pcm.size() * 1000 / static_cast<size_t>(pcm.sample_rate()));
        for (Ms at = 0; at + 4000 <= duration_ms; at += 4000) {
            Segment seg;
            seg.start_ms = at;
            for (size_t i = 0; i < sentence.size(); ++i) {
                seg.words.push_back({sentence[i], at + static_cast<Ms>(i) * 300, at + static_cast<Ms>(i) * 300 + 250});
            }
            seg.end_ms = seg.words.back().end_ms;
            seg.text = "The reason this works is that people always remember stories.";
            t.segments.push_back(std::move(seg));
        }
        if (progress) progress(Stage::kTranscribe, 1.0);
        return t;
    }
    Vocabulary vocabulary;
};

// The pipeline takes its recogniser from the options: the words it hears become the transcript and the clips, and
// the vocabulary hint reaches it.
TEST(AnalyzeEpisode, UsesTheTranscriberItIsGiven) {
    const auto dir = std::filesystem::temp_directory_path() / ("podpromo-pipeline-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const Pcm pcm = testing::Tone(90);
    testing::WriteWav(pcm, dir / "tone.wav");
    PipelineOptions options;
    options.title = "Episode 3";
    options.show = "The Show";
    Vocabulary heard;
    int made = 0;
    options.make_transcriber = [&](const Vocabulary& v) {
        heard = v;
        ++made;
        return std::make_unique<ScriptTranscriber>(v);
    };
    std::vector<Stage> stages;
    auto r = AnalyzeEpisode(dir / "tone.wav", options, [&](Stage s, double) { stages.push_back(s); });
    std::filesystem::remove_all(dir);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(made, 1);
    EXPECT_EQ(heard.title, "Episode 3");
    EXPECT_EQ(heard.show, "The Show");
    EXPECT_EQ(r->transcript.engine, "script");
    EXPECT_EQ(r->transcript.segments.size(), 22u);
    ASSERT_FALSE(r->clips.empty());
    EXPECT_NE(std::find(stages.begin(), stages.end(), Stage::kTranscribe), stages.end());
    CancelToken cancel;
    cancel.Cancel();
    std::filesystem::create_directories(dir);
    testing::WriteWav(pcm, dir / "tone.wav");
    auto stopped = AnalyzeEpisode(dir / "tone.wav", options, {}, &cancel);
    std::filesystem::remove_all(dir);
    EXPECT_EQ(stopped.status().code(), StatusCode::kCancelled);
}

// The outputs on a disk that fills part way (captions and post text only: renders are ffmpeg's own writes): NoSpace,
// and the folder WriteOutputs made is gone with everything staged in it. On a disk with room, every byte written is
// in a file that stayed.
TEST(WriteOutputs, ADiskThatFillsPartWayLeavesNothing) {
    testing::TempDir dir;
    testing::WriteWav(testing::Tone(60), dir / "tone.wav");
    PipelineOptions options;
    options.clips = 3;
    options.make_transcriber = [](const Vocabulary& v) { return std::make_unique<ScriptTranscriber>(v); };
    auto r = AnalyzeEpisode(dir / "tone.wav", options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GE(r->clips.size(), 2u);
    MediaOptions captions_only;
    captions_only.audio = captions_only.video = false;

    testing::LimitedFileSystem small(2000);  // a few clips' captions, not the transcript
    const Status st = WriteOutputs(&*r, dir / "out", captions_only, {}, nullptr, &small);
    EXPECT_EQ(st.code(), StatusCode::kNoSpace) << st.ToString();
    EXPECT_EQ(small.no_space_failures(), 1);
    EXPECT_FALSE(std::filesystem::exists(dir / "out"));
    EXPECT_EQ(small.used_bytes(), 0);

    testing::LimitedFileSystem roomy(int64_t{1} << 30);
    ASSERT_TRUE(WriteOutputs(&*r, dir / "out", captions_only, {}, nullptr, &roomy).ok());
    int64_t on_disk = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / "out"))
        on_disk += static_cast<int64_t>(e.file_size());
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / "result.json"));
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / "clip_01.srt"));
    EXPECT_EQ(roomy.used_bytes(), on_disk);
}

}  // namespace
}  // namespace podpromo
