// WorkerPool without a server or the pipeline: a real SQLite queue in a temporary directory, and a fake JobRunner
// whose script says what each attempt of a job does. What these check is what an operator sees in the jobs
// table: retries with their backoff, failures that do not retry, cancellation, release at shutdown, a lost lease.
#include "podpromo/jobs/workers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <thread>

#include "fake_file_system.h"
#include "podpromo/jobs/events.h"
#include "podpromo/jobs/job_store.h"
#include "podpromo/store/repositories.h"
#include "testsupport.h"

namespace podpromo {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A runner that does what its script says, attempt by attempt. Success is what the pipeline's runner does: the job
// is finished in the runner's own transaction.
class ScriptedRunner : public JobRunner {
  public:
    using Step = std::function<Status(JobWork& work, int attempt)>;
    ScriptedRunner(Database* db, Step step) : db_(db), step_(std::move(step)) {}

    Status Run(JobWork work, JobWorkResult* out) override {
        const int attempt = ++calls_;
        {
            std::lock_guard<std::mutex> lock(mu_);
            started_.push_back(SteadyClock::now());
        }
        Status st = step_(work, attempt);
        if (!st.ok()) return st;
        out->clips = 1;
        return db_->InTransaction([&](Tx& s) { FinishJob(s, work.job.id, JobState::kSucceeded, "", NowEpochMs()); });
    }
    int calls() const { return calls_; }
    std::vector<SteadyClock::time_point> started() {
        std::lock_guard<std::mutex> lock(mu_);
        return started_;
    }

  private:
    Database* db_;
    Step step_;
    std::atomic<int> calls_{0};
    std::mutex mu_;
    std::vector<SteadyClock::time_point> started_;
};

// Waits (up to 10 s) for the job to be cancelled by someone; what a stage does between its chunks.
Status RunUntilCancelled(JobWork& work) {
    const auto until = SteadyClock::now() + std::chrono::seconds(10);
    while (!work.cancel->cancelled() && SteadyClock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return work.cancel->cancelled() ? Status::Cancelled() : Status::Internal("never cancelled");
}

// A queue whose outcome writes fail while `fail_records` is set, as a database that went away would.
class FlakyStore : public SqlJobStore {
  public:
    using SqlJobStore::SqlJobStore;
    Status Record(const JobRow& job, const JobDecision& d, const std::string& why, DbInt now) override {
        if (fail_records) {
            ++failed;
            return Status::Unavailable("the database went away");
        }
        return SqlJobStore::Record(job, d, why, now);
    }
    std::atomic<bool> fail_records{true};
    std::atomic<int> failed{0};
};

class WorkerPoolTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = testing::OpenTestDatabase(dir_ / "queue.db", 4);
        ASSERT_TRUE(db_);
        auto storage = Storage::Open(dir_ / "data", 0);
        ASSERT_TRUE(storage.ok()) << storage.status().ToString();
        storage_ = std::make_unique<Storage>(std::move(*storage));
        config_.max_concurrent_jobs = 1;
        config_.job_lease_seconds = 3;  // renewed (and lost) within a second
        config_.retry_backoff_seconds = 0.3;
        errors_ = std::make_unique<ErrorAggregator>(db_.get(), &metrics_, 24);
    }
    void TearDown() override {
        if (pool_) pool_->Stop();
    }

    void StartPool(ScriptedRunner::Step step, JobStore* store = nullptr, const podpromo::Clock* clock = nullptr) {
        runner_ = std::make_unique<ScriptedRunner>(db_.get(), std::move(step));
        pool_ = std::make_unique<WorkerPool>(db_.get(), storage_.get(), config_, &events_, &metrics_, errors_.get(),
                                             WorkerSeams{runner_.get(), store, clock});
        pool_->Start();
    }

    // A queued job of a new episode (shaped by `shape`, when given); its id.
    std::string AddJob(int max_attempts = 3, const std::function<void(EpisodeRow&, JobRow&)>& shape = {}) {
        const std::string n = std::to_string(++jobs_);
        EpisodeRow e;
        e.id = "ep" + n;
        e.title = e.filename = e.audio_path = e.checksum = e.format = e.genre = e.platform = "x";
        e.created_at = e.updated_at = NowEpochMs();
        JobRow j;
        j.id = "job" + n;
        j.episode_id = e.id;
        j.max_attempts = max_attempts;
        j.created_at = j.run_after = e.created_at;
        if (shape) shape(e, j);
        EXPECT_TRUE(db_->InTransaction([&](Tx& s) {
                           InsertEpisode(s, e);
                           InsertJob(s, j);
                       })
                        .ok());
        if (pool_) pool_->Wake();
        return j.id;
    }

