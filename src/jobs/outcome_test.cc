#include "podpromo/jobs/outcome.h"

#include <gtest/gtest.h>

#include <string>

namespace podpromo {
namespace {

const auto kQueued = std::optional<JobState>(JobState::kQueued);
const auto kNoEpisode = std::optional<EpisodeStatus>();

struct Case {
    std::string name;
    JobRun run;
    JobOutcome outcome;
    std::optional<JobState> job_state;
    std::optional<EpisodeStatus> episode_status;
    Ms retry_delay_ms;
    bool count_attempt, report_error;
};

JobRun Ran(JobKind kind, Status st, int attempts, int max_attempts, bool stopping = false, bool lost = false) {
    JobRun r;
    r.kind = kind;
    r.status = std::move(st);
    r.attempts = attempts;
    r.max_attempts = max_attempts;
    r.stopping = stopping;
    r.lost_lease = lost;
    return r;
}

TEST(JobOutcome, EachRunGetsItsDecision) {
    const auto P = JobKind::kProcess, R = JobKind::kRender;
    const Case cases[] = {
        {"done", Ran(P, Status::Ok(), 1, 3), JobOutcome::kSucceeded, {}, {}, 0, false, false},
        {"done, render", Ran(R, Status::Ok(), 2, 3), JobOutcome::kSucceeded, {}, {}, 0, false, false},
        // A job another worker took over is left alone, whatever the work said.
        {"lost lease",
         Ran(P, Status::IoError("x"), 1, 3, false, true),
         JobOutcome::kLostLease,
         {},
         {},
         0,
         false,
         false},
        {"lost lease though done",
         Ran(P, Status::Ok(), 1, 3, false, true),
         JobOutcome::kLostLease,
         {},
         {},
         0,
         false,
         false},
        {"lost lease while stopping",
         Ran(P, Status::Cancelled(), 1, 3, true, true),
         JobOutcome::kLostLease,
         {},
         {},
         0,
         false,
         false},
        // A cancel at shutdown releases the job without counting the attempt, even on its last attempt.
        {"released", Ran(P, Status::Cancelled(), 3, 3, true), JobOutcome::kReleased, kQueued, EpisodeStatus::kQueued, 0,
         false, false},
        {"released render", Ran(R, Status::Cancelled(), 1, 3, true), JobOutcome::kReleased, kQueued, kNoEpisode, 0,
         false, false},
        // The database went away, not the job: back uncounted after one backoff, even on the last attempt.
        {"database restarted", Ran(P, Status::Unavailable("x").WithSlug("database_unavailable"), 3, 3),
         JobOutcome::kReleased, kQueued, EpisodeStatus::kQueued, 10000, false, false},
        // The recognition engine answered 429: back uncounted until the time it asked for, for every worker.
        {"engine rate limit", Ran(P, Status::RateLimited("x").WithSlug("engine_rate_limited").WithRetryAfter(7), 3, 3),
         JobOutcome::kReleased, kQueued, EpisodeStatus::kQueued, 7000, false, false},
        {"engine paused", Ran(P, Status::RateLimited("x").WithSlug("engine_paused").WithRetryAfter(2), 1, 3),
         JobOutcome::kReleased, kQueued, EpisodeStatus::kQueued, 2000, false, false},
        {"cancelled", Ran(P, Status::Cancelled(), 1, 3), JobOutcome::kCancelled, JobState::kCancelled,
         EpisodeStatus::kCancelled, 0, false, false},
        // Transient failures back off 2^(attempt-1) times the base.
        {"io error, first attempt", Ran(P, Status::IoError("x"), 1, 3), JobOutcome::kRetry, kQueued,
         EpisodeStatus::kQueued, 10000, true, true},
        {"engine down, second attempt", Ran(P, Status::Unavailable("x"), 2, 3), JobOutcome::kRetry, kQueued,
         EpisodeStatus::kQueued, 20000, true, true},
        {"exception, render", Ran(R, Status::Internal("x"), 1, 4), JobOutcome::kRetry, kQueued, kNoEpisode, 10000, true,
         true},
        {"io error, last attempt", Ran(P, Status::IoError("x"), 3, 3), JobOutcome::kFailed, JobState::kFailed,
         EpisodeStatus::kFailed, 0, false, true},
        // Bad input and a full disk fail at once, however many attempts are left.
        {"bad input", Ran(P, Status::InvalidInput("x"), 1, 3), JobOutcome::kFailed, JobState::kFailed,
         EpisodeStatus::kFailed, 0, false, true},
        {"disk full", Ran(P, Status::NoSpace("x"), 1, 3), JobOutcome::kFailed, JobState::kFailed,
         EpisodeStatus::kFailed, 0, false, true},
        {"episode gone, render", Ran(R, Status::NotFound("x"), 1, 3), JobOutcome::kFailed, JobState::kFailed,
         kNoEpisode, 0, false, true},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const JobDecision d = DecideOutcome(c.run, /*backoff_seconds=*/10);
        EXPECT_EQ(Name(d.outcome), Name(c.outcome));
        EXPECT_EQ(d.job_state, c.job_state);
        EXPECT_EQ(d.episode_status, c.episode_status);
        EXPECT_EQ(d.retry_delay_ms, c.retry_delay_ms);
        EXPECT_EQ(d.count_attempt, c.count_attempt);
        EXPECT_EQ(d.report_error, c.report_error);
    }
}

TEST(JobOutcome, BackoffDoublesWithEachAttempt) {
    Ms last = 0;
    for (int attempt = 1; attempt < 6; ++attempt) {
        const auto d = DecideOutcome(Ran(JobKind::kProcess, Status::IoError("x"), attempt, 6), 1.5);
        ASSERT_EQ(Name(d.outcome), "retry");
        if (attempt > 1) {
            EXPECT_EQ(d.retry_delay_ms, 2 * last);
        } else {
            EXPECT_EQ(d.retry_delay_ms, 1500);
        }
        last = d.retry_delay_ms;
    }
}

TEST(Lifecycle, NamesRoundTripAndUnknownNamesAreRefused) {
    for (auto s :
         {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed, JobState::kCancelled}) {
        EXPECT_EQ(Parse<JobState>(Name(s)), s);
    }
    EXPECT_EQ(Name(JobKind::kRender), "render");
    EXPECT_EQ(Parse<Checkpoint>(""), Checkpoint::kNone);
    EXPECT_EQ(Parse<Stage>("transcribe"), Stage::kTranscribe);
    EXPECT_FALSE(Parse<JobState>("Queued"));
    EXPECT_FALSE(Parse<Stage>("transcribing"));
    EXPECT_FALSE(Parse<EpisodeStatus>(""));
    EXPECT_TRUE(IsFinal(JobState::kCancelled));
    EXPECT_FALSE(IsFinal(JobState::kRunning));
}

}  // namespace
}  // namespace podpromo
