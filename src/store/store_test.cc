// The repositories on a real SQLite database in a temporary directory.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <soci/soci.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "podpromo/jobs/job_store.h"
#include "podpromo/jobs/outcome.h"
#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"
#include "podpromo/store/shows.h"
#include "testsupport.h"

namespace podpromo {
namespace {

std::unique_ptr<Database> OpenDb(const testing::TempDir& dir) { return testing::OpenTestDatabase(dir / "t.db"); }

void AddJob(Tx& s, const std::string& id, int priority, DbInt created) {
    EpisodeRow e;
    e.id = "ep_" + id;
    e.title = e.filename = e.audio_path = e.checksum = e.format = e.genre = e.platform = "x";
    e.created_at = e.updated_at = created;
    InsertEpisode(s, e);
    JobRow j;
    j.id = id;
    j.episode_id = e.id;
    j.priority = priority;
    j.created_at = created;
    InsertJob(s, j);
}

TEST(Store, MigrationsAreVersionedAndIdempotent) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    EXPECT_EQ(*db->SchemaVersion(), Database::LatestVersion());
    EXPECT_EQ(*db->Migrate(), 0) << "nothing left to apply";
    EXPECT_TRUE(db->Ping().ok());
}

TEST(Store, RenderJobsKeepTheirPayloadAndAreNotTheEpisodesJob) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->InTransaction([](Tx& s) {
                      AddJob(s, "process", 1, 100);
                      JobRow r;
                      r.id = "render";
                      r.episode_id = "ep_process";
                      r.kind = JobKind::kRender;
                      r.payload = R"({"clip_id":"c1"})";
                      r.priority = 2;
                      r.created_at = 200;
                      InsertJob(s, r);
                  }).ok());
    ASSERT_TRUE(db->With([&](Tx& s) {
                      const auto r = GetJob(s, "render");
                      ASSERT_TRUE(r);
                      EXPECT_EQ(r->kind, JobKind::kRender);
                      EXPECT_EQ(r->payload, R"({"clip_id":"c1"})");
                      EXPECT_EQ(GetJob(s, "process")->kind, JobKind::kProcess);
                      EXPECT_EQ(LatestJobForEpisode(s, "ep_process")->id, "process") << "newer, but a render job";
                      EXPECT_TRUE(RunningJobsForEpisode(s, "ep_process").empty());
                      const auto claimed = ClaimNextJob(s, "w1", 1000, 5000);
                      ASSERT_TRUE(claimed);
                      EXPECT_EQ(claimed->id, "render") << "high priority first";
                      EXPECT_EQ(RunningJobsForEpisode(s, "ep_process"), std::vector<std::string>{"render"});
                  }).ok());
}

TEST(Store, QueueTakesHigherPriorityFirstThenOldest) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->InTransaction([](Tx& s) {
                      AddJob(s, "low_old", 0, 100);
                      AddJob(s, "normal_new", 1, 300);
                      AddJob(s, "normal_old", 1, 200);
                      AddJob(s, "high", 2, 400);
                  }).ok());
    std::vector<std::string> order;
    ASSERT_TRUE(db->With([&](Tx& s) {
                      while (auto j = ClaimNextJob(s, "w1", 1000, 5000)) order.push_back(j->id);
                  }).ok());
    EXPECT_EQ(order, (std::vector<std::string>{"high", "normal_old", "normal_new", "low_old"}));
}

TEST(Store, LeasesCancellationAndRecovery) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->With([&](Tx& s) {
                      AddJob(s, "a", 1, 1);
                      AddJob(s, "b", 1, 2);
                      auto a = ClaimNextJob(s, "w1", 1000, 2000);
                      ASSERT_TRUE(a);
                      EXPECT_EQ(a->state, JobState::kRunning);
                      EXPECT_EQ(a->attempts, 1);
                      EXPECT_TRUE(RenewLease(s, "a", "w1", 3000));
                      EXPECT_FALSE(RenewLease(s, "a", "someone else", 3000));
                      // The worker dies: after its lease the job is queued again.
                      EXPECT_EQ(RecoverExpiredJobs(s, 2500), 0);
                      EXPECT_EQ(RecoverExpiredJobs(s, 3500), 1);
                      EXPECT_EQ(GetJob(s, "a")->state, JobState::kQueued);
                      // A queued job is cancelled at once; a running one is flagged.
                      EXPECT_TRUE(RequestCancel(s, "b", 4000));
                      EXPECT_EQ(GetJob(s, "b")->state, JobState::kCancelled);
                      auto again = ClaimNextJob(s, "w2", 4000, 9000);
                      ASSERT_TRUE(again);
                      EXPECT_EQ(again->id, "a");
                      EXPECT_FALSE(RequestCancel(s, "a", 4100));
                      EXPECT_TRUE(CancelRequested(s, "a"));
                      // Backoff: a requeued job waits for run_after.
                      RequeueJob(s, "a", "disk hiccup", 8000, true);
                      EXPECT_FALSE(ClaimNextJob(s, "w2", 7000, 9000));
                      EXPECT_TRUE(ClaimNextJob(s, "w2", 8000, 9000));
                  }).ok());
}

