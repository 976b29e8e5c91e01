#include "podpromo/asr/segments.h"

#include <gtest/gtest.h>

namespace podpromo {
namespace {

TEST(GroupWords, BreaksAtPausesAndCapsLength) {
    std::vector<Word> words;
    Ms t = 0;
    for (int i = 0; i < 10; ++i, t += 400) words.push_back({"w" + std::to_string(i), t, t + 350});
    t += 1000;  // a pause
    for (int i = 0; i < 60; ++i, t += 400) words.push_back({"v" + std::to_string(i), t, t + 380});
    const auto segs = GroupWordsIntoSegments(words, 300, 15000);
    ASSERT_GE(segs.size(), 3u);
    EXPECT_EQ(segs[0].words.size(), 10u);
    EXPECT_EQ(segs[0].text.substr(0, 5), "w0 w1");
    size_t total = 0;
    for (const auto& s : segs) {
        EXPECT_LE(s.end_ms - s.start_ms, 15000);
        total += s.words.size();
    }
    EXPECT_EQ(total, words.size());
}

AudioFrames FramesWithPausesAt(const std::vector<std::pair<Ms, Ms>>& pauses, Ms total_ms) {
    AudioFrames f;
    const size_t n = static_cast<size_t>(total_ms / kFrameMs);
    f.db.assign(n, -20);
    f.f0_hz.assign(n, 0);
    f.pause.assign(n, 0);
    for (auto [a, b] : pauses) {
        for (size_t i = static_cast<size_t>(a / kFrameMs); i < static_cast<size_t>(b / kFrameMs); ++i) {
            f.db[i] = -70;
            f.pause[i] = 1;
        }
    }
    return f;
}

TEST(PlanChunks, CutsInsideTheLongestPauseAndNeverExceedsTheMaximum) {
    // Pauses at 12 s (short) and 22 s (long) within the first window; no pause at all after 40 s.
    const auto f = FramesWithPausesAt({{12000, 12300}, {22000, 23000}, {35000, 35400}}, 100000);
    const auto chunks = PlanChunks(f, 20000, 30000);
    ASSERT_FALSE(chunks.empty());
    EXPECT_EQ(chunks[0].first, 0);
    EXPECT_EQ(chunks[0].second, 22500);  // the middle of the longest pause
    for (size_t i = 0; i < chunks.size(); ++i) {
        EXPECT_LE(chunks[i].second - chunks[i].first, 30000);
        if (i > 0) {
            EXPECT_EQ(chunks[i].first, chunks[i - 1].second);
        }
    }
    EXPECT_EQ(chunks.back().second, 100000);
}

TEST(PlanChunks, DropsAllQuietChunks) {
    const auto f = FramesWithPausesAt({{20000, 80000}}, 100000);
    for (const auto& [a, b] : PlanChunks(f, 20000, 30000)) {
        EXPECT_FALSE(a >= 20000 && b <= 80000) << a << "-" << b;
    }
}

}  // namespace
}  // namespace podpromo
