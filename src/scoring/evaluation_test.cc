// The evaluation's measures: what counts as finding a moment, what chance finds, clips on ads, titles.
#include "podpromo/scoring/evaluation.h"

#include <gtest/gtest.h>

namespace podpromo {
namespace {

TEST(Evaluation, AClipFindsAMomentWhenTheyShareHalfOfTheShorter) {
    EXPECT_TRUE(ClipFindsMoment({10000, 40000}, {20000, 60000}));   // 20 s shared of a 30 s clip
    EXPECT_FALSE(ClipFindsMoment({10000, 40000}, {35000, 75000}));  // 5 s of 30
    EXPECT_TRUE(ClipFindsMoment({0, 60000}, {20000, 30000}));       // holds the whole moment
    EXPECT_EQ(MomentsFound({{0, 30000}, {100000, 130000}}, {{5000, 35000}, {50000, 80000}, {110000, 140000}}), 2);
}

TEST(Evaluation, RandomClipsFindWhatTheirLengthPredicts) {
    // One 30 s clip in 1000 s, one 30 s moment: found when the starts are within 15 s, ~30/970 of the time.
    const double expected = RandomMomentsFound({30000}, {{500000, 530000}}, 1000000, 20000, 7);
    EXPECT_NEAR(expected, 30.0 / 970.0, 0.01);
    EXPECT_EQ(RandomMomentsFound({30000}, {{500000, 530000}}, 1000000, 100, 7),
              RandomMomentsFound({30000}, {{500000, 530000}}, 1000000, 100, 7))
        << "deterministic for a seed";
    EXPECT_DOUBLE_EQ(RandomMomentsFound({}, {{0, 1000}}, 1000000), 0.0);
}

TEST(Evaluation, ClipsOnAdsCountOnlyPastTheTolerance) {
    const std::vector<TimeSpan> ads = {{60000, 120000}};
    EXPECT_EQ(ClipsOverlapping({{30000, 61500}, {119000, 150000}}, ads, 2000), 0);
    EXPECT_EQ(ClipsOverlapping({{30000, 63000}, {200000, 230000}}, ads, 2000), 1);
}

TEST(Evaluation, TitlesThatStopMidPhraseAndSpeakerMarks) {
    EXPECT_TRUE(TitleEndsMidPhrase("Imagine can come true. Of"));
    EXPECT_TRUE(TitleEndsMidPhrase("The best advice I got from my"));
    EXPECT_TRUE(TitleEndsMidPhrase(""));
    EXPECT_FALSE(TitleEndsMidPhrase("Everyone else wants to move on"));
    EXPECT_FALSE(TitleEndsMidPhrase("Nobody gives up on a dream. They say not now."));
    EXPECT_FALSE(TitleEndsMidPhrase("What do you want to do?"));
    EXPECT_TRUE(HasSpeakerPrefix("Speaker 1: so anyway"));
    EXPECT_TRUE(HasSpeakerPrefix("and then JOHN: right"));
    EXPECT_TRUE(HasSpeakerPrefix(">> we're back"));
    EXPECT_FALSE(HasSpeakerPrefix("the ratio was 3: 1 in the end"));
    EXPECT_FALSE(HasSpeakerPrefix("Here's the thing: nobody knew"));
}

}  // namespace
}  // namespace podpromo