// One holder of a duty at a time among the processes sharing the database: renewals keep it, a holder that stops
// renewing loses it to the next to ask once it runs out, and only the holder at its epoch may claim a due run, once.
TEST(Store, ALeaderLeaseHasOneHolderAndPassesOnWhenItRunsOut) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->InTransaction([&](Tx& s) {
                      const LeaderLease a = TakeLeaderLease(s, "duty", "a", 1000, 500, 1200);
                      EXPECT_EQ(a.holder, "a");
                      EXPECT_EQ(a.epoch, 1);
                      EXPECT_EQ(a.next_run_at, 1200);
                      EXPECT_EQ(TakeLeaderLease(s, "duty", "b", 1100, 500, 9999).holder, "a") << "a's, until 1500";
                      EXPECT_FALSE(ClaimScheduledRun(s, "duty", "a", 1, 1100, 2000)) << "not due before 1200";
                      const LeaderLease renewed = TakeLeaderLease(s, "duty", "a", 1400, 500, 9999);
                      EXPECT_EQ(renewed.epoch, 1);
                      EXPECT_EQ(renewed.expires_at, 1900);
                      EXPECT_FALSE(ClaimScheduledRun(s, "duty", "b", 1, 1400, 2000)) << "b holds nothing";
                      EXPECT_TRUE(ClaimScheduledRun(s, "duty", "a", 1, 1400, 2000));
                      EXPECT_FALSE(ClaimScheduledRun(s, "duty", "a", 1, 1450, 2000)) << "the run is taken";
                      // a stops renewing: after 1900 the next to ask takes it, with the next epoch and a's schedule.
                      EXPECT_EQ(TakeLeaderLease(s, "duty", "b", 1900, 500, 9999).holder, "a");
                      const LeaderLease b = TakeLeaderLease(s, "duty", "b", 1901, 500, 9999);
                      EXPECT_EQ(b.holder, "b");
                      EXPECT_EQ(b.epoch, 2);
                      EXPECT_EQ(b.next_run_at, 2000);
                      EXPECT_FALSE(ClaimScheduledRun(s, "duty", "a", 1, 2100, 3000)) << "a's epoch is over";
                      EXPECT_TRUE(ClaimScheduledRun(s, "duty", "b", 2, 2100, 3000));
                      EXPECT_EQ(TakeLeaderLease(s, "duty", "a", 2150, 500, 9999).holder, "b");
                      // A clean stop hands it on at once.
                      ReleaseLeaderLease(s, "duty", "a");
                      EXPECT_EQ(TakeLeaderLease(s, "duty", "a", 2160, 500, 9999).holder, "b") << "a held nothing";
                      ReleaseLeaderLease(s, "duty", "b");
                      const LeaderLease back = TakeLeaderLease(s, "duty", "a", 2170, 500, 9999);
                      EXPECT_EQ(back.holder, "a");
                      EXPECT_EQ(back.epoch, 3);
                      EXPECT_EQ(TakeLeaderLease(s, "other", "b", 2170, 500, 2300).holder, "b") << "duties are apart";
                  }).ok());
}

// An engine's pause is shared through the database, and a shorter pause asked later does not cut a longer one.
TEST(Store, AnEnginePauseKeepsItsLatestEnd) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->InTransaction([&](Tx& s) {
                      EXPECT_EQ(EnginePausedUntil(s, "openai http://asr"), 0);
                      PauseEngine(s, "openai http://asr", 5000);
                      EXPECT_EQ(EnginePausedUntil(s, "openai http://asr"), 5000);
                      PauseEngine(s, "openai http://asr", 3000);
                      EXPECT_EQ(EnginePausedUntil(s, "openai http://asr"), 5000) << "the longer pause stands";
                      PauseEngine(s, "openai http://asr", 9000);
                      EXPECT_EQ(EnginePausedUntil(s, "openai http://asr"), 9000);
                      EXPECT_EQ(EnginePausedUntil(s, "whisper-server http://other"), 0) << "engines are apart";
                  }).ok());
}

