#include "podpromo/jobs/outcome.h"

#include <algorithm>
#include <cmath>

namespace podpromo {

bool IsTransient(const Status& st) {
    return st.code() == StatusCode::kIoError || st.code() == StatusCode::kUnavailable ||
           st.code() == StatusCode::kInternal;
}

JobDecision DecideOutcome(const JobRun& run, double backoff_seconds) {
    const bool process = run.kind == JobKind::kProcess;
    auto episode = [&](EpisodeStatus s) { return process ? std::optional<EpisodeStatus>(s) : std::nullopt; };
    JobDecision d;
    if (run.lost_lease) {
        d.outcome = JobOutcome::kLostLease;
    } else if (run.status.ok()) {
        d.outcome = JobOutcome::kSucceeded;
    } else if (run.status.code() == StatusCode::kCancelled && run.stopping) {
        d = {JobOutcome::kReleased, JobState::kQueued, episode(EpisodeStatus::kQueued)};
    } else if (run.status.slug() == "database_unavailable") {
        // The database went away (a restart, a failover), not the job: it goes back uncounted, after a pause.
        d = {JobOutcome::kReleased, JobState::kQueued, episode(EpisodeStatus::kQueued)};
        d.retry_delay_ms = static_cast<Ms>(backoff_seconds * 1000.0);
    } else if (run.status.slug() == "engine_rate_limited" || run.status.slug() == "engine_paused") {
        // The recognition engine asked every caller to wait (429): back uncounted, until it said.
        d = {JobOutcome::kReleased, JobState::kQueued, episode(EpisodeStatus::kQueued)};
        d.retry_delay_ms = std::max<Ms>(1000, Ms{run.status.retry_after_s()} * 1000);
    } else if (run.status.code() == StatusCode::kCancelled) {
        d = {JobOutcome::kCancelled, JobState::kCancelled, episode(EpisodeStatus::kCancelled)};
    } else if (IsTransient(run.status) && run.attempts < run.max_attempts) {
        d = {JobOutcome::kRetry, JobState::kQueued, episode(EpisodeStatus::kQueued)};
        d.retry_delay_ms = static_cast<Ms>(backoff_seconds * 1000.0 * std::pow(2.0, std::max(0, run.attempts - 1)));
        d.count_attempt = true;
        d.report_error = true;
    } else {
        d = {JobOutcome::kFailed, JobState::kFailed, episode(EpisodeStatus::kFailed)};
        d.report_error = true;
    }
    return d;
}

}  // namespace podpromo
