#include "podpromo/jobs/housekeeper.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "podpromo/core/secrets.h"
#include "podpromo/monitor/log.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

namespace {

constexpr const char* kLease = "housekeeper";

std::string HolderName() {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    return fmt::format("{}:{}:{}", host, getpid(), RandomToken(6));
}

int64_t CleanupIntervalMs(const ServiceConfig& config) {
    return static_cast<int64_t>(config.cleanup_interval_hours * 3600 * 1000);
}

}  // namespace

CleanupPolicy PolicyFromConfig(const ServiceConfig& config, bool remove_orphans) {
    CleanupPolicy p;
    p.source_retention_days = config.source_retention_days;
    p.clip_retention_days = config.clip_retention_days;
    p.work_retention_hours = config.work_retention_hours;
    p.remove_orphans = remove_orphans;
    return p;
}

Housekeeper::Housekeeper(const ServiceConfig& config, Database* db, const Storage* storage, Metrics* metrics,
                         ErrorAggregator* errors)
    : config_(config), db_(db), storage_(storage), metrics_(metrics), errors_(errors), holder_(HolderName()) {
    metrics_->Describe("podpromo_housekeeper_leader", "gauge",
                       "1 while this process holds the lease to run the scheduled cleanup, else 0.");
    metrics_->Describe("process_cpu_seconds_total", "counter", "User and system CPU time of the process.");
    metrics_->Describe("process_resident_memory_bytes", "gauge", "Resident memory of the process.");
    metrics_->Describe("process_virtual_memory_bytes", "gauge", "Virtual memory of the process.");
    metrics_->Describe("process_open_fds", "gauge", "Open file descriptors of the process.");
    metrics_->Describe("process_max_fds", "gauge", "The process's limit on open file descriptors.");
    metrics_->Describe("process_start_time_seconds", "gauge", "When the process started, since the epoch.");
    metrics_->Describe("podpromo_process_threads", "gauge", "Threads of the process.");
    metrics_->Describe("podpromo_system_cpu_utilization_ratio", "gauge",
                       "Share of the machine's CPU time spent busy over the last sampling period.");
    metrics_->Describe("podpromo_system_cpus", "gauge", "CPUs online.");
    metrics_->Describe("podpromo_system_load1", "gauge", "The machine's one-minute load average.");
    metrics_->Describe("podpromo_system_memory_total_bytes", "gauge", "The machine's memory.");
    metrics_->Describe("podpromo_system_memory_available_bytes", "gauge", "Memory available for new work.");
    metrics_->Describe("podpromo_storage_disk_free_bytes", "gauge", "Free space on the data directory's disk.");
    metrics_->Describe("podpromo_storage_disk_total_bytes", "gauge", "Size of the data directory's disk.");
    metrics_->Describe("podpromo_storage_used_bytes", "gauge", "Bytes stored, by area.");
    metrics_->Describe("podpromo_storage_quota_bytes", "gauge", "The storage quota (MAX_STORAGE_GB).");
    metrics_->Describe("podpromo_cleanup_runs_total", "counter", "Cleanup passes, by mode (dry_run, real).");
    metrics_->Describe("podpromo_cleanup_freed_bytes_total", "counter", "Bytes freed by cleanup.");
    metrics_->Describe("podpromo_cleanup_actions_total", "counter", "Cleanup actions carried out, by action.");
}

Housekeeper::~Housekeeper() { Stop(); }

void Housekeeper::Start(std::chrono::milliseconds sample_every) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (config_.cleanup_interval_hours > 0) next_cleanup_ms_ = NowEpochMs() + CleanupIntervalMs(config_);
    }
    metrics_->Set("podpromo_housekeeper_leader", {}, 0);
    TakeSample();
    Lead();
    thread_ = std::thread([this, sample_every] { Loop(sample_every); });
}

void Housekeeper::Stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    LetGo();
}

void Housekeeper::Lead() {
    if (config_.cleanup_interval_hours <= 0) return;  // this instance runs no schedule: it does not compete
    const int64_t now = NowEpochMs();
    const int64_t ttl = static_cast<int64_t>(config_.job_lease_seconds) * 1000;
    LeaderLease lease;
    bool run = false;
    const Status st = db_->InTransaction([&](Tx& tx) {
        lease = TakeLeaderLease(tx, kLease, holder_, now, ttl, now + CleanupIntervalMs(config_));
        run = lease.holder == holder_ &&
              ClaimScheduledRun(tx, kLease, holder_, lease.epoch, now, now + CleanupIntervalMs(config_));
    });
    if (!st.ok()) {
        LogIfFailed(st, "renewing the housekeeper's lease");
        return;  // the lease runs out by itself if this goes on
    }
    const bool leads = lease.holder == holder_;
    if (leads != leading_.load() || (leads && lease.epoch != lease_epoch_)) {
        Log(LogLevel::kInfo,
            leads ? "this instance now runs the scheduled cleanup" : "another instance runs the scheduled cleanup",
            {{"holder", lease.holder}, {"epoch", lease.epoch}});
    }
    leading_ = leads;
    lease_epoch_ = lease.epoch;
    metrics_->Set("podpromo_housekeeper_leader", {}, leads ? 1 : 0);
    {
        std::lock_guard<std::mutex> lock(mu_);
        next_cleanup_ms_ = run ? now + CleanupIntervalMs(config_) : lease.next_run_at;
    }
    if (run) LogIfFailed(Cleanup(/*dry_run=*/false, /*remove_orphans=*/false).status(), "scheduled cleanup");
}