// Fencing: every claim raises the lease epoch, and a worker whose lease passed to another (it was paused past it,
// rescued, and claimed again) can write nothing under its old epoch: not progress, not its effects, not its outcome.
TEST(Store, AWorkerWhoseLeasePassedOnWritesNothing) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    JobRow first, second;
    ASSERT_TRUE(db->InTransaction([&](Tx& s) {
                      AddJob(s, "j", 1, 1);
                      first = *ClaimNextJob(s, "paused", 1000, 2000);
                      EXPECT_TRUE(HoldsLease(s, "j", first.lease_epoch));
                      EXPECT_EQ(RecoverExpiredJobs(s, 3000), 1) << "its lease ran out while it was paused";
                      EXPECT_FALSE(HoldsLease(s, "j", first.lease_epoch)) << "queued again: nobody holds it";
                      second = *ClaimNextJob(s, "rescuer", 3000, 9000);
                  }).ok());
    EXPECT_EQ(second.lease_epoch, first.lease_epoch + 1);
    ASSERT_TRUE(db->With([&](Tx& s) {
                      EXPECT_FALSE(SetJobProgress(s, "j", first.lease_epoch, "render", 0.9, "{}"));
                      EXPECT_FALSE(HoldsLease(s, "j", first.lease_epoch));
                      EXPECT_TRUE(SetJobProgress(s, "j", second.lease_epoch, "transcribe", 0.2, "{}"));
                      EXPECT_TRUE(HoldsLease(s, "j", second.lease_epoch));
                  }).ok());
    // The paused worker wakes and reports failure, then shuts down: the store refuses both and changes nothing.
    SqlJobStore store(db.get());
    JobDecision fail;
    fail.outcome = JobOutcome::kFailed;
    fail.job_state = JobState::kFailed;
    fail.episode_status = EpisodeStatus::kFailed;
    EXPECT_TRUE(IsFenced(store.Record(first, fail, "woke up confused", 5000)));
    EXPECT_TRUE(IsFenced(store.SetProgress(first, "render", 1.0, "{}")));
    EXPECT_TRUE(store.Release({{"j", first.lease_epoch}}, 5000).ok());
    ASSERT_TRUE(db->With([&](Tx& s) {
                      const auto j = GetJob(s, "j");
                      EXPECT_EQ(j->state, JobState::kRunning);
                      EXPECT_EQ(j->lease_owner, "rescuer");
                      EXPECT_EQ(j->stage, "transcribe");
                      EXPECT_EQ(j->attempts, 2);
                      EXPECT_NE(GetEpisode(s, "ep_j")->status, EpisodeStatus::kFailed);
                  }).ok());
    EXPECT_TRUE(store.Record(second, fail, "a real failure", 6000).ok());
    ASSERT_TRUE(db->With([&](Tx& s) { EXPECT_EQ(GetJob(s, "j")->state, JobState::kFailed); }).ok());
}

// A poison job (one that kills every worker that takes it) is not taken forever: each death counts its attempt,
// and when they are used up the job and its episode fail with the reason.
TEST(Store, AJobThatKillsItsWorkerEveryTimeEndsFailed) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->With([&](Tx& s) {
                      AddJob(s, "poison", 1, 1);
                      DbInt now = 1000;
                      for (int attempt = 1; attempt <= 3; ++attempt) {
                          auto j = ClaimNextJob(s, "w1", now, now + 1000);
                          ASSERT_TRUE(j) << attempt;
                          EXPECT_EQ(j->attempts, attempt);
                          EXPECT_TRUE(SetJobProgress(s, "poison", j->lease_epoch, "transcribe", 0.3, "{}"));
                          now += 5000;  // the worker died: its lease runs out
                          EXPECT_EQ(RecoverExpiredJobs(s, now), attempt < 3 ? 1 : 0) << attempt;
                      }
                      const auto j = GetJob(s, "poison");
                      EXPECT_EQ(j->state, JobState::kFailed);
                      EXPECT_NE(j->error.find("each of its 3 attempts (last in stage 'transcribe')"), std::string::npos)
                          << j->error;
                      EXPECT_EQ(GetEpisode(s, "ep_poison")->status, EpisodeStatus::kFailed);
                      EXPECT_FALSE(ClaimNextJob(s, "w1", now, now + 1000));
                      // A process found dead at start releases its job the same way, counted.
                      AddJob(s, "orphan", 1, 2);
                      ASSERT_TRUE(ClaimNextJob(s, "w1", now, now + 100000));
                      EXPECT_TRUE(ReleaseDeadWorkersJob(s, "orphan", now));
                      EXPECT_EQ(GetJob(s, "orphan")->attempts, 1);
                      EXPECT_EQ(GetJob(s, "orphan")->state, JobState::kQueued);
                  }).ok());
}

