#include "podpromo/jobs/workers.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"
#include "podpromo/jobs/outcome.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/jobs/results.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/monitor/log.h"

namespace podpromo {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Where each stage sits in a job's overall progress (in Stage's order).
double OverallProgress(Stage stage, double f) {
    struct Span {
        double from, to;
    };
    // (A download comes before the probe and shares its start: most jobs have none.)
    static constexpr Span kSpans[] = {{0, 0.01},   {0, 0.01},   {0.01, 0.05}, {0.05, 0.08},
                                      {0.08, 0.7}, {0.7, 0.72}, {0.72, 0.99}, {0.99, 1.0}};
    static_assert(std::size(kSpans) == EnumNames<Stage>::kNames.size());
    const Span& span = kSpans[static_cast<size_t>(stage)];
    return span.from + (span.to - span.from) * std::clamp(f, 0.0, 1.0);
}

// The exception boundary of a job: whatever a stage throws (a library's bug, a malformed value that got past
// validation) fails this job with its reason, as a transient failure, so it is retried until its attempts run out;
// it never ends the worker thread or the process.
template <typename Fn>
Status Guarded(Fn&& fn) {
    try {
        return fn();
    } catch (const std::exception& e) {
        return Status::Internal(std::string("unexpected error: ") + e.what());
    } catch (...) {
        return Status::Internal("unexpected error");
    }
}

}  // namespace

JobProgress::JobProgress(JobStore* store, EventBus* events, const JobRow& job, std::function<void()> on_fenced)
    : store_(store),
      events_(events),
      job_(job),
      on_fenced_(std::move(on_fenced)),
      last_write_(std::chrono::steady_clock::now() - std::chrono::seconds(10)) {}

void JobProgress::operator()(Stage stage, double f) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    const auto start = stage_start_.try_emplace(stage, now).first->second;
    stage_ms_[stage] = std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count();
    if (last_ == stage && f < 1.0 && now - last_write_ < std::chrono::milliseconds(500)) return;
    last_ = stage;
    last_write_ = now;
    const double overall = job_.kind == JobKind::kRender ? 0.99 * std::clamp(f, 0.0, 1.0) : OverallProgress(stage, f);
    json sm = json::object();
    for (const auto& [k, v] : stage_ms_) sm[std::string(Name(k))] = v;
    const std::string name(Name(stage));
    // A lost progress row is only logged: the job goes on, and its next report writes the row again.
    const Status written = store_->SetProgress(job_, name, overall, DumpJson(sm));
    if (IsFenced(written)) {
        if (on_fenced_) on_fenced_();
        return;  // nothing of this run is announced any more
    }
    LogIfFailed(written, "recording a job's progress", {{"job_id", job_.id}});
    events_->Publish(JobEvent(job_.id, job_.episode_id, "running", name, overall, ""));
}

std::optional<std::string> JobProgress::last_stage() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!last_) return std::nullopt;
    return std::string(Name(*last_));
}

std::map<Stage, Ms> JobProgress::stage_ms() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stage_ms_;
}

WorkerPool::WorkerPool(Database* db, const Storage* storage, const ServiceConfig& config, EventBus* events,
                       Metrics* metrics, ErrorAggregator* errors, WorkerSeams seams)
    : storage_(storage),
      config_(config),
      events_(events),
      metrics_(metrics),
      errors_(errors),
      runner_(seams.runner),
      store_(seams.store),
      clock_(seams.clock ? seams.clock : &SystemClock()) {
    if (runner_ == nullptr) {
        own_runner_ = std::make_unique<PipelineJobRunner>(db, storage, config);
        runner_ = own_runner_.get();
    }
    if (store_ == nullptr) {
        own_store_ = std::make_unique<SqlJobStore>(db);
        store_ = own_store_.get();
    }
    metrics_->Describe("podpromo_episodes_processed_total", "counter", "Episodes processed to ranked clips.");
    metrics_->Describe("podpromo_clips_generated_total", "counter", "Clips made (ranked, and spans people chose).");
    metrics_->Describe("podpromo_asr_real_time_factor", "histogram",
                       "Recognition time divided by the audio's duration, per episode.");
    metrics_->Describe("podpromo_job_wait_seconds", "histogram", "Time jobs waited in the queue.");
    metrics_->Describe("podpromo_job_run_seconds", "histogram", "Time jobs ran, by outcome.");
    metrics_->Describe(
        "podpromo_job_rescues_total", "counter",
        "Running jobs put back in the queue (or failed) because their worker stopped renewing the lease.");
    metrics_->Describe("podpromo_fenced_writes_total", "counter",
                       "Writes of a job's effects refused because its lease had passed to another worker.");
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    owner_ = fmt::format("{}:{}:{}", host, getpid(), NewId("w"));
}