    JobRow Job(const std::string& id) {
        std::optional<JobRow> job;
        EXPECT_TRUE(db_->With([&](Tx& s) { job = GetJob(s, id); }).ok());
        return job.value_or(JobRow{});
    }
    EpisodeRow EpisodeOf(const std::string& job_id) {
        std::optional<EpisodeRow> e;
        const std::string episode_id = Job(job_id).episode_id;
        EXPECT_TRUE(db_->With([&](Tx& s) { e = GetEpisode(s, episode_id); }).ok());
        return e.value_or(EpisodeRow{});
    }
    // The job once `done` holds, or as it is after 15 s.
    JobRow WaitFor(const std::string& id, const std::function<bool(const JobRow&)>& done) {
        const auto until = SteadyClock::now() + std::chrono::seconds(15);
        JobRow j = Job(id);
        while (!done(j) && SteadyClock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            j = Job(id);
        }
        return j;
    }
    static bool Ended(const JobRow& j) { return IsFinal(j.state); }
    void WaitCalls(int n) {
        const auto until = SteadyClock::now() + std::chrono::seconds(10);
        while (runner_->calls() < n && SteadyClock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ASSERT_GE(runner_->calls(), n);
    }
    std::vector<ErrorGroup> Errors() {
        std::vector<ErrorGroup> groups;
        EXPECT_TRUE(db_->With([&](Tx& s) { groups = ListErrors(s, 0); }).ok());
        return groups;
    }

    testing::TempDir dir_;
    std::unique_ptr<Database> db_;
    std::unique_ptr<testing::LimitedFileSystem> disk_;  // a test's small disk: before the storage that borrows it
    std::unique_ptr<Storage> storage_;
    ServiceConfig config_;
    Metrics metrics_;
    EventBus events_;
    std::unique_ptr<ErrorAggregator> errors_;
    // Seams a test may give the pool: declared before it, so they outlive its threads.
    std::unique_ptr<FlakyStore> flaky_store_;
    std::unique_ptr<ManualClock> manual_clock_;
    std::unique_ptr<ScriptedRunner> runner_;
    std::unique_ptr<WorkerPool> pool_;
    int jobs_ = 0;
};

TEST_F(WorkerPoolTest, ATransientFailureIsRetriedAfterItsBackoffAndThenSucceeds) {
    StartPool([](JobWork&, int attempt) { return attempt == 1 ? Status::IoError("a read failed") : Status::Ok(); });
    const std::string id = AddJob();
    const JobRow j = WaitFor(id, Ended);
    EXPECT_EQ(j.state, JobState::kSucceeded);
    EXPECT_EQ(j.attempts, 2);
    const auto started = runner_->started();
    ASSERT_EQ(started.size(), 2u);
    EXPECT_GE(started[1] - started[0], std::chrono::milliseconds(300)) << "the retry waits its backoff";
    const auto groups = Errors();
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].kind, "io_error");
    EXPECT_EQ(groups[0].sample, "a read failed");
}

TEST_F(WorkerPoolTest, AThrowingRunnerIsATransientFailureNotACrash) {
    StartPool([](JobWork&, int attempt) -> Status {
        if (attempt == 1) throw std::runtime_error("a library's bug");
        return Status::Ok();
    });
    const JobRow j = WaitFor(AddJob(), Ended);
    EXPECT_EQ(j.state, JobState::kSucceeded);
    EXPECT_EQ(j.attempts, 2);
}

TEST_F(WorkerPoolTest, AJobOutOfAttemptsEndsFailedWithItsReason) {
    StartPool([](JobWork&, int) { return Status::Unavailable("the engine is down"); });
    const std::string id = AddJob(/*max_attempts=*/2);
    const JobRow j = WaitFor(id, Ended);
    EXPECT_EQ(j.state, JobState::kFailed);
    EXPECT_EQ(j.attempts, 2);
    EXPECT_EQ(j.error, "the engine is down");
    EXPECT_EQ(runner_->calls(), 2);
    EXPECT_EQ(EpisodeOf(id).status, EpisodeStatus::kFailed);
}