// Deleting an episode checks its jobs and deletes in one transaction: a worker's claim that commits in between makes
// the transaction start again, and it then sees the job running (so the episode is not deleted under the worker).
TEST(Store, AClaimBetweenTheCheckAndTheDeleteIsSeen) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->InTransaction([](Tx& s) { AddJob(s, "j", 1, 1); }).ok());
    int attempts = 0;
    std::vector<std::string> running;
    const Status st = db->InTransaction([&](Tx& s) {
        running = RunningJobsForEpisode(s, "ep_j");
        if (++attempts == 1) {
            // Another connection (a worker) claims the job now.
            std::thread worker([&] {
                EXPECT_TRUE(db->InTransaction([](Tx& w) { EXPECT_TRUE(ClaimNextJob(w, "w1", 10, 99999)); }).ok());
            });
            worker.join();
        }
        if (running.empty()) DeleteEpisode(s, "ep_j");
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_GE(attempts, 2) << "the stale read was not allowed to write";
    EXPECT_EQ(running, std::vector<std::string>{"j"});
    ASSERT_TRUE(db->With([](Tx& s) {
                      EXPECT_TRUE(GetEpisode(s, "ep_j"));
                      EXPECT_EQ(GetJob(s, "j")->state, JobState::kRunning);
                  }).ok());
}

TEST(Store, TranscriptRoundTrip) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    Transcript t;
    t.engine = "pocketsphinx";
    t.segments.push_back(
        {1000, 2500, "hello there", 0.8, {{"hello", 1000, 1400, 0.9}, {"there", 1500, 2500, 0.7}}, "S2"});
    t.events = {{"laughter", 2500, 3500}};
    ASSERT_TRUE(db->With([&](Tx& s) {
                      AddJob(s, "j", 1, 1);
                      ReplaceTranscript(s, "ep_j", t);
                      auto back = LoadTranscript(s, "ep_j");
                      ASSERT_TRUE(back);
                      EXPECT_EQ(back->engine, "pocketsphinx");
                      ASSERT_EQ(back->segments.size(), 1u);
                      EXPECT_EQ(back->segments[0].words[1].text, "there");
                      EXPECT_EQ(back->segments[0].words[1].start_ms, 1500);
                      EXPECT_DOUBLE_EQ(back->segments[0].words[1].confidence, 0.7);
                      EXPECT_EQ(back->segments[0].speaker, "S2");
                      ASSERT_EQ(back->events.size(), 1u);
                      EXPECT_EQ(back->events[0].kind, "laughter");
                      EXPECT_EQ(back->events[0].end_ms, 3500);
                      EXPECT_FALSE(LoadTranscript(s, "ep_other"));
                  }).ok());
}

TEST(Store, ErrorsAreGroupedByKindAndStageAndPrunedByAge) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->InTransaction([&](Tx& s) {
                      RecordError(s, "no_space", "render", "first", 1000);
                      RecordError(s, "no_space", "render", "second", 5000);
                      RecordError(s, "invalid_input", "probe", "bad file", 3000);
                  }).ok());
    std::vector<ErrorGroup> groups;
    ASSERT_TRUE(db->With([&](Tx& s) { groups = ListErrors(s, 0); }).ok());
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].kind, "no_space") << "most recent first";
    EXPECT_EQ(groups[0].count, 2);
    EXPECT_EQ(groups[0].first_seen, 1000);
    EXPECT_EQ(groups[0].last_seen, 5000);
    EXPECT_EQ(groups[0].sample, "second") << "the latest message";
    int pruned = 0;
    ASSERT_TRUE(db->InTransaction([&](Tx& s) { pruned = PruneErrors(s, 4000); }).ok());
    EXPECT_EQ(pruned, 1);
    ASSERT_TRUE(db->With([&](Tx& s) { groups = ListErrors(s, 0); }).ok());
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].stage, "render");
}

// Workers claiming at once, each on its own connection, take every job exactly once (on PostgreSQL with SKIP LOCKED
// at READ COMMITTED, on SQLite through its single writer).
TEST(Store, CompetingClaimsTakeEachJobOnce) {
    testing::TempDir dir;
    auto db = testing::OpenTestDatabase(dir / "t.db", /*pool_size=*/4);
    ASSERT_TRUE(db);
    constexpr int kJobs = 120;
    ASSERT_TRUE(db->InTransaction([](Tx& s) {
                      for (int i = 0; i < kJobs; ++i) AddJob(s, "j" + std::to_string(i), i % 3, i);
                  }).ok());
    std::mutex mu;
    std::multiset<std::string> taken;
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
        workers.emplace_back([&, w] {
            for (;;) {
                std::optional<JobRow> job;
                const Status st =
                    db->InTransaction([&](Tx& s) { job = ClaimNextJob(s, "w" + std::to_string(w), 1000, 9000); },
                                      Database::Isolation::kReadCommitted);
                EXPECT_TRUE(st.ok()) << st.ToString();
                if (!st.ok() || !job) return;
                std::lock_guard lock(mu);
                taken.insert(job->id);
            }
        });
    }
    for (auto& t : workers) t.join();
    EXPECT_EQ(taken.size(), static_cast<size_t>(kJobs));
    EXPECT_EQ(std::set<std::string>(taken.begin(), taken.end()).size(), static_cast<size_t>(kJobs)) << "none twice";
    DbInt running = 0;
    ASSERT_TRUE(db->With([&](Tx& s) { running = CountJobsInState(s, JobState::kRunning); }).ok());
    EXPECT_EQ(running, kJobs);
}