WorkerPool::~WorkerPool() { Stop(); }

int WorkerPool::RecoverLocalOrphans() {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    const std::string prefix = std::string(host) + ":";
    auto dead = [&](const std::string& owner) {
        if (owner.rfind(prefix, 0) != 0) return false;  // another host's: its lease runs out
        const auto colon = owner.find(':', prefix.size());
        const pid_t pid = static_cast<pid_t>(ParseInt(owner.substr(prefix.size(), colon - prefix.size())).value_or(0));
        return !(pid > 0 && pid != getpid() && kill(pid, 0) == 0);  // unless that worker is alive
    };
    auto recovered = store_->ReleaseDeadWorkers(dead, clock_->NowMs());
    // (Not fatal: their leases run out, and the lease keeper recovers them then.)
    LogIfFailed(recovered.status(), "recovering the jobs of this host's dead workers");
    if (recovered.ok() && *recovered > 0) metrics_->Increment("podpromo_job_rescues_total", {}, *recovered);
    return recovered.ok() ? *recovered : 0;
}

void WorkerPool::Start() {
    for (int i = 0; i < config_.max_concurrent_jobs; ++i) threads_.emplace_back([this] { Loop(); });
    threads_.emplace_back([this] { KeepLeases(); });
}

void WorkerPool::Wake() { wake_.notify_all(); }

bool WorkerPool::Stop(std::chrono::milliseconds deadline) {
    if (!stopping_.exchange(true)) {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [id, a] : active_) a->cancel.Cancel();
    }
    wake_.notify_all();
    const auto until = std::chrono::steady_clock::now() + deadline;
    {
        std::unique_lock<std::mutex> lock(mu_);
        while (running_ > 0 && std::chrono::steady_clock::now() < until) {
            wake_.wait_for(lock, std::chrono::milliseconds(50));
        }
    }
    if (running_ > 0) {
        // A stage that does not check often enough (one long recognition chunk): release its job here.
        std::vector<std::pair<std::string, DbInt>> held;
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (auto& [id, a] : active_) held.emplace_back(id, a->lease_epoch);
        }
        LogIfFailed(store_->Release(held, clock_->NowMs()),
                    "releasing the jobs still running at shutdown (their leases will run out)");
        for (auto& t : threads_) {
            if (t.joinable()) t.detach();
        }
        return false;
    }
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    return true;
}

void WorkerPool::PublishJob(const std::string& job_id, const std::string& episode_id, const std::string& state,
                            const std::string& stage, double progress, const std::string& error) {
    events_->Publish(JobEvent(job_id, episode_id, state, stage, progress, error));
}

void WorkerPool::Loop() {
    // Jobs run below the HTTP threads' priority (and the recogniser threads and ffmpeg processes they start
    // inherit it), so the API stays responsive while episodes are processed.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
    while (!stopping_) {
        const DbInt now = clock_->NowMs();
        auto job = store_->Claim(owner_, now, now + config_.job_lease_seconds * 1000LL);
        if (!job.ok()) errors_->Report(ErrorKind(job.status().code()), "queue", job.status().message());
        if (job.ok() && *job) {
            RunJob(**job);
            continue;
        }
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait_for(lock, std::chrono::milliseconds(500));
    }
}