TEST_F(WorkerPoolTest, BadInputAndAFullDiskFailAtOnce) {
    StartPool([](JobWork& w, int) {
        return w.job.id == "job1" ? Status::InvalidInput("not audio") : Status::NoSpace("the disk is full");
    });
    const std::string bad = AddJob(), full = AddJob();
    for (const auto& [id, why] : {std::pair{bad, "not audio"}, {full, "the disk is full"}}) {
        const JobRow j = WaitFor(id, Ended);
        EXPECT_EQ(j.state, JobState::kFailed) << id;
        EXPECT_EQ(j.attempts, 1) << id << ": no retry";
        EXPECT_EQ(j.error, why);
        EXPECT_EQ(EpisodeOf(id).error, why);
    }
    EXPECT_GT(storage_->last_no_space_ms(), 0) << "the full disk is noted for /health";
}

// The pipeline's own runner (no fake), on an episode whose transcript is stored as a job resumed after recognition
// has it: the disk fills while the job writes its analysis. The job fails at once with the reason, the episode says
// so, /health hears of it, and no partial file is left.
TEST_F(WorkerPoolTest, TheRealRunnerOnADiskThatFillsMidWriteFailsCleanly) {
    disk_ = std::make_unique<testing::LimitedFileSystem>(1000);  // frames.bin alone is ~100 kB
    auto storage = Storage::Open(dir_ / "small-disk", 0, disk_.get());
    ASSERT_TRUE(storage.ok()) << storage.status().ToString();
    storage_ = std::make_unique<Storage>(std::move(*storage));
    std::filesystem::create_directories(storage_->root() / "uploads" / "ep1");
    testing::WriteWav(testing::Tone(40), storage_->root() / "uploads" / "ep1" / "tone.wav");
    const std::string id = AddJob(3, [](EpisodeRow& e, JobRow& j) {
        e.audio_path = "uploads/ep1/tone.wav";
        e.genre = "auto";
        e.platform = "tiktok";
        e.render_options = "{}";
        j.checkpoint = Checkpoint::kTranscribed;
    });
    Transcript t;
    t.engine = "test";
    for (Ms at = 0; at + 4000 <= 40000; at += 4000) {
        Segment seg;
        seg.start_ms = at;
        seg.end_ms = at + 3000;
        seg.text = "People always remember the stories we tell them.";
        for (Ms w = 0; w < 8; ++w) seg.words.push_back({"word", at + w * 350, at + w * 350 + 300, 1.0});
        t.segments.push_back(seg);
    }
    ASSERT_TRUE(db_->InTransaction([&](Tx& s) { ReplaceTranscript(s, "ep1", t); }).ok());

    pool_ = std::make_unique<WorkerPool>(db_.get(), storage_.get(), config_, &events_, &metrics_, errors_.get());
    pool_->Start();
    const JobRow j = WaitFor(id, Ended);
    EXPECT_EQ(j.state, JobState::kFailed);
    EXPECT_EQ(j.attempts, 1) << "a full disk is not retried";
    EXPECT_NE(j.error.find("frames.bin: no space left on device"), std::string::npos) << j.error;
    EXPECT_EQ(EpisodeOf(id).status, EpisodeStatus::kFailed);
    EXPECT_GT(storage_->last_no_space_ms(), 0) << "the full disk is noted for /health";
    EXPECT_GE(disk_->no_space_failures(), 1);
    EXPECT_EQ(disk_->used_bytes(), 0) << "the part that fitted was removed";
    for (const auto& e : std::filesystem::recursive_directory_iterator(storage_->root() / "episodes"))
        EXPECT_FALSE(e.is_regular_file()) << "left behind: " << e.path();
}

TEST_F(WorkerPoolTest, ACancelRequestStopsTheRunningJob) {
    StartPool([](JobWork& w, int) { return RunUntilCancelled(w); });
    const std::string id = AddJob();
    WaitCalls(1);
    ASSERT_TRUE(db_->With([&](Tx& s) { RequestCancel(s, id, NowEpochMs()); }).ok());
    const JobRow j = WaitFor(id, [](const JobRow& r) { return r.state == JobState::kCancelled; });
    EXPECT_EQ(j.state, JobState::kCancelled);
    EXPECT_EQ(j.error, "cancelled by request");
    EXPECT_EQ(EpisodeOf(id).status, EpisodeStatus::kCancelled);
    EXPECT_EQ(runner_->calls(), 1);
}

