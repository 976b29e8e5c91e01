// The service's background housekeeping: cleanup every CLEANUP_INTERVAL_HOURS (and on demand), pruning of
// aggregated errors past METRICS_RETENTION_HOURS, and samples of the process, the machine and the storage
// every few seconds into the metrics (and for /health).
//
// Many `serve` instances may share one database: the scheduled cleanup runs on exactly one of them at a time, the
// holder of the "housekeeper" leader lease (store/repositories.h). The holder renews it every few seconds, for
// JOB_LEASE_SECONDS; when it dies, another instance takes it over once it has run out, and keeps the same schedule (it
// lives in the database). A clean stop lets go of it at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "podpromo/core/config.h"
#include "podpromo/files/storage.h"
#include "podpromo/jobs/cleanup.h"
#include "podpromo/jobs/errors.h"
#include "podpromo/monitor/metrics.h"
#include "podpromo/monitor/system.h"
#include "podpromo/store/database.h"

namespace podpromo {

// The cleanup policy the configuration asks for.
CleanupPolicy PolicyFromConfig(const ServiceConfig& config, bool remove_orphans);

// Ownership: `db`, `storage`, `metrics` and `errors` are borrowed and must outlive the Housekeeper (Stop, or the
// destructor, joins its thread before it lets go of them). Threads: one thread of its own between Start and Stop;
// Cleanup, next_cleanup_ms and latest may be called from any thread. Errors: a failed cleanup or sample is
// reported to `errors` and the log, never thrown.
class Housekeeper {
  public:
    Housekeeper(const ServiceConfig& config, Database* db, const Storage* storage, Metrics* metrics,
                ErrorAggregator* errors);
    ~Housekeeper();
    // Starts the thread: a sample at once and every `sample_every`; the first scheduled cleanup one interval
    // after the start.
    void Start(std::chrono::milliseconds sample_every = std::chrono::milliseconds(5000));
    void Stop();
    // One cleanup pass now (the scheduled ones call this too), with its outcome in the metrics, the logs and
    // the error aggregation. Thread-safe.
    // `actor` names who asked, for the audit log ("scheduled" for the timer's own runs).
    Result<CleanupReport> Cleanup(bool dry_run, bool remove_orphans, const std::string& actor = "scheduled");
    // Milliseconds since the epoch of the next scheduled cleanup (whichever instance runs it); nullopt when they are
    // off (interval 0).
    std::optional<int64_t> next_cleanup_ms() const;
    // True while this process holds the lease to run the scheduled cleanup.
    bool leading() const { return leading_.load(); }

    struct Sample {
        ProcessSample process;
        SystemSample system;
        double cpu_utilization = 0;  // the machine's, over the last sampling period
        DiskSpace disk;
        bool valid = false;
    };
    Sample latest() const;

  private:
    void Loop(std::chrono::milliseconds sample_every);
    void TakeSample();
    // Takes or renews the leader lease, and runs the scheduled cleanup when this process holds it and it is due.
    void Lead();
    void LetGo();
    ServiceConfig config_;
    Database* db_;
    const Storage* storage_;
    Metrics* metrics_;
    ErrorAggregator* errors_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    Sample sample_;
    int64_t next_cleanup_ms_ = 0;
    const std::string holder_;  // this process, in the leader lease: host, pid and a random part
    std::atomic<bool> leading_{false};
    int64_t lease_epoch_ = 0;  // Loop's thread only
    std::chrono::steady_clock::time_point last_storage_walk_{};
};

}  // namespace podpromo