void WorkerPool::KeepLeases() {
    auto last_renew = std::chrono::steady_clock::now();
    while (!stopping_) {
        {
            std::unique_lock<std::mutex> lock(mu_);
            wake_.wait_for(lock, std::chrono::milliseconds(500));
        }
        std::vector<std::shared_ptr<Active>> active;
        std::vector<std::string> ids;
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (auto& [id, a] : active_) active.push_back(a), ids.push_back(id);
        }
        const bool renew = std::chrono::steady_clock::now() - last_renew >
                           std::chrono::milliseconds(config_.job_lease_seconds * 1000 / 3);
        const DbInt now = clock_->NowMs();
        const auto until = renew ? std::optional<DbInt>(now + config_.job_lease_seconds * 1000LL) : std::nullopt;
        auto check = store_->CheckLeases(ids, owner_, until, now);
        // A lease that cannot be renewed now is tried again in half a second, well within its term.
        LogIfFailed(check.status(), "renewing job leases");
        if (check.ok()) {
            for (const auto& a : active) {
                if (check->cancel_requested.count(a->job_id)) a->cancel.Cancel();
                if (check->lost.count(a->job_id)) Fence(*a, "lease");
            }
            if (check->recovered > 0) {
                metrics_->Increment("podpromo_job_rescues_total", {}, check->recovered);
                wake_.notify_all();
            }
        }
        if (renew) last_renew = std::chrono::steady_clock::now();
    }
}

std::shared_ptr<WorkerPool::Active> WorkerPool::Register(const JobRow& job) {
    auto active = std::make_shared<Active>();
    active->job_id = job.id;
    active->lease_epoch = job.lease_epoch;
    {
        std::lock_guard<std::mutex> lock(mu_);
        active_[job.id] = active;
        if (stopping_) active->cancel.Cancel();
    }
    ++running_;
    return active;
}

void WorkerPool::Unregister(const std::string& job_id) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        active_.erase(job_id);
    }
    --running_;
    wake_.notify_all();
}

void WorkerPool::Fence(Active& active, const char* write) {
    metrics_->Increment("podpromo_fenced_writes_total", {{"write", write}});
    if (!active.lost_lease.exchange(true)) {
        Log(LogLevel::kWarn, "the job's lease passed to another worker: this run stops and writes nothing more",
            {{"job_id", active.job_id}, {"epoch", active.lease_epoch}, {"write", write}});
    }
    active.cancel.Cancel();
}

void WorkerPool::RunJob(const JobRow& job) {
    const auto active = Register(job);
    const auto started = std::chrono::steady_clock::now();
    metrics_->Observe("podpromo_job_wait_seconds", {}, static_cast<double>(job.started_at - job.created_at) / 1000.0,
                      Metrics::DurationBuckets());
    JobProgress progress(store_, events_, job, [this, active] { Fence(*active, "progress"); });
    JobWorkResult result;
    JobRun run;
    run.kind = job.kind;
    run.status = Execute(job, progress, active.get(), &result);
    if (IsFenced(run.status)) Fence(*active, "results");
    // A success was committed under the job's fence, so the lease was held then, whatever a later write found.
    run.lost_lease = !run.status.ok() && active->lost_lease;
    run.stopping = stopping_;
    run.attempts = job.attempts;
    run.max_attempts = job.max_attempts;
    const JobDecision decision = DecideOutcome(run, config_.retry_backoff_seconds);
    ObserveStages(job, progress, run.status, result);
    // The stage a failure belongs to: the last one that reported progress.
    const std::string stage = progress.last_stage().value_or(job.kind == JobKind::kRender ? "render" : "probe");
    Apply(job, decision, run.status, stage, result.clips);
    const double seconds =
        static_cast<double>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()) /
        1000.0;
    const std::string outcome(Name(decision.outcome));
    metrics_->Increment("podpromo_jobs_finished_total", {{"outcome", outcome}});
    Log(decision.outcome == JobOutcome::kFailed ? LogLevel::kWarn : LogLevel::kInfo, "job finished",
        {{"job_id", job.id},
         {"episode_id", job.episode_id},
         {"kind", Name(job.kind)},
         {"outcome", outcome},
         {"duration_ms", static_cast<int64_t>(seconds * 1000)},
         {"error", run.status.ok() ? "" : run.status.message()}});
    metrics_->Observe("podpromo_job_run_seconds", {{"outcome", outcome}}, seconds, Metrics::DurationBuckets());
    Unregister(job.id);
}

