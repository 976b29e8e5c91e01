#include "podpromo/jobs/pipeline.h"

#include <gtest/gtest.h>

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