// `podpromo migrate --from` must carry every table: one a later migration adds fails this until CopiedTables has it.
TEST(Store, CopyKnowsEveryTable) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    std::vector<std::string> tables;
    ASSERT_TRUE(db->With([&](Tx& s) {
                      const std::string sql = db->kind() == Database::Kind::kSqlite
                                                  ? "SELECT name FROM sqlite_master WHERE type = 'table'"
                                                  : "SELECT table_name FROM information_schema.tables"
                                                    " WHERE table_schema = current_schema()";
                      soci::rowset<std::string> rows = s.sql().prepare << sql;
                      for (const auto& t : rows) {
                          if (t != "schema_migrations" && t.rfind("sqlite_", 0) != 0) tables.push_back(t);
                      }
                  }).ok());
    std::vector<std::string> copied = CopiedTables();
    std::sort(tables.begin(), tables.end());
    std::sort(copied.begin(), copied.end());
    EXPECT_EQ(copied, tables);
}

// A SQLite database copied whole into an empty one (PostgreSQL in the pg. run): every row, NULLs, 64-bit times and
// JSON text as they were; a second copy into the now full target is refused and changes nothing.
TEST(Store, CopyEveryRowCarriesADatabaseWhole) {
    testing::TempDir dir;
    auto source = Database::Open("sqlite://" + (dir / "source.db").string(), 1);
    ASSERT_TRUE(source.ok());
    ASSERT_TRUE((*source)->Migrate().ok());
    Transcript t;
    t.engine = "imported";
    t.segments.push_back({1000, 2500, "it's \"quoted\" — ünïcode", 0.8, {{"it's", 1000, 1400, 0.9}}, "S1"});
    constexpr DbInt kLate = 4'102'444'800'000;  // 2100-01-01 in ms: past 32 bits
    ASSERT_TRUE((*source)
                    ->InTransaction([&](Tx& s) {
                        AddJob(s, "j1", 2, kLate);
                        AddJob(s, "j2", 0, 5);
                        ReplaceTranscript(s, "ep_j1", t);
                        RecordError(s, "no_space", "render", "disk full", kLate);
                        FeedbackRow f;
                        f.id = "f1";
                        f.clip_id = "c1";
                        f.episode_id = "ep_j1";
                        f.kind = "like";  // rating stays NULL
                        f.created_at = 7;
                        InsertFeedback(s, f);
                    })
                    .ok());
    auto target = OpenDb(dir);
    ASSERT_TRUE(target);
    auto counts = CopyEveryRow(source->get(), target.get());
    ASSERT_TRUE(counts.ok()) << counts.status().ToString();
    std::map<std::string, long long> by_table(counts->begin(), counts->end());
    EXPECT_EQ(by_table["episodes"], 2);
    EXPECT_EQ(by_table["jobs"], 2);
    EXPECT_EQ(by_table["transcript_segments"], 1);
    EXPECT_EQ(by_table["feedback"], 1);
    ASSERT_TRUE(target
                    ->With([&](Tx& s) {
                        const auto e = GetEpisode(s, "ep_j1");
                        ASSERT_TRUE(e);
                        EXPECT_EQ(e->created_at, kLate);
                        EXPECT_EQ(GetJob(s, "j1")->priority, 2);
                        const auto back = LoadTranscript(s, "ep_j1");
                        ASSERT_TRUE(back);
                        EXPECT_EQ(back->segments[0].text, t.segments[0].text);
                        EXPECT_EQ(back->segments[0].words[0].text, "it's");
                        EXPECT_EQ(back->segments[0].speaker, "S1");
                        const auto errors = ListErrors(s, 0);
                        ASSERT_EQ(errors.size(), 1u);
                        EXPECT_EQ(errors[0].last_seen, kLate);
                        EXPECT_EQ(FeedbackCounts(s, "c1").at("like"), 1);
                        const auto order = ClaimNextJob(s, "w", kLate + 1, kLate + 2);
                        ASSERT_TRUE(order);
                        EXPECT_EQ(order->id, "j1") << "the queue's order came along";
                    })
                    .ok());
    const auto again = CopyEveryRow(source->get(), target.get());
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition) << again.status().ToString();
}