void Housekeeper::LetGo() {
    if (!leading_.exchange(false)) return;
    LogIfFailed(db_->InTransaction([&](Tx& tx) { ReleaseLeaderLease(tx, kLease, holder_); }),
                "letting go of the housekeeper's lease");
    metrics_->Set("podpromo_housekeeper_leader", {}, 0);
}

std::optional<int64_t> Housekeeper::next_cleanup_ms() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (config_.cleanup_interval_hours <= 0) return std::nullopt;
    return next_cleanup_ms_;
}

Housekeeper::Sample Housekeeper::latest() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sample_;
}

void Housekeeper::TakeSample() {
    Sample s;
    s.process = SampleProcess();
    s.system = SampleSystem();
    s.disk = storage_->Disk();
    s.valid = true;
    {
        std::lock_guard<std::mutex> lock(mu_);
        s.cpu_utilization = sample_.valid ? CpuUtilization(sample_.system, s.system) : 0;
        sample_ = s;
    }
    metrics_->Set("process_cpu_seconds_total", {}, s.process.cpu_seconds);
    metrics_->Set("process_resident_memory_bytes", {}, static_cast<double>(s.process.resident_bytes));
    metrics_->Set("process_virtual_memory_bytes", {}, static_cast<double>(s.process.virtual_bytes));
    metrics_->Set("process_open_fds", {}, static_cast<double>(s.process.open_fds));
    metrics_->Set("process_max_fds", {}, static_cast<double>(s.process.max_fds));
    metrics_->Set("process_start_time_seconds", {}, s.process.start_time_seconds);
    metrics_->Set("podpromo_process_threads", {}, static_cast<double>(s.process.threads));
    metrics_->Set("podpromo_system_cpu_utilization_ratio", {}, s.cpu_utilization);
    metrics_->Set("podpromo_system_cpus", {}, s.system.cpus);
    metrics_->Set("podpromo_system_load1", {}, s.system.load1);
    metrics_->Set("podpromo_system_memory_total_bytes", {}, static_cast<double>(s.system.memory_total_bytes));
    metrics_->Set("podpromo_system_memory_available_bytes", {}, static_cast<double>(s.system.memory_available_bytes));
    metrics_->Set("podpromo_storage_disk_free_bytes", {}, static_cast<double>(s.disk.free_bytes));
    metrics_->Set("podpromo_storage_disk_total_bytes", {}, static_cast<double>(s.disk.total_bytes));
    metrics_->Set("podpromo_storage_quota_bytes", {}, static_cast<double>(storage_->quota_bytes()));
    // The walk of the storage costs more: once a minute.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_storage_walk_ > std::chrono::seconds(60)) {
        last_storage_walk_ = now;
        const StorageStats st = storage_->Stats();
        for (const auto& [area, bytes] : st.bytes_by_area) {
            metrics_->Set("podpromo_storage_used_bytes", {{"area", area}}, static_cast<double>(bytes));
        }
    }
}

Result<CleanupReport> Housekeeper::Cleanup(bool dry_run, bool remove_orphans, const std::string& actor) {
    CleanupPolicy policy = PolicyFromConfig(config_, remove_orphans);
    policy.actor = actor;
    auto report = RunCleanup(db_, *storage_, policy, dry_run);
    if (!report.ok()) {
        errors_->Report(ErrorKind(report.status().code()), "cleanup", report.status().message());
        return report;
    }
    metrics_->Increment("podpromo_cleanup_runs_total", {{"mode", dry_run ? "dry_run" : "real"}});
    if (dry_run) return report;
    metrics_->Increment("podpromo_cleanup_freed_bytes_total", {}, static_cast<double>(report->bytes_freed));
    for (const auto& a : report->actions) {
        if (a.done) metrics_->Increment("podpromo_cleanup_actions_total", {{"action", a.action}});
        if (!a.error.empty() && a.error.rfind("skipped", 0) != 0) {
            errors_->Report("cleanup", a.action, a.error, {{"path", a.path}, {"episode_id", a.episode_id}});
        }
    }
    Log(LogLevel::kInfo, "cleanup done",
        {{"bytes_freed", report->bytes_freed},
         {"archive_bytes", report->archive_bytes},
         {"actions", report->actions.size()},
         {"duration_ms", static_cast<int64_t>(report->seconds * 1000)}});
    return report;
}

void Housekeeper::Loop(std::chrono::milliseconds sample_every) {
    // The lease is renewed three times in each of its terms, and samples are taken every `sample_every`.
    const auto tick = std::min(sample_every, std::chrono::milliseconds(config_.job_lease_seconds * 1000 / 3));
    auto last_prune = std::chrono::steady_clock::now();
    auto last_sample = last_prune;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, tick, [this] { return stop_; })) {
        lock.unlock();
        const auto now = std::chrono::steady_clock::now();
        if (now - last_sample >= sample_every) {
            last_sample = now;
            TakeSample();
        }
        Lead();
        if (now - last_prune > std::chrono::minutes(10)) {
            last_prune = now;
            errors_->Prune();
        }
        lock.lock();
    }
}

}  // namespace podpromo
