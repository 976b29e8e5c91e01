#include "serve.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "podpromo/api/server.h"
#include "podpromo/api/worker_status.h"
#include "podpromo/app/accounts.h"
#include "podpromo/app/app.h"
#include "podpromo/core/clock.h"
#include "podpromo/core/secrets.h"
#include "podpromo/core/utf8.h"
#include "podpromo/files/storage.h"
#include "podpromo/jobs/cleanup.h"
#include "podpromo/jobs/errors.h"
#include "podpromo/jobs/events.h"
#include "podpromo/jobs/housekeeper.h"
#include "podpromo/jobs/workers.h"
#include "podpromo/monitor/log.h"
#include "podpromo/monitor/metrics.h"
#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

std::string ServiceUrl(const ServiceConfig& config, int port) {
    const std::string host = config.host == "0.0.0.0" || config.host == "::" ? "127.0.0.1" : config.host;
    return fmt::format("http://{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host,
                       port > 0 ? port : config.port);
}

std::string SignInLink(const std::string& base_url, const std::string& token) {
    std::string base = base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/signin?token=" + token;
}

namespace {

Result<std::unique_ptr<Database>> OpenAndMigrate(const ServiceConfig& config, int pool_size) {
    // A host frozen inside a transaction loses it after two lease terms (at least 10 s): by then its jobs' leases have
    // run out, and their rows must be free for the rescue.
    const std::chrono::seconds idle_limit(std::max(10, 2 * config.job_lease_seconds));
    auto db = Database::Open(config.DatabaseUrl(), pool_size, idle_limit);
    if (!db.ok()) return db.status();
    auto applied = (*db)->Migrate();
    if (!applied.ok()) return applied.status();
    if (*applied > 0) {
        Log(LogLevel::kInfo, "database migrated",
            {{"applied", *applied}, {"schema_version", Database::LatestVersion()}});
    }
    return db;
}

// Reads the shows' feeds whose time has come, every few seconds, on the one instance that holds the housekeeper's
// lease (so one host polls however many serve). Its own thread, from construction to Stop. Stop ends a round in
// progress: the read under way stops within 50 ms (feeds/fetch.h), even on a server that sends nothing, and the shows
// after it are read at the next start.
class FeedPoller {
  public:
    FeedPoller(App* app, const Housekeeper* housekeeper) : app_(app), housekeeper_(housekeeper) {
        thread_ = std::thread([this] { Loop(); });
    }
    ~FeedPoller() { Stop(); }
    FeedPoller(const FeedPoller&) = delete;
    FeedPoller& operator=(const FeedPoller&) = delete;
    // Ends the round of reads in progress (its read stops, the shows after it wait for the next start) and the thread.
    void Stop() {
        stopping_.Cancel();
        {
            std::lock_guard<std::mutex> lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

  private:
    void Loop() {
        std::unique_lock<std::mutex> lock(mu_);
        while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
            if (!housekeeper_->leading()) continue;
            lock.unlock();
            const Status round = app_->PollDueShows(&stopping_).status();
            if (round.code() != StatusCode::kCancelled) LogIfFailed(round, "reading the shows' feeds");
            lock.lock();
        }
    }
    App* app_;
    const Housekeeper* housekeeper_;
    std::mutex mu_;
    std::condition_variable cv_;
    CancelToken stopping_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace

int ReportFailure(const Status& st) {
    std::cerr << "podpromo: " << st.message() << "\n";
    return ExitCodeFor(st);
}

int RunMigrate(const ServiceConfig& config, const std::string& from) {
    auto db = OpenAndMigrate(config, 1);
    if (!db.ok()) {
        return ReportFailure(db.status());
    }
    std::cout << fmt::format("schema version {} ({})\n", Database::LatestVersion(),
                             WithoutPassword(config.DatabaseUrl()));
    if (from.empty()) return 0;
    if (from == config.DatabaseUrl()) {
        return ReportFailure(Status::FailedPrecondition("--from names DATABASE_URL's own database"));
    }
    ServiceConfig source_config = config;
    source_config.database_url = from;
    auto source = OpenAndMigrate(source_config, 1);
    if (!source.ok()) {
        return ReportFailure(Status(source.status().code(), "--from: " + source.status().message()));
    }
    auto counts = CopyEveryRow(source->get(), db->get());
    if (!counts.ok()) {
        return ReportFailure(counts.status());
    }
    long long total = 0;
    for (const auto& [table, n] : *counts) {
        std::cout << fmt::format("{:<20} {:>10}\n", table, n);
        total += n;
    }
    std::cout << fmt::format("copied {} rows from {}\n", total, WithoutPassword(from));
    return 0;
}

int RunCleanupCommand(const ServiceConfig& config, bool dry_run, bool remove_orphans, bool json) {
    auto storage = Storage::Open(config.data_dir, static_cast<int64_t>(config.max_storage_gb * 1e9));
    if (!storage.ok()) {
        return ReportFailure(storage.status());
    }
    auto db = OpenAndMigrate(config, 2);
    if (!db.ok()) {
        return ReportFailure(db.status());
    }
    CleanupPolicy policy = PolicyFromConfig(config, remove_orphans);
    policy.actor = "cli";
    auto report = RunCleanup(db->get(), *storage, policy, dry_run);
    if (!report.ok()) {
        return ReportFailure(report.status());
    }
    if (json) {
        std::cout << DumpJson(report->ToJson(), 2) << "\n";
        return 0;
    }
    auto mb = [](int64_t b) { return fmt::format("{:.1f} MB", static_cast<double>(b) / 1e6); };
    for (const auto& a : report->actions) {
        const std::string what = a.clip_id.empty() ? (a.path.empty() ? a.episode_id : a.path) : a.clip_id;
        const std::string state = dry_run           ? (a.removes ? "would do" : "report")
                                  : a.done          ? "done"
                                  : a.error.empty() ? "report"
                                                    : "failed: " + a.error;
        std::cout << fmt::format("{:<15} {:>10}  {:<10} {}  ({})\n", a.action, mb(a.bytes), state, what, a.reason);
    }
    if (!report->skipped_episodes.empty()) {
        std::cout << fmt::format("left alone (a job is queued or running): {}\n",
                                 fmt::join(report->skipped_episodes, ", "));
    }
    std::cout << fmt::format("{}: {} {}, {} written to the archive, in {:.1f} s\n", dry_run ? "dry run" : "cleanup",
                             dry_run ? "would free" : "freed", mb(report->bytes_freed), mb(report->archive_bytes),
                             report->seconds);
    return 0;
}

namespace {

// What serve and worker share before their own parts start.
struct ServiceBase {
    sigset_t signals{};
    std::optional<Storage> storage;
    std::unique_ptr<Database> db;
};

// Checks the configuration, blocks SIGINT and SIGTERM (for one thread to sigwait on, before any other thread starts),
// opens the storage root (scratch files go to its work area, where the quota counts them and cleanup finds what a
// killed process left) and the database, migrated. An error Status when any of it fails.
Status StartServiceBase(ServiceConfig& config, int pool_size, ServiceBase* base) {
    PODPROMO_RETURN_IF_ERROR(ValidateConfig(config));
    ConfigureLog(config.log_format, config.log_level);
    std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is an error on that connection, not the end
    sigemptyset(&base->signals);
    sigaddset(&base->signals, SIGINT);
    sigaddset(&base->signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &base->signals, nullptr);
    auto storage = Storage::Open(config.data_dir, static_cast<int64_t>(config.max_storage_gb * 1e9));
    if (!storage.ok()) return storage.status();
    base->storage.emplace(std::move(*storage));
    setenv("TMPDIR", base->storage->work_dir().c_str(), 1);
    if (const int n = base->storage->CleanTmp(); n > 0) {
        Log(LogLevel::kInfo, "removed scratch files of a stopped process", {{"count", n}});
    }
    auto db = OpenAndMigrate(config, pool_size);
    if (!db.ok()) return db.status();
    base->db = std::move(*db);
    return Status::Ok();
}

// On PostgreSQL, job events cross hosts: what this process publishes is sent as a database notice, and with `listen`
// the notices of every other process (a worker host's progress, say) reach this process's event streams and move its
// caches on. Null when there is nothing to listen to (SQLite, or a worker).
std::unique_ptr<Database::Listener> ShareEvents(Database* db, EventBus* events, bool listen) {
    if (db->kind() != Database::Kind::kPostgres) return nullptr;
    static constexpr const char* kChannel = "podpromo_events";
    const std::string self = RandomToken(10);
    events->SetRelay([db, self](const std::string& event) {
        LogIfFailed(db->Notify(kChannel, self + "\n" + event), "sending a job event to other hosts");
    });
    if (!listen) return nullptr;
    const auto on_notice = [db, events, self](const std::string& notice) {
        const size_t split = notice.find('\n');
        if (split == std::string::npos || notice.compare(0, split, self) == 0) return;  // malformed, or our own
        events->PublishLocal(notice.substr(split + 1));
        db->NoteRemoteWrite();
    };
    // Notices sent while the listener was cut off (a database restart) are lost: the ends of the jobs that finished
    // meanwhile are read back and told again, so no event stream waits for an end it missed.
    const auto on_resumed = [db, events](int64_t lost_at_ms) {
        std::vector<JobRow> ended;
        const Status read = db->With([&](Tx& tx) { ended = JobsFinishedSince(tx, lost_at_ms - 2000, 1000); });
        LogIfFailed(read, "reading the jobs that ended while event notices were cut off");
        for (const JobRow& j : ended) {
            const bool done = j.state == JobState::kSucceeded;
            events->PublishLocal(JobEvent(j.id, j.episode_id, std::string(Name(j.state)), done ? "done" : j.stage,
                                          done ? 1.0 : j.progress, j.error));
        }
        db->NoteRemoteWrite();
        Log(LogLevel::kInfo, "job event notices resumed", {{"ends_told_again", ended.size()}});
    };
    return db->Listen(kChannel, on_notice, on_resumed);
}

// Waits for SIGTERM or SIGINT and logs which.
void AwaitStopSignal(const sigset_t& signals) {
    int sig = 0;
    sigwait(&signals, &sig);
    Log(LogLevel::kInfo, "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
}

}  // namespace

int RunWorker(ServiceConfig config, const std::string& status_host, int status_port) {
    if (config.max_concurrent_jobs < 1) {
        return ReportFailure(Status::InvalidInput("MAX_CONCURRENT_JOBS=0: a worker needs at least one"));
    }
    ServiceBase base;
    const int pool_size = config.database_pool_size > 0 ? config.database_pool_size : config.max_concurrent_jobs + 4;
    if (Status st = StartServiceBase(config, pool_size, &base); !st.ok()) return ReportFailure(st);
    EventBus events;
    const auto listener = ShareEvents(base.db.get(), &events, /*listen=*/false);
    Metrics metrics;
    ErrorAggregator errors(base.db.get(), &metrics, config.metrics_retention_hours);
    WorkerPool workers(base.db.get(), &*base.storage, config, &events, &metrics, &errors);
    if (const int n = workers.RecoverLocalOrphans(); n > 0) {
        Log(LogLevel::kInfo, "jobs of a stopped worker go back to the queue", {{"count", n}});
    }
    WorkerStatusServer status(config.metrics_token, base.db.get(), &metrics, &workers);
    if (Status st = status.Bind(status_host, status_port); !st.ok()) return ReportFailure(st);
    workers.Start();
    std::atomic<bool> clean{true};
    std::thread signal_thread([&] {
        AwaitStopSignal(base.signals);
        // Drain: no new claims; running jobs stop at their next check and go back to the queue uncounted, to resume
        // from their last checkpoint on whichever worker takes them.
        clean = workers.Stop();
        status.Stop();
    });
    std::cout << fmt::format("PodPromo worker: {} workers, status on http://{}:{}/metrics  (data: {}, database: {})\n",
                             config.max_concurrent_jobs, status_host, status.port(), base.storage->root().string(),
                             WithoutPassword(config.DatabaseUrl()))
              << std::flush;
    status.Serve();
    signal_thread.join();
    Log(LogLevel::kInfo, "stopped");
    if (!clean) _exit(0);  // a worker still inside a long stage: its job is already back in the queue
    return 0;
}

int RunServe(ServiceConfig config) {
#ifdef PODPROMO_WEB_DIST
    if (config.web_dir.empty()) config.web_dir = PODPROMO_WEB_DIST;
#endif
    ServiceBase base;
    const int pool_size = config.database_pool_size > 0
                              ? config.database_pool_size
                              : std::min(128, config.max_concurrent_jobs + 4 + config.http_threads / 2);
    if (Status st = StartServiceBase(config, pool_size, &base); !st.ok()) return ReportFailure(st);
    auto& db = base.db;
    auto& storage = base.storage;
    EventBus events;
    const auto listener = ShareEvents(db.get(), &events, /*listen=*/true);
    Metrics metrics;
    ErrorAggregator errors(db.get(), &metrics, config.metrics_retention_hours);
    Housekeeper housekeeper(config, db.get(), &*storage, &metrics, &errors);
    WorkerPool workers(db.get(), &*storage, config, &events, &metrics, &errors);
    if (const int n = workers.RecoverLocalOrphans(); n > 0) {
        Log(LogLevel::kInfo, "jobs of a stopped server go back to the queue", {{"count", n}});
    }
    ApiServer server(config, db.get(), &*storage, &workers, &events, &metrics, &housekeeper, &errors);
    if (Status st = server.Bind(); !st.ok()) {
        return ReportFailure(st);
    }
    // With no user yet, an administrator and a one-time link to sign in as them.
    auto first_start = Accounts(db.get(), &SystemClock()).FirstStart();
    if (!first_start.ok()) return ReportFailure(first_start.status());
    housekeeper.Start();
    workers.Start();
    FeedPoller feeds(server.app(), &housekeeper);

    std::atomic<bool> clean{true};
    std::thread signal_thread([&] {
        AwaitStopSignal(base.signals);
        // Stop accepting (the listener closes; open requests finish), then let running jobs reach their next
        // check and go back to the queue.
        server.Stop();
        feeds.Stop();
        housekeeper.Stop();
        clean = workers.Stop();
    });
    const std::string url = ServiceUrl(config, server.port());
    std::cout << fmt::format("PodPromo is serving on {}/  (data: {}, database: {}, workers: {})\n", url,
                             storage->root().string(), WithoutPassword(config.DatabaseUrl()),
                             config.max_concurrent_jobs);
    if (*first_start) {
        std::cout << fmt::format(
            "First start: sign in as admin at {}\n  (the link works once, for 24 hours; then "
            "set a password on the Account page, or run `podpromo user link admin` for a new "
            "link)\n",
            SignInLink(url, **first_start));
    }
    std::cout << std::flush;
    server.Serve();
    signal_thread.join();
    Log(LogLevel::kInfo, "stopped");
    if (!clean) _exit(0);  // a worker still inside a long stage: its job is already back in the queue
    return 0;
}

}  // namespace podpromo