// Notices cross processes on PostgreSQL (each listener has its own connection); SQLite has none to give.
TEST(Store, NoticesReachEveryListener) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    if (db->kind() == Database::Kind::kSqlite) {
        EXPECT_EQ(db->Listen("podpromo_events", [](const std::string&) {}), nullptr);
        EXPECT_TRUE(db->Notify("podpromo_events", "nobody hears this").ok());
        return;
    }
    std::mutex mu;
    std::vector<std::string> heard_a, heard_b;
    const auto listen = [&](std::vector<std::string>* into) {
        return db->Listen("podpromo_events", [&mu, into](const std::string& p) {
            std::lock_guard<std::mutex> lock(mu);
            into->push_back(p);
        });
    };
    auto a = listen(&heard_a);
    auto b = listen(&heard_b);
    ASSERT_TRUE(a && b);
    const auto heard = [&](const std::vector<std::string>& list, size_t n, int tries) {
        for (int i = 0; i < tries; ++i) {
            {
                std::lock_guard<std::mutex> lock(mu);
                if (list.size() >= n) return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    };
    const auto both_heard = [&](size_t n) { return heard(heard_a, n, 250) && heard(heard_b, n, 250); };
    // A listener subscribes on its own thread: a notice sent before it has is not heard, so send until both hear one.
    for (int i = 0; i < 50 && !(heard(heard_a, 1, 5) && heard(heard_b, 1, 5)); ++i) {
        ASSERT_TRUE(db->Notify("podpromo_events", "hello").ok());
    }
    {
        std::lock_guard<std::mutex> lock(mu);
        heard_a.clear();
        heard_b.clear();
    }
    ASSERT_TRUE(db->Notify("other_channel", "not for them").ok());
    ASSERT_TRUE(db->Notify("podpromo_events", "job j1 \"succeeded\"\n").ok());
    ASSERT_TRUE(both_heard(1));
    {
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_EQ(heard_a.back(), "job j1 \"succeeded\"\n");
        EXPECT_EQ(heard_b.back(), heard_a.back());
        for (const auto& p : heard_a) EXPECT_NE(p, "not for them");
    }
    EXPECT_EQ(db->Notify("podpromo_events", std::string(8000, 'x')).code(), StatusCode::kInvalidInput);
    a.reset();  // stops: nothing more is delivered to it
    const size_t a_count = heard_a.size();
    ASSERT_TRUE(db->Notify("podpromo_events", "after").ok());
    ASSERT_TRUE(heard(heard_b, 2, 250));
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(heard_a.size(), a_count);
}

// A listener cut off from the database (its session terminated, as a restart would) listens again and says since when
// it heard nothing, so that its owner can read back what the lost notices said; the jobs that ended since are there.
TEST(Store, AListenerCutOffListensAgainAndSaysSinceWhen) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    if (db->kind() == Database::Kind::kSqlite) GTEST_SKIP() << "SQLite has no notices";
    std::atomic<int64_t> resumed_from{0};
    std::atomic<int> heard{0};
    auto listener = db->Listen(
        "podpromo_events", [&](const std::string&) { ++heard; }, [&](int64_t lost_at) { resumed_from = lost_at; });
    for (int i = 0; i < 100 && heard == 0; ++i) {
        ASSERT_TRUE(db->Notify("podpromo_events", "hello").ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GT(heard.load(), 0);
    EXPECT_EQ(resumed_from.load(), 0) << "not called for the first connection";
    const int64_t before = NowEpochMs();
    ASSERT_TRUE(db->With([](Tx& s) {
                      s.sql() << "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                 " WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                                 " AND pid <> pg_backend_pid()";  // (this test's database only: others run beside it)
                  }).ok());
    for (int i = 0; i < 200 && resumed_from == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GE(resumed_from.load(), before);
    EXPECT_LE(resumed_from.load(), NowEpochMs());
    ASSERT_TRUE(db->InTransaction([&](Tx& s) {
                      AddJob(s, "early", 1, 1);
                      AddJob(s, "late", 1, 2);
                      AddJob(s, "open", 1, 3);
                      FinishJob(s, "early", JobState::kSucceeded, "", before - 60000);
                      FinishJob(s, "late", JobState::kFailed, "broke", before + 10);
                      const auto ended = JobsFinishedSince(s, before, 10);
                      ASSERT_EQ(ended.size(), 1u);
                      EXPECT_EQ(ended[0].id, "late");
                      EXPECT_EQ(ended[0].state, JobState::kFailed);
                  }).ok());
}

TEST(Store, PostgresUrlsBecomeLibpqConnectionStrings) {
    EXPECT_EQ(*PostgresConnectString("postgresql://pp:p%40ss@db.example:5433/clips?sslmode=require"),
              "user='pp' password='p@ss' host='db.example' port='5433' dbname='clips' sslmode='require' "
              "connect_timeout='10'");
    EXPECT_EQ(*PostgresConnectString("postgres://[::1]:5432/x"),
              "host='::1' port='5432' dbname='x' connect_timeout='10'");
    EXPECT_EQ(*PostgresConnectString("postgresql://me:it's%20a\\b@h/d"),
              "user='me' password='it\\'s a\\\\b' host='h' dbname='d' connect_timeout='10'")
        << "a quote or backslash cannot end the value early";
    EXPECT_EQ(*PostgresConnectString("postgresql:///d?host=%2Fvar%2Frun%2Fpostgresql"),
              "dbname='d' host='/var/run/postgresql' connect_timeout='10'");
    EXPECT_EQ(*PostgresConnectString("postgresql://h/d?connect_timeout=3"), "host='h' dbname='d' connect_timeout='3'")
        << "the URL's own limit wins";
    for (const char* bad : {"mysql://h/d", "postgresql://h:99999999/d", "postgresql://h:port/d",
                            "postgresql://h/d?bad-key=1", "postgresql://h/d?x=%zz", "postgresql://h/d%00"}) {
        const auto r = PostgresConnectString(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput) << bad;
        EXPECT_NE(r.status().message().find("DATABASE_URL"), std::string::npos) << r.status().ToString();
    }
}

// A database host that takes the connection and never answers (a wedged server, a port behind a filter) is an error
// within the connection's limit: before, libpq's unlimited default held a starting serve silent for minutes.
TEST(Store, ADatabaseThatNeverAnswersIsAnErrorWithinTheConnectLimit) {
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof at;
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&at), size), 0);
    ASSERT_EQ(listen(listener, 8), 0);  // the kernel completes the handshake; nothing ever reads or answers
    ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&at), &size), 0);
    const auto began = std::chrono::steady_clock::now();
    auto opened =
        Database::Open(fmt::format("postgresql://pp@127.0.0.1:{}/podpromo?connect_timeout=2", ntohs(at.sin_port)), 2);
    const auto took = std::chrono::steady_clock::now() - began;
    close(listener);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), StatusCode::kUnavailable) << opened.status().ToString();
    EXPECT_NE(opened.status().message().find("cannot open the database"), std::string::npos);
    EXPECT_LT(took, std::chrono::seconds(8)) << "the open waited past its connect_timeout";
}