Status WorkerPool::Execute(const JobRow& job, JobProgress& progress, Active* active, JobWorkResult* result) {
    const bool render = job.kind == JobKind::kRender;
    auto start = store_->Start(job);
    Status st = start.status();
    if (st.ok() && !start->episode) st = Status::NotFound("the job's episode is gone");
    PublishJob(job.id, job.episode_id, "running",
               render                                ? "render"
               : job.checkpoint == Checkpoint::kNone ? "probe"
                                                     : "resume",
               0);
    Log(LogLevel::kInfo, "job started",
        {{"job_id", job.id}, {"episode_id", job.episode_id}, {"kind", Name(job.kind)}, {"attempt", job.attempts}});
    if (!st.ok()) return st;
    JobWork work{job, *start->episode, std::move(start->transcript),
                 [&progress](Stage stage, double f) { progress(stage, f); }, &active->cancel};
    return Guarded([&] { return runner_->Run(std::move(work), result); });
}

void WorkerPool::ObserveStages(const JobRow& job, const JobProgress& progress, const Status& st,
                               const JobWorkResult& result) {
    const auto stage_ms = progress.stage_ms();
    for (const auto& [stage, ms] : stage_ms) {
        metrics_->Observe("podpromo_stage_duration_seconds", {{"stage", std::string(Name(stage))}},
                          static_cast<double>(ms) / 1000.0, Metrics::DurationBuckets());
    }
    const auto transcribe = stage_ms.find(Stage::kTranscribe);
    if (st.ok() && job.kind == JobKind::kProcess && transcribe != stage_ms.end() && result.duration_ms > 0) {
        metrics_->Observe("podpromo_asr_real_time_factor", {},
                          static_cast<double>(transcribe->second) / static_cast<double>(result.duration_ms),
                          {0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5});
    }
}

void WorkerPool::Apply(const JobRow& job, const JobDecision& d, const Status& st, const std::string& stage,
                       double clips) {
    if (d.outcome == JobOutcome::kLostLease) return;  // another worker owns it now: touch nothing
    if (d.outcome == JobOutcome::kSucceeded) {
        if (job.kind == JobKind::kProcess) metrics_->Increment("podpromo_episodes_processed_total");
        metrics_->Increment("podpromo_clips_generated_total", {}, clips);
        PublishJob(job.id, job.episode_id, "succeeded", "done", 1);
        return;
    }
    const nlohmann::json fields = {{"job_id", job.id}, {"episode_id", job.episode_id}, {"attempt", job.attempts}};
    if (d.report_error) errors_->Report(ErrorKind(st.code()), stage, st.message(), fields);
    if (d.outcome == JobOutcome::kFailed && st.code() == StatusCode::kNoSpace) storage_->NoteNoSpace();
    // Nothing to remove on a cancel: WriteOutputs stages its files and drops them when stopped, so earlier outputs
    // (of a job that succeeded before) stay as the database describes them.
    const std::string why = d.outcome == JobOutcome::kReleased    ? ""
                            : d.outcome == JobOutcome::kCancelled ? "cancelled by request"
                                                                  : st.message();
    const Status recorded = store_->Record(job, d, why, clock_->NowMs());
    if (IsFenced(recorded)) {
        metrics_->Increment("podpromo_fenced_writes_total", {{"write", "outcome"}});
        Log(LogLevel::kWarn, "a job's outcome was not written: its lease passed to another worker",
            {{"job_id", job.id}, {"epoch", job.lease_epoch}});
        return;
    }
    LogIfFailed(recorded, "recording the job's outcome", {{"job_id", job.id}, {"outcome", Name(d.outcome)}});
    const bool with_error = d.outcome == JobOutcome::kRetry || d.outcome == JobOutcome::kFailed;
    PublishJob(job.id, job.episode_id, std::string(Name(d.job_state.value_or(JobState::kFailed))),
               std::string(Name(d.outcome)), 0, with_error ? why : "");
}

}  // namespace podpromo