TEST_F(WorkerPoolTest, StoppingReleasesTheRunningJobWithoutUsingAnAttempt) {
    StartPool([](JobWork& w, int) { return RunUntilCancelled(w); });
    const std::string id = AddJob(/*max_attempts=*/1);
    WaitCalls(1);
    EXPECT_TRUE(pool_->Stop());
    const JobRow j = Job(id);
    EXPECT_EQ(j.state, JobState::kQueued) << "back in the queue for the next start";
    EXPECT_EQ(j.attempts, 0) << "even on its last attempt";
    EXPECT_EQ(EpisodeOf(id).status, EpisodeStatus::kQueued);
    EXPECT_TRUE(Errors().empty()) << "a release is not an error";
}

TEST_F(WorkerPoolTest, ALostLeaseLeavesTheJobToItsNewOwner) {
    std::atomic<bool> saw_lost{false};
    StartPool([&](JobWork& w, int) {
        Status st = RunUntilCancelled(w);
        saw_lost = w.cancel->cancelled();
        return st;
    });
    const std::string id = AddJob();
    WaitCalls(1);
    // Another worker took the job over (this one was paused past its lease, say).
    ASSERT_TRUE(testing::ExecSql(db_.get(),
                                 "UPDATE jobs SET lease_owner = 'elsewhere:1:w', lease_epoch = lease_epoch + 1"
                                 " WHERE id = '" +
                                     id + "'")
                    .ok());
    const auto until = SteadyClock::now() + std::chrono::seconds(10);
    while (pool_->running() > 0 && SteadyClock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(pool_->running(), 0) << "the worker gave the job up";
    EXPECT_TRUE(saw_lost) << "the runner was stopped";
    const JobRow j = Job(id);
    EXPECT_EQ(j.state, JobState::kRunning) << "the row is the new owner's";
    EXPECT_EQ(j.lease_owner, "elsewhere:1:w");
    EXPECT_EQ(j.attempts, 1);
    EXPECT_TRUE(Errors().empty());
}

// An outcome that cannot be written leaves the job to its lease: the worker goes on, and once the lease runs out the
// job is taken again (that attempt counted) and its outcome recorded.
TEST_F(WorkerPoolTest, AnOutcomeThatCannotBeWrittenIsLeftToTheLease) {
    flaky_store_ = std::make_unique<FlakyStore>(db_.get());
    FlakyStore& store = *flaky_store_;
    StartPool(
        [&](JobWork&, int attempt) {
            if (attempt == 2) store.fail_records = false;  // the database is back for the second attempt's outcome
            return attempt == 1 ? Status::InvalidInput("not audio") : Status::InvalidInput("still not audio");
        },
        &store);
    const std::string id = AddJob(3);
    WaitCalls(1);
    const JobRow j = WaitFor(id, Ended);
    EXPECT_EQ(j.state, JobState::kFailed);
    EXPECT_EQ(j.error, "still not audio");
    EXPECT_EQ(runner_->calls(), 2) << "taken again once its lease ran out";
    EXPECT_EQ(j.attempts, 2);
    EXPECT_EQ(store.failed, 1);
}

// The pool reads time from its clock: a retry waits for its backoff on that clock, however long the wall clock runs.
TEST_F(WorkerPoolTest, ARetryWaitsForItsBackoffOnThePoolsClock) {
    manual_clock_ =
        std::make_unique<ManualClock>(NowEpochMs() + 60000);  // ahead of the wall clock, which stamps the job
    ManualClock& clock = *manual_clock_;
    StartPool([](JobWork&, int attempt) { return attempt == 1 ? Status::IoError("disk hiccup") : Status::Ok(); },
              nullptr, &clock);
    const std::string id = AddJob();
    WaitCalls(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    EXPECT_EQ(runner_->calls(), 1) << "the backoff (0.3 s) has not passed on the pool's clock";
    EXPECT_EQ(Job(id).state, JobState::kQueued);
    clock.Advance(400);
    pool_->Wake();
    EXPECT_EQ(WaitFor(id, Ended).state, JobState::kSucceeded);
    EXPECT_EQ(runner_->calls(), 2);
}

}  // namespace
}  // namespace podpromo
