// Speaker turns: segments clustered by voice pitch.
#include "podpromo/asr/turns.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace podpromo {
namespace {

// Segments of 2 s with 400 ms pauses; segment i is spoken at pitches[i] Hz (0: unvoiced) with a little jitter.
struct Synthetic {
    std::vector<Segment> segments;
    AudioFrames frames;
};

Synthetic Make(const std::vector<double>& pitches, Ms seg_ms = 2000) {
    Synthetic s;
    std::mt19937 rng(7);
    std::normal_distribution<double> jitter(0.0, 0.6);  // semitones
    Ms t = 0;
    for (const double hz : pitches) {
        Segment seg;
        seg.start_ms = t;
        seg.end_ms = t + seg_ms;
        seg.words = {{"word", t, t + seg_ms}};
        seg.text = "word";
        s.segments.push_back(seg);
        for (Ms f = 0; f < seg_ms; f += kFrameMs) {
            const bool voiced = hz > 0 && (f / kFrameMs) % 5 != 0;  // 80% voiced
            s.frames.f0_hz.push_back(voiced ? static_cast<float>(hz * std::pow(2.0, jitter(rng) / 12.0)) : 0.0f);
            s.frames.db.push_back(-20);
            s.frames.pause.push_back(0);
        }
        for (Ms f = 0; f < 400; f += kFrameMs) {
            s.frames.f0_hz.push_back(0);
            s.frames.db.push_back(-70);
            s.frames.pause.push_back(1);
        }
        t += seg_ms + 400;
    }
    return s;
}

std::vector<std::string> Speakers(const std::vector<Segment>& segs) {
    std::vector<std::string> out;
    out.reserve(segs.size());
    for (const auto& s : segs) out.push_back(s.speaker);
    return out;
}

TEST(Turns, TwoVoicesAreTwoSpeakers) {
    auto s = Make({110, 110, 200, 110, 200, 200, 110, 200});
    EXPECT_EQ(MarkSpeakerTurns(&s.segments, s.frames), 2);
    EXPECT_EQ(Speakers(s.segments), (std::vector<std::string>{"S1", "S1", "S2", "S1", "S2", "S2", "S1", "S2"}));
}

TEST(Turns, OneVoiceLeavesTheSegmentsUnmarked) {
    auto s = Make({120, 125, 118, 122, 121, 119, 124, 120});
    s.segments[3].speaker = "stale";
    EXPECT_EQ(MarkSpeakerTurns(&s.segments, s.frames), 1);
    for (const auto& seg : s.segments) EXPECT_EQ(seg.speaker, "");
}

TEST(Turns, CloseVoicesAreNotSplit) {
    // Two voices 1.5 semitones apart cannot be told apart by pitch alone: one speaker, not a guess.
    auto s = Make({120, 131, 120, 131, 120, 131, 120, 131});
    EXPECT_EQ(MarkSpeakerTurns(&s.segments, s.frames), 1);
}

TEST(Turns, ThreeVoicesAndAnUnvoicedSegment) {
    auto s = Make({100, 160, 250, 0, 100, 250, 160, 100, 250});
    EXPECT_EQ(MarkSpeakerTurns(&s.segments, s.frames), 3);
    EXPECT_EQ(Speakers(s.segments), (std::vector<std::string>{"S1", "S2", "S3", "S3", "S1", "S3", "S2", "S1", "S3"}));
}

TEST(Turns, TooFewSegmentsToTell) {
    auto s = Make({110, 200});
    EXPECT_EQ(MarkSpeakerTurns(&s.segments, s.frames), 1);
}

}  // namespace
}  // namespace podpromo
