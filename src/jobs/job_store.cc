#include "podpromo/jobs/job_store.h"

#include "podpromo/jobs/outcome.h"

namespace podpromo {

Status Fenced(const std::string& what) {
    return Status::FailedPrecondition(what + ": the job's lease passed to another worker; nothing was written")
        .WithSlug("fenced");
}

bool IsFenced(const Status& st) { return st.code() == StatusCode::kFailedPrecondition && st.slug() == "fenced"; }

Result<std::optional<JobRow>> SqlJobStore::Claim(const std::string& owner, DbInt now, DbInt lease_until) {
    std::optional<JobRow> job;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) { job = ClaimNextJob(tx, owner, now, lease_until); },
                                                Database::Isolation::kReadCommitted));
    return job;
}

Result<LeaseCheck> SqlJobStore::CheckLeases(const std::vector<std::string>& job_ids, const std::string& owner,
                                            std::optional<DbInt> renew_until, DbInt now) {
    LeaseCheck check;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) {
        for (const auto& id : job_ids) {
            if (CancelRequested(tx, id)) check.cancel_requested.insert(id);
            if (renew_until && !RenewLease(tx, id, owner, *renew_until)) check.lost.insert(id);
        }
    }));
    if (!renew_until) return check;
    // Jobs of workers that died (this process's or another's) go back to the queue. Checked as often as leases are
    // renewed: a lease cannot expire faster than that. A job row locked by a frozen process is passed over, so this
    // host's own renewals never wait behind it.
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) { check.recovered = RecoverExpiredJobs(tx, now); },
                                                Database::Isolation::kReadCommitted));
    return check;
}

Status SqlJobStore::SetProgress(const JobRow& job, const std::string& stage, double progress,
                                const std::string& stage_ms_json) {
    bool held = false;
    PODPROMO_RETURN_IF_ERROR(
        db_->With([&](Tx& tx) { held = SetJobProgress(tx, job.id, job.lease_epoch, stage, progress, stage_ms_json); }));
    return held ? Status::Ok() : Fenced("progress");
}

Result<JobStart> SqlJobStore::Start(const JobRow& job) {
    // A "render" job makes one clip of a ready episode and leaves the episode's own state alone.
    const bool render = job.kind == JobKind::kRender;
    JobStart start;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        start.episode = GetEpisode(tx, job.episode_id);
        if (start.episode && !render) SetEpisodeStatus(tx, start.episode->id, EpisodeStatus::kProcessing, "");
        if (render || job.checkpoint != Checkpoint::kNone) start.transcript = LoadTranscript(tx, job.episode_id);
    }));
    return start;
}

Status SqlJobStore::Record(const JobRow& job, const JobDecision& d, const std::string& why, DbInt now) {
    bool held = false;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        held = HoldsLease(tx, job.id, job.lease_epoch);
        if (!held) return;
        if (d.job_state == JobState::kQueued) {
            RequeueJob(tx, job.id, why, now + d.retry_delay_ms, d.count_attempt);
        } else if (d.job_state) {
            FinishJob(tx, job.id, *d.job_state, why, now);
        }
        if (d.episode_status) SetEpisodeStatus(tx, job.episode_id, *d.episode_status, why);
    }));
    return held ? Status::Ok() : Fenced("the job's outcome");
}

Status SqlJobStore::Release(const std::vector<std::pair<std::string, DbInt>>& jobs, DbInt now) {
    return db_->InTransaction([&](Tx& tx) {
        for (const auto& [id, epoch] : jobs) {
            if (HoldsLease(tx, id, epoch)) RequeueJob(tx, id, "", now, /*count_attempt=*/false);
        }
    });
}

Result<int> SqlJobStore::ReleaseDeadWorkers(const std::function<bool(const std::string& owner)>& dead, DbInt now) {
    int requeued = 0;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        requeued = 0;  // (a retried transaction counts again)
        for (const auto& [job_id, owner] : RunningJobOwners(tx)) {
            if (dead(owner)) requeued += ReleaseDeadWorkersJob(tx, job_id, now) ? 1 : 0;
        }
    }));
    return requeued;
}

}  // namespace podpromo
