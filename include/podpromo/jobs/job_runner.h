// The work of one claimed job, apart from the queue: WorkerPool claims a job, keeps its lease, decides its outcome
// and records it (jobs/workers.h, jobs/outcome.h); a JobRunner does the job's work. The pipeline's runner is
// PipelineJobRunner; tests give WorkerPool a fake.
#pragma once

#include <atomic>
#include <optional>

#include "podpromo/core/config.h"
#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"
#include "podpromo/files/storage.h"
#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

// One job's work, as WorkerPool hands it over. The references live until Run returns.
struct JobWork {
    const JobRow& job;
    const EpisodeRow& episode;
    std::optional<Transcript> transcript;  // the stored one: a render's, or a process job's resumed after recognition
    ProgressFn progress;                   // thread-safe; never empty
    const CancelToken* cancel;             // set when the job is cancelled, the pool stops or the lease is lost
};

// What a successful run made, for the metrics.
struct JobWorkResult {
    double clips = 0;    // clips made
    Ms duration_ms = 0;  // a process job's episode duration (for recognition's real-time factor), else 0
};

// Runs jobs' work. Called from WorkerPool's threads, several jobs at once: implementations are thread-safe.
// Contract: on success the runner has stored the job's outputs, moved its files into place and finished the job
// (FinishJob, succeeded) in one transaction that first checked the job still holds its lease (HoldsLease with
// job.lease_epoch). When it no longer does, it stores nothing, leaves no file and returns Fenced() (job_store.h). On
// failure it leaves nothing half-written and returns the Status that DecideOutcome judges (Cancelled when *cancel
// stopped it).
class JobRunner {
  public:
    virtual ~JobRunner() = default;
    virtual Status Run(JobWork work, JobWorkResult* out) = 0;
};

// The pipeline's runner: a "process" job recognises (or uses the stored transcript), scores and renders an episode,
// checkpointing after recognition; a "render" job renders one chosen span as a clip. `db` and `storage` are
// borrowed and must outlive it.
class PipelineJobRunner : public JobRunner {
  public:
    PipelineJobRunner(Database* db, const Storage* storage, const ServiceConfig& config)
        : db_(db), storage_(storage), config_(config) {}
    Status Run(JobWork work, JobWorkResult* out) override;

  private:
    Status RunRender(JobWork& work, JobWorkResult* out);
    Status RunProcess(JobWork& work, JobWorkResult* out);
    // A feed's episode has no file until its job downloads the enclosure (feeds/fetch.h, under the upload size limit)
    // into the uploads, with the feed's transcript when the item has one (then no recognition runs). Both are stored
    // by the run holding the lease. Returns the episode as it is now, and sets work.transcript to the feed's.
    Result<EpisodeRow> FetchFromFeed(JobWork& work);
    // Stores what a feed's item downloaded, if the job still holds its lease (Fenced otherwise): `ep`'s source, the
    // feed's transcript, and the show's artwork as its cover (`cover`, may be null; `ep`'s render options get it).
    // The files are committed into the episode's folder in the same transaction.
    Status StoreFeedDownload(const JobRow& job, UploadFile* file, UploadFile* cover,
                             const std::optional<Transcript>& transcript, EpisodeRow* ep);
    // RateLimited ("engine_paused", with the seconds left) while `engine` is paused for every worker.
    Status EngineOpen(const std::string& engine);
    // A run the engine answered 429 (slug "engine_rate_limited") pauses it in the database for the seconds it asked;
    // returns `st` as it was.
    Status PauseOnRateLimit(const std::string& engine, const Status& st);

    Database* db_;
    const Storage* storage_;
    ServiceConfig config_;
};

}  // namespace podpromo
