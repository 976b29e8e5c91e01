// The queue as the workers see it, behind one interface (in the manner of LevelDB's Env): claiming, leases and
// cancel requests, progress, a job's start and its outcome, release at shutdown and recovery of dead workers'
// jobs. SqlJobStore keeps it in the database; a test may give WorkerPool another (one that fails its writes, say).
//
// Threads: implementations are thread-safe (every worker thread and the lease keeper call them at once). Errors:
// each call returns the store's failure as a Status; WorkerPool logs it and goes on.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "podpromo/core/lifecycle.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"
#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

struct JobDecision;

// What a write of a job's effects returns when the job's lease has passed to another worker (its epoch moved on): the
// write changed nothing. FailedPrecondition with the slug "fenced".
Status Fenced(const std::string& what);
bool IsFenced(const Status& st);

// What a job needs to start: its episode (nullopt when it is gone) and the stored transcript (a render's, or a
// process job's resumed after recognition).
struct JobStart {
    std::optional<EpisodeRow> episode;
    std::optional<Transcript> transcript;
};

// The lease keeper's view of the running jobs it asked about.
struct LeaseCheck {
    std::set<std::string> cancel_requested;  // a cancel was asked for these
    std::set<std::string> lost;              // their lease could not be renewed: another worker holds them
    int recovered = 0;                       // jobs of dead workers put back in the queue
};

class JobStore {
  public:
    virtual ~JobStore() = default;
    // Takes the queued job that comes first (priority, then age) whose run_after has come, for `owner` until
    // `lease_until`; nullopt when there is none.
    virtual Result<std::optional<JobRow>> Claim(const std::string& owner, DbInt now, DbInt lease_until) = 0;
    // For each of `job_ids` (held by `owner`): whether a cancel was asked and, with `renew_until`, extends its
    // lease, and puts back in the queue the jobs whose leases ran out before `now`.
    virtual Result<LeaseCheck> CheckLeases(const std::vector<std::string>& job_ids, const std::string& owner,
                                           std::optional<DbInt> renew_until, DbInt now) = 0;
    // Progress of `job` while it holds its lease (job.lease_epoch); Fenced() when it no longer does (nothing written).
    virtual Status SetProgress(const JobRow& job, const std::string& stage, double progress,
                               const std::string& stage_ms_json) = 0;
    // Reads what `job` needs, marking a process job's episode processing.
    virtual Result<JobStart> Start(const JobRow& job) = 0;
    // Records `decision` for `job` (queued again, or ended, and its episode's status) with `why`, while the job holds
    // its lease; Fenced() when it no longer does (nothing written).
    virtual Status Record(const JobRow& job, const JobDecision& decision, const std::string& why, DbInt now) = 0;
    // Back to the queue without counting an attempt (shutdown), each job only while it holds the lease epoch given.
    virtual Status Release(const std::vector<std::pair<std::string, DbInt>>& jobs, DbInt now) = 0;
    // Running jobs whose owner `dead` says is gone: back to the queue, or failed when out of attempts. Returns how
    // many went back to the queue.
    virtual Result<int> ReleaseDeadWorkers(const std::function<bool(const std::string& owner)>& dead, DbInt now) = 0;
};

// The queue in the database (store/repositories.h). `db` is borrowed and must outlive it.
class SqlJobStore : public JobStore {
  public:
    explicit SqlJobStore(Database* db) : db_(db) {}
    Result<std::optional<JobRow>> Claim(const std::string& owner, DbInt now, DbInt lease_until) override;
    Result<LeaseCheck> CheckLeases(const std::vector<std::string>& job_ids, const std::string& owner,
                                   std::optional<DbInt> renew_until, DbInt now) override;
    Status SetProgress(const JobRow& job, const std::string& stage, double progress,
                       const std::string& stage_ms_json) override;
    Result<JobStart> Start(const JobRow& job) override;
    Status Record(const JobRow& job, const JobDecision& decision, const std::string& why, DbInt now) override;
    Status Release(const std::vector<std::pair<std::string, DbInt>>& jobs, DbInt now) override;
    Result<int> ReleaseDeadWorkers(const std::function<bool(const std::string& owner)>& dead, DbInt now) override;

  private:
    Database* db_;
};

}  // namespace podpromo
