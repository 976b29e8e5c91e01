#include "serve.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "podpromo/api/server.h"
#include "podpromo/app/accounts.h"
#include "podpromo/core/clock.h"
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
    auto db = Database::Open(config.DatabaseUrl(), pool_size);
    if (!db.ok()) return db.status();
    auto applied = (*db)->Migrate();
    if (!applied.ok()) return applied.status();
    if (*applied > 0) {
        Log(LogLevel::kInfo, "database migrated",
            {{"applied", *applied}, {"schema_version", Database::LatestVersion()}});
    }
    return db;
}

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

int RunServe(ServiceConfig config) {
    if (Status v = ValidateConfig(config); !v.ok()) {
        return ReportFailure(v);
    }
    ConfigureLog(config.log_format, config.log_level);
#ifdef PODPROMO_WEB_DIST
    if (config.web_dir.empty()) config.web_dir = PODPROMO_WEB_DIST;
#endif
    std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is an error on that connection, not the end
    // Signals are taken by one thread with sigwait: block them before any other thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    auto storage = Storage::Open(config.data_dir, static_cast<int64_t>(config.max_storage_gb * 1e9));
    if (!storage.ok()) {
        return ReportFailure(storage.status());
    }
    // Scratch files of jobs (decoded audio, render scripts) go to the work area of the storage root, where
    // the quota counts them and cleanup finds what a killed process left.
    setenv("TMPDIR", storage->work_dir().c_str(), 1);
    if (const int n = storage->CleanTmp(); n > 0) {
        Log(LogLevel::kInfo, "removed scratch files of a stopped server", {{"count", n}});
    }
    auto db = OpenAndMigrate(config, std::min(128, config.max_concurrent_jobs + 4 + config.http_threads / 2));
    if (!db.ok()) {
        return ReportFailure(db.status());
    }
    EventBus events;
    Metrics metrics;
    ErrorAggregator errors(db->get(), &metrics, config.metrics_retention_hours);
    Housekeeper housekeeper(config, db->get(), &*storage, &metrics, &errors);
    WorkerPool workers(db->get(), &*storage, config, &events, &metrics, &errors);
    if (const int n = workers.RecoverLocalOrphans(); n > 0) {
        Log(LogLevel::kInfo, "jobs of a stopped server go back to the queue", {{"count", n}});
    }
    ApiServer server(config, db->get(), &*storage, &workers, &events, &metrics, &housekeeper, &errors);
    if (Status st = server.Bind(); !st.ok()) {
        return ReportFailure(st);
    }
    // With no user yet, an administrator and a one-time link to sign in as them.
    auto first_start = Accounts(db->get(), &SystemClock()).FirstStart();
    if (!first_start.ok()) return ReportFailure(first_start.status());
    housekeeper.Start();
    workers.Start();

    std::atomic<bool> clean{true};
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        Log(LogLevel::kInfo, "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        // Stop accepting (the listener closes; open requests finish), then let running jobs reach their next
        // check and go back to the queue.
        server.Stop();
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
