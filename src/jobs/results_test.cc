// The rows a job stores are the clips of the CLI's result.json: same times, scores, features, words and files.
#include "podpromo/jobs/results.h"

#include <gtest/gtest.h>

#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {

TEST(Results, AFeedsChaptersAreKeptWithTheAnalysisForRescoring) {
    EpisodeResult r;
    r.chapters = {{0, "Intro"}, {754321, "The money"}};
    EpisodeRow row;
    FillEpisodeAnalysis(r, &row);
    const auto back = EpisodeChapters(row);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[1].start_ms, 754321);
    EXPECT_EQ(back[1].title, "The money");
    row.analysis = "";
    EXPECT_TRUE(EpisodeChapters(row).empty()) << "an upload has none";
    row.analysis = R"({"chapters": [{"start": "x"}, 5, {"start": 12.5}]})";
    ASSERT_EQ(EpisodeChapters(row).size(), 1u) << "what is not a chapter is skipped";
}

EpisodeResult OneClip() {
    EpisodeResult r;
    r.id = "ep_1";
    r.genre = "business";
    r.platform.name = "tiktok";
    r.duration_ms = 601234;
    r.detection.genre = "business";
    r.detection.scores = {{"business", 0.81234}, {"comedy", 0.1}};
    r.ads = {{12000, 45500, "brought to you by"}};
    r.stage_ms = {{"transcribe", 12345}};
    r.transcript.engine = "pocketsphinx";
    ScoredClip c;
    c.candidate.start_ms = 61234;
    c.candidate.end_ms = 92001;
    c.score = 0.73456;
    c.display_score = 73;
    c.confidence = Confidence::kHigh;
    c.title = "The biggest mistake";
    c.hashtags = {"#Business", "#Podcast"};
    c.text = "The biggest mistake I ever made.";
    c.explanation = {"Opens strong", "Stands on its own"};
    c.features.values = {{"hook", 0.91234}, {"payoff", 0.5}};
    r.clips = {c};
    ClipFiles f;
    f.video = "clip_01.mp4";
    f.srt = "clip_01.srt";
    r.files = {f};
    return r;
}

TEST(Results, ClipRowsHoldWhatResultJsonSays) {
    const EpisodeResult r = OneClip();
    const auto rows = ClipRowsFromResult(r, "outputs/ep_1");
    ASSERT_EQ(rows.size(), 1u);
    const ClipRow& row = rows[0];
    const nlohmann::json doc = ResultToJson(r)["clips"][0];
    EXPECT_EQ(row.id, doc["id"]);
    EXPECT_EQ(row.clip_rank, doc["rank"]);
    EXPECT_DOUBLE_EQ(row.start_time, doc["start"].get<double>());
    EXPECT_DOUBLE_EQ(row.end_time, doc["end"].get<double>());
    EXPECT_DOUBLE_EQ(row.duration, doc["duration"].get<double>());
    EXPECT_DOUBLE_EQ(row.score, doc["score"].get<double>());
    EXPECT_EQ(row.display_score, doc["display_score"]);
    EXPECT_EQ(Name(row.confidence), doc["confidence"].get<std::string>());
    EXPECT_EQ(row.platform, doc["platform"]);
    EXPECT_EQ(row.genre, doc["genre"]);
    EXPECT_EQ(row.title, doc["title"]);
    EXPECT_EQ(row.text, doc["text"]);
    EXPECT_EQ(nlohmann::json::parse(row.features), doc["features"]);
    EXPECT_EQ(nlohmann::json::parse(row.explanation), doc["explanation"]);
    EXPECT_EQ(nlohmann::json::parse(row.hashtags), doc["hashtags"]);
    const auto files = nlohmann::json::parse(row.file_path);
    EXPECT_EQ(files["video"], "outputs/ep_1/clip_01.mp4") << "under the episode's folder";
    EXPECT_EQ(files["srt"], "outputs/ep_1/clip_01.srt");
    EXPECT_TRUE(files["audio"].is_null());
}

TEST(Results, TheEpisodesAnalysisIsResultJsonsSummary) {
    const EpisodeResult r = OneClip();
    EpisodeRow row;
    row.genre = "auto";
    FillEpisodeAnalysis(r, &row);
    const nlohmann::json ep = ResultToJson(r)["episode"];
    EXPECT_DOUBLE_EQ(row.duration, ep["duration"].get<double>());
    EXPECT_EQ(row.detected_genre, "business");
    const auto analysis = nlohmann::json::parse(row.analysis);
    EXPECT_EQ(analysis["genre_scores"], ep["genre_scores"]);
    EXPECT_EQ(analysis["ad_spans"], ep["ad_spans"]);
    EXPECT_EQ(analysis["stage_seconds"], ep["stage_seconds"]);
    EXPECT_EQ(analysis["engine"], "pocketsphinx");
}

}  // namespace
}  // namespace podpromo
