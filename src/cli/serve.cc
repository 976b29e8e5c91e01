#include "serve.h"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "podpromo/api/server.h"
#include "podpromo/files/storage.h"
#include "podpromo/jobs/events.h"
#include "podpromo/jobs/workers.h"
#include "podpromo/monitor/metrics.h"
#include "podpromo/store/database.h"

namespace podpromo {
namespace {

Result<std::unique_ptr<Database>> OpenAndMigrate(const ServiceConfig& config, int pool_size) {
    auto db = Database::Open(config.DatabaseUrl(), pool_size);
    if (!db.ok()) return db.status();
    auto applied = (*db)->Migrate();
    if (!applied.ok()) return applied.status();
    if (*applied > 0) {
        std::cerr << fmt::format("podpromo: applied {} migration(s); schema version {}\n", *applied,
                                 Database::LatestVersion());
    }
    return db;
}

}  // namespace

int RunMigrate(const ServiceConfig& config) {
    auto db = OpenAndMigrate(config, 1);
    if (!db.ok()) {
        std::cerr << "podpromo: " << db.status().message() << "\n";
        return 1;
    }
    std::cout << fmt::format("schema version {} ({})\n", Database::LatestVersion(), config.DatabaseUrl());
    return 0;
}

int RunServe(ServiceConfig config) {
    if (Status v = ValidateConfig(config); !v.ok()) {
        std::cerr << "podpromo: " << v.message() << "\n";
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is an error on that connection, not the end
    // Signals are taken by one thread with sigwait: block them before any other thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    auto storage = Storage::Open(config.data_dir, static_cast<int64_t>(config.max_storage_gb * 1e9));
    if (!storage.ok()) {
        std::cerr << "podpromo: " << storage.status().message() << "\n";
        return 1;
    }
    if (const int n = storage->CleanTmp(); n > 0) std::cerr << "podpromo: removed " << n << " unfinished upload(s)\n";
    auto db = OpenAndMigrate(config, std::min(128, config.max_concurrent_jobs + 4 + config.http_threads / 2));
    if (!db.ok()) {
        std::cerr << "podpromo: " << db.status().message() << "\n";
        return 1;
    }
    EventBus events;
    Metrics metrics;
    WorkerPool workers(db->get(), &*storage, config, &events, &metrics);
    if (const int n = workers.RecoverLocalOrphans(); n > 0) {
        std::cerr << "podpromo: " << n << " job(s) of a stopped server go back to the queue\n";
    }
    ApiServer server(config, db->get(), &*storage, &workers, &events, &metrics);
    if (Status st = server.Bind(); !st.ok()) {
        std::cerr << "podpromo: " << st.message() << "\n";
        return 1;
    }
    workers.Start();

    std::atomic<bool> clean{true};
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        std::cerr << "podpromo: stopping (" << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ")\n";
        // Stop accepting (the listener closes; open requests finish), then let running jobs reach their next
        // check and go back to the queue.
        server.Stop();
        clean = workers.Stop();
    });
    const std::string host = config.host == "0.0.0.0" ? "127.0.0.1" : config.host;
    std::cout << fmt::format("PodPromo is serving on http://{}:{}/  (data: {}, database: {}, workers: {})\n", host,
                             server.port(), storage->root().string(), config.DatabaseUrl(), config.max_concurrent_jobs)
              << std::flush;
    server.Serve();
    signal_thread.join();
    std::cerr << "podpromo: stopped\n";
    if (!clean) _exit(0);  // a worker still inside a long stage: its job is already back in the queue
    return 0;
}

}  // namespace podpromo
