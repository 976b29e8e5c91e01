#include "podpromo/core/status.h"

#include <gtest/gtest.h>

#include "podpromo/core/types.h"

namespace podpromo {
namespace {

Result<int> Half(int v) {
    if (v % 2) return Status::InvalidInput("odd");
    return v / 2;
}

Status Chain(int v) {
    PODPROMO_RETURN_IF_ERROR(Half(v).status());
    return Status::Ok();
}

TEST(Status, ResultHoldsValueOrError) {
    auto ok = Half(4);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(*ok, 2);
    auto bad = Half(3);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(bad.status().ToString(), "invalid input: odd");
    EXPECT_FALSE(Chain(3).ok());
    EXPECT_TRUE(Chain(2).ok());
}

TEST(Types, FormatClockForPeople) {
    EXPECT_EQ(FormatClock(0), "0:00.0");
    EXPECT_EQ(FormatClock(61250), "1:01.2");
    EXPECT_EQ(FormatClock(3723000, false), "1:02:03");
}

TEST(Types, TranscriptWordsInOrder) {
    Transcript t;
    t.segments.push_back({0, 1000, "a b", 1, {{"a", 0, 400}, {"b", 500, 1000}}, ""});
    t.segments.push_back({2000, 3000, "c", 1, {{"c", 2000, 3000}}, ""});
    EXPECT_EQ(t.WordCount(), 3u);
    const auto w = t.AllWords();
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[2].text, "c");
}

}  // namespace
}  // namespace podpromo
