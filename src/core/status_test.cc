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

TEST(Status, SlugRetryAfterAndContextTravelWithTheCode) {
    const Status plain = Status::FailedPrecondition("the episode is being processed");
    EXPECT_EQ(plain.slug(), "failed_precondition") << "without a slug, the code's own kind";
    EXPECT_EQ(plain.retry_after_s(), 0);
    const Status busy = plain.WithSlug("busy").WithRetryAfter(3);
    EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(busy.slug(), "busy");
    EXPECT_EQ(busy.retry_after_s(), 3);
    const Status annotated = busy.Annotate("episode ep_1");
    EXPECT_EQ(annotated.message(), "episode ep_1: the episode is being processed");
    EXPECT_EQ(annotated.slug(), "busy");
    EXPECT_TRUE(Status::Ok().Annotate("x").ok());
    EXPECT_EQ(Status::Ok().Annotate("x").message(), "");
}

// The CLI's exit codes, as README documents them: 2 for the user's input, 130 interrupted, 1 the rest.
TEST(Status, ExitCodes) {
    EXPECT_EQ(ExitCodeFor(Status::Ok()), 0);
    for (const Status& st : {Status::InvalidInput("x"), Status::NotFound("x"), Status::Unsupported("x"),
                             Status::TooLarge("x"), Status::Unprocessable("x")}) {
        EXPECT_EQ(ExitCodeFor(st), 2) << st.ToString();
    }
    EXPECT_EQ(ExitCodeFor(Status::Cancelled()), 130);
    for (const Status& st : {Status::Unavailable("x"), Status::NoSpace("x"), Status::IoError("x"),
                             Status::Internal("x"), Status::ResourceExhausted("x")}) {
        EXPECT_EQ(ExitCodeFor(st), 1) << st.ToString();
    }
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
