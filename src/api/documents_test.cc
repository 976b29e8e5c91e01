// The job documents and the vocabulary hint kept in a process job's payload.
#include "documents.h"

#include <gtest/gtest.h>

#include "podpromo/jobs/results.h"

namespace podpromo {
namespace {

// What a podcaster pastes into the episode's <item>: times in seconds as the namespace writes them, and a title that
// cannot break the feed (escaped, and cut to 128 characters without splitting one).
TEST(Soundbites, LinesAreReadyToPasteIntoTheFeed) {
    ClipRow a;
    a.id = "ep_1_c1";
    a.start_time = 12.5;
    a.end_time = 43.75;
    a.title = "Why we \"quit\" <everything> & left";
    EXPECT_EQ(
        http::SoundbiteXml(a),
        R"(<podcast:soundbite startTime="12.5" duration="31.25">Why we &quot;quit&quot; &lt;everything&gt; &amp; )"
        R"(left</podcast:soundbite>)");
    ClipRow b;
    b.id = "ep_1_c2";
    b.start_time = 60;
    b.end_time = 90.0004;
    b.title = std::string(130, 'x') + "\xc3\xa9";
    const std::string line = http::SoundbiteXml(b);
    EXPECT_NE(line.find(R"(startTime="60" duration="30">)"), std::string::npos) << line;
    EXPECT_NE(line.find(">" + std::string(128, 'x') + "<"), std::string::npos) << "128 characters: " << line;
    const nlohmann::json doc = http::SoundbitesToJson({a, b});
    ASSERT_EQ(doc["soundbites"].size(), 2u);
    EXPECT_EQ(doc["soundbites"][0]["clip_id"], "ep_1_c1");
    EXPECT_EQ(doc["soundbites"][0]["duration"], 31.25);
    EXPECT_EQ(doc["xml"], http::SoundbiteXml(a) + "\n" + line + "\n");
}

TEST(JobVocabulary, KeptInThePayloadAndShownOnTheJob) {
    JobRow job;
    job.kind = JobKind::kProcess;
    job.payload = JobVocabularyToPayload({"The Ops Hour", std::vector<std::string>{"Okonkwo", "etcd"}}).dump();
    const JobVocabulary back = JobVocabularyOf(job);
    EXPECT_EQ(back.show, "The Ops Hour");
    ASSERT_TRUE(back.terms.has_value());
    EXPECT_EQ(*back.terms, (std::vector<std::string>{"Okonkwo", "etcd"}));
    EXPECT_EQ(http::JobRowToJson(job)["vocabulary"],
              (nlohmann::json{{"show", "The Ops Hour"}, {"terms", {"Okonkwo", "etcd"}}}));

    // Only terms: the show is the service's (SHOW_NAME), so it stays unset.
    job.payload = JobVocabularyToPayload({std::nullopt, std::vector<std::string>{"etcd"}}).dump();
    EXPECT_FALSE(JobVocabularyOf(job).show.has_value());
    EXPECT_TRUE(JobVocabularyOf(job).terms.has_value());

    // No hint, a damaged payload, or a render job's payload: nothing of the upload's own.
    for (const auto& [kind, payload] :
         std::vector<std::pair<JobKind, std::string>>{{JobKind::kProcess, "{}"},
                                                      {JobKind::kProcess, "not json"},
                                                      {JobKind::kRender, R"({"clip_id":"c1","show":"x"})"}}) {
        job.kind = kind;
        job.payload = payload;
        const JobVocabulary v = JobVocabularyOf(job);
        EXPECT_FALSE(v.show || v.terms) << Name(kind) << " " << payload;
        EXPECT_TRUE(http::JobRowToJson(job)["vocabulary"].is_null()) << payload;
    }
}

}  // namespace
}  // namespace podpromo