// A connection the server ended (a restart, pg_terminate_backend) is replaced: the work done on it runs again on a new
// one and succeeds, instead of the pool keeping a dead session that fails every request given it.
TEST(Store, ADeadConnectionIsReplacedAndTheWorkRunsAgain) {
    if (!testing::OnPostgres()) GTEST_SKIP() << "PostgreSQL only (the pg. tests): a SQLite file has no connection";
    testing::TempDir dir;
    auto db = testing::OpenTestDatabase(dir / "t.db", /*pool_size=*/1);
    ASSERT_TRUE(db);
    const auto terminate_own_session = [&] {
        int pid = 0;
        ASSERT_TRUE(db->With([&](Tx& s) { s.sql() << "SELECT pg_backend_pid()", soci::into(pid); }).ok());
        ASSERT_GT(pid, 0);
        // From another session: the pooled one only learns of it when it is next used.
        auto other = Database::Open(testing::TestDatabaseUrl(dir / "other.db"), 1);
        ASSERT_TRUE(other.ok());
        ASSERT_TRUE(
            (*other)->With([&](Tx& s) { s.sql() << "SELECT pg_terminate_backend(" + std::to_string(pid) + ")"; }).ok());
    };
    terminate_own_session();
    EXPECT_TRUE(db->InTransaction([](Tx& s) { AddJob(s, "after_restart", 1, 1); }).ok());
    EXPECT_EQ(db->reconnects(), 1u);
    terminate_own_session();
    std::optional<JobRow> job;
    EXPECT_TRUE(db->With([&](Tx& s) { job = GetJob(s, "after_restart"); }).ok());
    ASSERT_TRUE(job) << "the transaction committed once, on the new connection";
    EXPECT_EQ(db->reconnects(), 2u);
    DbInt episodes = 0;
    EXPECT_TRUE(db->With([&](Tx& s) { episodes = CountEpisodes(s, std::nullopt); }).ok());
    EXPECT_EQ(episodes, 1) << "not twice";
}

