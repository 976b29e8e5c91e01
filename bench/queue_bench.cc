// The job queue under competition (bench/queue.sh runs it): N jobs queued at once, then W workers, each on its own
// connection, claim (SqlJobStore::Claim, as WorkerPool does) and record each job's end until the queue is empty.
// Prints claims per second and the claim latency (p50, p99) on SQLite, the reference run, and on PostgreSQL (a
// throwaway cluster: PODPROMO_TEST_POSTGRES as for the tests) in the same go, and PostgreSQL's ratios to SQLite.
//   build/queue_bench [--jobs 10000] [--workers 8]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "podpromo/jobs/job_store.h"
#include "podpromo/jobs/outcome.h"
#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"
#include "testsupport.h"

namespace podpromo {
namespace {

using Clock = std::chrono::steady_clock;

struct Run {
    double claims_per_s = 0, p50_ms = 0, p99_ms = 0;
    long long claimed = 0, errors = 0;
};

Status Fill(Database* db, int jobs) {
    return db->InTransaction([&](Tx& tx) {
        for (int i = 0; i < jobs; ++i) {
            EpisodeRow e;
            e.id = fmt::format("ep_{:06}", i);
            e.title = e.filename = e.audio_path = e.checksum = e.format = e.genre = e.platform = "x";
            e.created_at = e.updated_at = i;
            InsertEpisode(tx, e);
            JobRow j;
            j.id = fmt::format("job_{:06}", i);
            j.episode_id = e.id;
            j.priority = i % 3;
            j.created_at = i;
            InsertJob(tx, j);
        }
    });
}

Run Compete(Database* db, int workers) {
    SqlJobStore store(db);
    std::mutex mu;
    std::vector<double> latencies_ms;
    std::atomic<long long> errors{0}, claimed{0};
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
        threads.emplace_back([&, w] {
            std::vector<double> mine;
            const std::string owner = fmt::format("bench:{}:w{}", getpid(), w);
            JobDecision done;
            done.outcome = JobOutcome::kFailed;  // an end that writes the job and its episode, as a real one does
            done.job_state = JobState::kFailed;
            for (;;) {
                const auto t0 = Clock::now();
                auto job = store.Claim(owner, 1000, 1000 + 600000);
                mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
                if (!job.ok()) {
                    ++errors;
                    continue;
                }
                if (!*job) break;
                ++claimed;
                if (!store.Record(**job, done, "bench", 2000).ok()) ++errors;
            }
            std::lock_guard<std::mutex> lock(mu);
            latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
        });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(latencies_ms.begin(), latencies_ms.end());
    Run r;
    r.claimed = claimed;  // (each worker's last claim, which found none, is in the latencies too)
    r.errors = errors;
    r.claims_per_s = static_cast<double>(r.claimed) / seconds;
    const auto at = [&](double q) { return latencies_ms[static_cast<size_t>(q * (latencies_ms.size() - 1))]; };
    r.p50_ms = at(0.50);
    r.p99_ms = at(0.99);
    return r;
}

int Main(int argc, char** argv) {
    int jobs = 10000, workers = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--jobs") jobs = std::max(1, std::atoi(argv[i + 1]));
        if (flag == "--workers") workers = std::clamp(std::atoi(argv[i + 1]), 1, 64);
    }
    if (!testing::OnPostgres()) {
        fmt::print(stderr, "queue_bench: set PODPROMO_TEST_POSTGRES (bench/queue.sh starts a cluster)\n");
        return 2;
    }
    testing::TempDir dir;
    std::vector<std::pair<std::string, Run>> runs;
    for (const bool postgres : {false, true}) {
        const std::string url = postgres ? testing::TestDatabaseUrl(dir / "pg") : "sqlite://" + (dir / "q.db").string();
        auto db = Database::Open(url, workers + 1);
        if (!db.ok() || !(*db)->Migrate().ok()) {
            fmt::print(stderr, "queue_bench: cannot open {}\n", url);
            return 1;
        }
        if (Status st = Fill(db->get(), jobs); !st.ok()) {
            fmt::print(stderr, "queue_bench: {}\n", st.ToString());
            return 1;
        }
        runs.emplace_back(postgres ? "postgresql" : "sqlite", Compete(db->get(), workers));
    }
    fmt::print("{} jobs, {} workers each on its own connection: claim, then record the end\n", jobs, workers);
    fmt::print("{:<11} {:>9} {:>9} {:>9} {:>8} {:>7}\n", "database", "claims/s", "p50 ms", "p99 ms", "claimed",
               "errors");
    for (const auto& [name, r] : runs) {
        fmt::print("{:<11} {:>9.0f} {:>9.2f} {:>9.2f} {:>8} {:>7}\n", name, r.claims_per_s, r.p50_ms, r.p99_ms,
                   r.claimed, r.errors);
    }
    const Run& ref = runs[0].second;
    const Run& pg = runs[1].second;
    fmt::print("postgresql / sqlite: {:.2f}x claims/s, {:.2f}x p99 latency\n", pg.claims_per_s / ref.claims_per_s,
               pg.p99_ms / ref.p99_ms);
    return ref.claimed == jobs && pg.claimed == jobs && ref.errors == 0 && pg.errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace podpromo

int main(int argc, char** argv) { return podpromo::Main(argc, argv); }
