// What happens to a job after it ran: the pure decision, apart from running it and from carrying it out (in the
// manner of River's reportResult/reportError). WorkerPool runs a job, calls DecideOutcome, and applies the
// decision to the database, the events, the metrics and the logs. Pure; thread-safe.
#pragma once

#include <optional>

#include "podpromo/core/lifecycle.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

enum class JobOutcome {
    kSucceeded,  // the work is stored and the job finished (in the work's own transaction)
    kRetry,      // a transient failure with attempts left: back to the queue after a backoff, the attempt counted
    kFailed,     // bad input, a full disk, or a transient failure on the last attempt
    kCancelled,  // someone asked to stop this job
    kReleased,   // the service is stopping: back to the queue at once, the attempt not counted
    kLostLease,  // another worker holds the job now: touch nothing
};
template <>
struct EnumNames<JobOutcome> {
    static constexpr std::array<std::string_view, 6> kNames = {"succeeded", "retry",    "failed",
                                                               "cancelled", "released", "lost_lease"};
};

// What happened when a job ran.
struct JobRun {
    JobKind kind = JobKind::kProcess;
    Status status;            // the work's result
    bool lost_lease = false;  // the lease keeper found the job held by another worker
    bool stopping = false;    // the pool is shutting down
    int attempts = 1;         // this attempt (the claim counts it) and how many the job may have
    int max_attempts = 1;
};

// What to do about it.
struct JobDecision {
    JobOutcome outcome = JobOutcome::kFailed;
    // The job's next state; nullopt when its row is not to be touched (succeeded: the work's transaction wrote
    // it; lost lease: it is not ours).
    std::optional<JobState> job_state;
    // The episode's next status, for process jobs (a render job leaves its episode alone).
    std::optional<EpisodeStatus> episode_status;
    Ms retry_delay_ms = 0;       // kRetry: how long the job waits before its next attempt
    bool count_attempt = false;  // kRetry counts the attempt; a release does not
    bool report_error = false;   // the error aggregator hears of it (a retry or a failure)
};

// A failure worth another attempt: I/O, a missing program or engine, an unexpected error. A full disk is not
// transient: it fails the job at once with its reason rather than retrying into it.
bool IsTransient(const Status& st);

// The decision for `run`. Retries back off exponentially: backoff_seconds, then twice that, and so on.
JobDecision DecideOutcome(const JobRun& run, double backoff_seconds);

}  // namespace podpromo