// A worker frozen (SIGSTOP, a paused VM) inside a transaction holds its job row's lock. Other hosts' lease checks must
// neither wait for it (their own leases would lapse meanwhile) nor wait forever to rescue the job: the server ends the
// frozen session after the idle limit, the job goes back to the queue, and what the frozen worker wrote is undone.
TEST(Store, AJobLockedByAFrozenWorkerStallsNoLeaseCheckAndIsRescuedOnceItsSessionEnds) {
    if (!testing::OnPostgres()) GTEST_SKIP() << "PostgreSQL only (the pg. tests): SQLite has no row locks";
    testing::TempDir dir;
    const std::string url = testing::TestDatabaseUrl(dir / "t.db");
    auto opened = Database::Open(url, 2);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto db = std::move(*opened);
    ASSERT_TRUE(db->Migrate().ok());
    auto frozen_db = Database::Open(url, 1, std::chrono::seconds(1));
    ASSERT_TRUE(frozen_db.ok());
    std::optional<JobRow> job;
    ASSERT_TRUE(db->InTransaction([&](Tx& s) {
                      AddJob(s, "a", 1, 1);
                      job = ClaimNextJob(s, "frozen", 1000, 2000);
                  }).ok());
    ASSERT_TRUE(job);
    std::promise<void> locked, wake;
    std::atomic<int> runs{0};
    std::atomic<bool> wrote_after_waking{false};
    std::thread frozen([&] {
        (void)(*frozen_db)->InTransaction([&](Tx& s) {
            if (runs++ > 0) {  // run again on a new connection: the lease has passed on, so nothing is written
                wrote_after_waking = SetJobProgress(s, "a", job->lease_epoch, "frozen", 0.9, "{}");
                return;
            }
            ASSERT_TRUE(SetJobProgress(s, "a", job->lease_epoch, "frozen", 0.5, "{}"));  // the row's lock, held
            locked.set_value();
            wake.get_future().wait();  // frozen, between two statements of its transaction
        });
    });
    locked.get_future().wait();
    SqlJobStore store(db.get());
    // The lease ran out at 2000. The first check comes back at once, passing over the locked row.
    auto first = std::async(std::launch::async, [&] { return store.CheckLeases({}, "other", 9000, 3000); });
    const bool returned = first.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
    EXPECT_TRUE(returned) << "a lease check waited for the frozen worker's lock";
    if (returned) {
        EXPECT_EQ(first.get()->recovered, 0) << "the locked job is left for later";
    }
    // After the idle limit (1 s here) the server ends the frozen session; a later check rescues the job.
    int recovered = 0;
    for (int i = 0; i < 100 && recovered == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto check = store.CheckLeases({}, "other", 9000, 3000);
        ASSERT_TRUE(check.ok()) << check.status().ToString();
        recovered = check->recovered;
    }
    EXPECT_EQ(recovered, 1) << "the job was not rescued within 10 s";
    wake.set_value();
    frozen.join();
    EXPECT_FALSE(wrote_after_waking);
    ASSERT_TRUE(db->With([&](Tx& s) {
                      const auto after = GetJob(s, "a");
                      ASSERT_TRUE(after);
                      EXPECT_EQ(after->state, JobState::kQueued);
                      EXPECT_NE(after->stage, "frozen") << "the frozen worker's write was rolled back";
                  }).ok());
}

TEST(Store, AFeedItemIsStoredOnceAndLinkedToOneEpisode) {
    testing::TempDir dir;
    auto db = OpenDb(dir);
    ShowRow show;
    show.id = "show_1";
    show.owner_id = "u1";
    show.feed_url = "https://example.com/feed.xml";
    show.next_poll_at = 5000;
    ASSERT_TRUE(db->InTransaction([&](Tx& s) { InsertShow(s, show); }).ok());
    FeedItemRow item;
    item.show_id = show.id;
    item.guid = "g1";
    item.title = "First";
    item.first_seen_at = 100;
    bool fresh = false, again = true, linked = false, relinked = true;
    ASSERT_TRUE(db->InTransaction([&](Tx& s) {
                      fresh = UpsertFeedItem(s, item);
                      linked = SetFeedItemEpisode(s, show.id, "g1", "ep_1");
                      relinked = SetFeedItemEpisode(s, show.id, "g1", "ep_2");
                      item.title = "First, retitled";
                      item.first_seen_at = 999;
                      again = UpsertFeedItem(s, item);
                  }).ok());
    EXPECT_TRUE(fresh);
    EXPECT_TRUE(linked);
    EXPECT_FALSE(relinked) << "an item makes one episode";
    EXPECT_FALSE(again);
    ASSERT_TRUE(db->With([&](Tx& s) {
                      const auto got = GetFeedItem(s, show.id, "g1");
                      ASSERT_TRUE(got);
                      EXPECT_EQ(got->title, "First, retitled");
                      EXPECT_EQ(got->episode_id, "ep_1") << "an update keeps the episode";
                      EXPECT_EQ(got->first_seen_at, 100);
                      EXPECT_EQ(FeedItemOfEpisode(s, "ep_1")->guid, "g1");
                      EXPECT_EQ(CountFeedItems(s, show.id), 1);
                      EXPECT_TRUE(ShowsDue(s, 4999, 10).empty());
                      EXPECT_EQ(ShowsDue(s, 5000, 10).size(), 1u);
                      EXPECT_TRUE(ShowWithFeed(s, "u1", show.feed_url));
                      EXPECT_FALSE(ShowWithFeed(s, "u2", show.feed_url)) << "another user's";
                  }).ok());
    ShowRow twin = show;
    twin.id = "show_2";
    EXPECT_FALSE(db->InTransaction([&](Tx& s) { InsertShow(s, twin); }).ok()) << "one show per owner and feed";
    ASSERT_TRUE(db->InTransaction([&](Tx& s) { DeleteShow(s, show.id); }).ok());
    ASSERT_TRUE(db->With([&](Tx& s) { EXPECT_EQ(CountFeedItems(s, show.id), 0); }).ok());
}

}  // namespace
}  // namespace podpromo
