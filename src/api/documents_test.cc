// The job documents and the vocabulary hint kept in a process job's payload.
#include "documents.h"

#include <gtest/gtest.h>

#include "podpromo/jobs/results.h"

namespace podpromo {
namespace {

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
