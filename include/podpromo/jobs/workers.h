// The workers: threads that take jobs from the persistent queue (store/repositories.h) and run an episode
// through the pipeline, checkpointing after recognition so a job whose worker died resumes there.
//
// A job's life: queued -> running -> succeeded | failed | cancelled. Transient failures (I/O, database,
// a missing program) go back to the queue with exponential backoff until max_attempts; bad input and a full
// disk fail at once (partial files are removed by the stage that wrote them). A running job's lease is renewed every
// lease/3; when a worker dies its lease runs out and any worker (of this process or another) takes the job again,
// that attempt counted, so a job that kills every worker that takes it ends failed after max_attempts (the claim
// counts each attempt). Whatever a stage throws fails the job with its reason (an exception boundary per job). At
// shutdown running jobs stop at the next checkpoint and go back to the queue without counting an attempt.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "podpromo/core/config.h"
#include "podpromo/core/progress.h"
#include "podpromo/files/storage.h"
#include "podpromo/jobs/errors.h"
#include "podpromo/jobs/events.h"
#include "podpromo/jobs/job_runner.h"
#include "podpromo/jobs/job_store.h"
#include "podpromo/monitor/metrics.h"
#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

struct JobDecision;

// One running job's progress: how long each stage took, and the job's row and event updated at most twice a
// second (and at each stage's end). Called from the pipeline's threads: thread-safe. `store`, `events` and `job`
// must outlive it.
class JobProgress {
  public:
    // `on_fenced` runs (on the reporting thread) when a progress write finds the job's lease passed to another worker.
    JobProgress(JobStore* store, EventBus* events, const JobRow& job, std::function<void()> on_fenced = {});
    void operator()(Stage stage, double fraction);
    // The last stage that reported, by name (the stage a failure belongs to); nullopt before the first report.
    std::optional<std::string> last_stage() const;
    std::map<Stage, Ms> stage_ms() const;

  private:
    JobStore* store_;
    EventBus* events_;
    const JobRow& job_;
    std::function<void()> on_fenced_;
    mutable std::mutex mu_;
    std::optional<Stage> last_;
    std::chrono::steady_clock::time_point last_write_;
    std::map<Stage, Ms> stage_ms_;
    std::map<Stage, std::chrono::steady_clock::time_point> stage_start_;
};

// What a WorkerPool works through besides the database, each optional: what runs a job (nullptr: the pipeline,
// PipelineJobRunner), the queue (nullptr: SqlJobStore over the database) and the clock (nullptr: SystemClock).
struct WorkerSeams {
    JobRunner* runner = nullptr;
    JobStore* store = nullptr;
    const Clock* clock = nullptr;
};

// Threads: Start runs config.max_concurrent_jobs workers and a lease keeper; Wake, Stop, running and owner may be
// called from any thread.
class WorkerPool {
  public:
    // Every pointer (and those in `seams`) is borrowed and must outlive the pool (after Stop returned false, the
    // detached threads still use them until their jobs end: the caller then exits).
    WorkerPool(Database* db, const Storage* storage, const ServiceConfig& config, EventBus* events, Metrics* metrics,
               ErrorAggregator* errors, WorkerSeams seams = {});
    ~WorkerPool();

    // Starts config.max_concurrent_jobs workers and the lease keeper. Jobs left running by a process that
    // died are recovered as their leases expire.
    void Start();
    // A job was queued: wake an idle worker now instead of at its next poll.
    void Wake();
    // Graceful stop: running jobs stop at their next check (within a second or two) and are released back
    // to the queue. Returns true when every worker ended within `deadline`; otherwise the jobs still running
    // are released in the database and false is returned (the caller should then exit without joining).
    bool Stop(std::chrono::milliseconds deadline = std::chrono::milliseconds(8000));
    // At start: running jobs held by workers of this host whose process is gone go back to the queue at
    // once, or fail when their attempts are used up (store's ReleaseDeadWorkersJob); other hosts' jobs wait for
    // their leases to run out. Returns how many went back to the queue.
    int RecoverLocalOrphans();
    int running() const { return running_.load(); }
    const std::string& owner() const { return owner_; }

  private:
    struct Active {
        std::string job_id;
        DbInt lease_epoch = 0;
        CancelToken cancel;
        std::atomic<bool> lost_lease{false};
    };
    void Loop();
    void KeepLeases();
    // A write of `active`'s job was refused by its fence (`write`: lease, progress, results): counted, and the run
    // stops.
    void Fence(Active& active, const char* write);
    std::shared_ptr<Active> Register(const JobRow& job);
    void Unregister(const std::string& job_id);
    // Runs a claimed job, decides its outcome (jobs/outcome.h) and applies it.
    void RunJob(const JobRow& job);
    // Loads the job's episode and runs its work; the work's status.
    Status Execute(const JobRow& job, JobProgress& progress, Active* active, JobWorkResult* result);
    void ObserveStages(const JobRow& job, const JobProgress& progress, const Status& st, const JobWorkResult& result);
    // Carries out `decision`: the job's and episode's rows, the event, the error report and the metrics. `stage` is
    // the stage a failure is reported under; `clips` how many clips a success made.
    void Apply(const JobRow& job, const JobDecision& decision, const Status& st, const std::string& stage,
               double clips);
    void PublishJob(const std::string& job_id, const std::string& episode_id, const std::string& state,
                    const std::string& stage, double progress, const std::string& error = "");

    const Storage* storage_;
    ServiceConfig config_;
    EventBus* events_;
    Metrics* metrics_;
    ErrorAggregator* errors_;
    std::unique_ptr<JobRunner> own_runner_;
    JobRunner* runner_;
    std::unique_ptr<JobStore> own_store_;
    JobStore* store_;
    const Clock* clock_;
    std::string owner_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> running_{0};
    std::mutex mu_;
    std::condition_variable wake_;
    std::map<std::string, std::shared_ptr<Active>> active_;  // by job id
    std::vector<std::thread> threads_;
};

}  // namespace podpromo
