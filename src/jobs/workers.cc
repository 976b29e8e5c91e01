#include "podpromo/jobs/workers.h"

#include <fmt/format.h>
#include <signal.h>
#include <soci/soci.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/jobs/results.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/monitor/log.h"

namespace podpromo {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Where each stage sits in a job's overall progress.
double OverallProgress(std::string_view stage, double f) {
    struct Span {
        const char* name;
        double from, to;
    };
    static const Span spans[] = {{"probe", 0, 0.01},        {"decode", 0.01, 0.05}, {"analyze", 0.05, 0.08},
                                 {"transcribe", 0.08, 0.7}, {"score", 0.7, 0.72},   {"render", 0.72, 0.99},
                                 {"write", 0.99, 1.0}};
    for (const auto& s : spans) {
        if (stage == s.name) return s.from + (s.to - s.from) * std::clamp(f, 0.0, 1.0);
    }
    return 0;
}

// A full disk is not transient: it fails the job at once with its reason rather than retrying into it.
bool Transient(const Status& st) {
    return st.code() == StatusCode::kIoError || st.code() == StatusCode::kUnavailable ||
           st.code() == StatusCode::kInternal;
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

WorkerPool::WorkerPool(Database* db, const Storage* storage, const ServiceConfig& config, EventBus* events,
                       Metrics* metrics, ErrorAggregator* errors)
    : db_(db), storage_(storage), config_(config), events_(events), metrics_(metrics), errors_(errors) {
    metrics_->Describe("podpromo_episodes_processed_total", "counter", "Episodes processed to ranked clips.");
    metrics_->Describe("podpromo_clips_generated_total", "counter", "Clips made (ranked, and spans people chose).");
    metrics_->Describe("podpromo_asr_real_time_factor", "histogram",
                       "Recognition time divided by the audio's duration, per episode.");
    metrics_->Describe("podpromo_job_wait_seconds", "histogram", "Time jobs waited in the queue.");
    metrics_->Describe("podpromo_job_run_seconds", "histogram", "Time jobs ran, by outcome.");
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    owner_ = fmt::format("{}:{}:{}", host, getpid(), NewId("w"));
}

WorkerPool::~WorkerPool() { Stop(); }

int WorkerPool::RecoverLocalOrphans() {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    const std::string prefix = std::string(host) + ":";
    int recovered = 0;
    (void)db_->InTransaction([&](soci::session& s) {
        for (const auto& [job_id, owner] : RunningJobOwners(s)) {
            if (owner.rfind(prefix, 0) != 0) continue;
            const auto colon = owner.find(':', prefix.size());
            const pid_t pid = static_cast<pid_t>(std::atol(owner.substr(prefix.size(), colon - prefix.size()).c_str()));
            if (pid > 0 && pid != getpid() && kill(pid, 0) == 0) continue;  // that worker is alive
            recovered += ReleaseDeadWorkersJob(s, job_id, NowEpochMs()) ? 1 : 0;
        }
    });
    return recovered;
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
        std::vector<std::string> ids;
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (auto& [id, a] : active_) ids.push_back(id);
        }
        (void)db_->InTransaction([&](soci::session& s) {
            for (const auto& id : ids) RequeueJob(s, id, "", NowEpochMs(), /*count_attempt=*/false);
        });
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
        std::optional<JobRow> job;
        const DbInt now = NowEpochMs();
        const Status st = db_->InTransaction(
            [&](soci::session& s) { job = ClaimNextJob(s, owner_, now, now + config_.job_lease_seconds * 1000LL); });
        if (!st.ok()) errors_->Report(ErrorKind(st.code()), "queue", st.message());
        if (job) {
            RunJob(*job);
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
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (auto& [id, a] : active_) active.push_back(a);
        }
        const bool renew = std::chrono::steady_clock::now() - last_renew >
                           std::chrono::milliseconds(config_.job_lease_seconds * 1000 / 3);
        const DbInt now = NowEpochMs();
        (void)db_->With([&](soci::session& s) {
            for (const auto& a : active) {
                if (CancelRequested(s, a->job_id)) a->cancel.Cancel();
                if (renew && !RenewLease(s, a->job_id, owner_, now + config_.job_lease_seconds * 1000LL)) {
                    a->lost_lease = true;
                    a->cancel.Cancel();
                }
            }
            // Jobs of workers that died (this process's or another's) go back to the queue. Checked as often
            // as leases are renewed: a lease cannot expire faster than that.
            if (renew && RecoverExpiredJobs(s, now) > 0) wake_.notify_all();
        });
        if (renew) last_renew = std::chrono::steady_clock::now();
    }
}

Status WorkerPool::RunRenderJob(const JobRow& job, const EpisodeRow& episode, std::optional<Transcript> transcript,
                                const ProgressFn& progress, Active* active) {
    if (!transcript) return Status::InvalidInput("the episode has no transcript to make a clip from");
    PODPROMO_RETURN_IF_ERROR(storage_->CheckRoom(0));
    auto request = SpanRequestFromJson(json::parse(job.payload, nullptr, false));
    if (!request.ok()) return request.status();
    auto row = RenderSpan(*storage_, episode, std::move(*transcript), *request, progress, &active->cancel);
    if (!row.ok()) return row.status();
    Status st = db_->InTransaction([&](soci::session& s) {
        if (active->lost_lease) return;
        // Ranked after the clips stored by now (another render of the episode may have finished meanwhile).
        row->clip_rank = static_cast<int>(ListClips(s, episode.id).size()) + 1;
        InsertClip(s, *row);
        FinishJob(s, job.id, "succeeded", "", NowEpochMs());
    });
    if (!st.ok() || active->lost_lease) RemoveSpanFiles(*storage_, episode.id, request->clip_id);
    return st;
}

Status WorkerPool::RunProcessJob(const JobRow& job, const EpisodeRow& episode, std::optional<Transcript> transcript,
                                 const ProgressFn& progress, Active* active, EpisodeResult* out) {
    PipelineOptions options;
    options.genre = episode.genre;
    options.platform = episode.platform;
    options.clips = episode.clip_count;
    options.title = episode.title;
    options.asr.threads = config_.asr_threads;
    options.max_episode_ms = Ms{config_.max_episode_seconds} * 1000;
    // The vocabulary hint: the upload's own, else the service's.
    const JobVocabulary vocabulary = JobVocabularyOf(job);
    options.show = vocabulary.show.value_or(config_.asr.show_name);
    options.terms = vocabulary.terms ? *vocabulary.terms : ParseTerms(config_.asr.terms);
    if (config_.asr.engine != "pocketsphinx") options.whisper = WhisperConfigFrom(config_.asr);
    if (transcript) options.given_transcript = std::move(transcript);
    const bool had_transcript = options.given_transcript.has_value();
    options.on_transcribed = [&](const Transcript& t) -> Status {
        if (had_transcript) return Status::Ok();
        return db_->InTransaction([&](soci::session& s) {
            ReplaceTranscript(s, job.episode_id, t);
            SetJobCheckpoint(s, job.id, "transcribed");
        });
    };
    auto path = storage_->Resolve(episode.audio_path);
    if (!path.ok()) return path.status();
    auto analysed = AnalyzeEpisode(*path, options, progress, &active->cancel);
    if (!analysed.ok()) return analysed.status();
    EpisodeResult& result = *out;
    result = std::move(*analysed);
    result.id = episode.id;
    result.source = *path;
    const fs::path dir = storage_->EpisodeDir(episode.id);
    std::error_code ec;
    fs::create_directories(dir, ec);
    PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / "frames.bin", SerializeFrames(*result.frames)));
    auto media = MediaOptionsFromJson(json::parse(episode.render_options, nullptr, false), episode.platform);
    if (!media.ok()) return media.status();
    media->cover = EpisodeCover(*storage_, episode);
    // The quota is checked again before rendering: other uploads may have filled it since this one came.
    PODPROMO_RETURN_IF_ERROR(storage_->CheckRoom(0));
    PODPROMO_RETURN_IF_ERROR(WriteOutputs(&result, dir / "out", *media, progress, &active->cancel));
    const auto rel_dir = fs::relative(dir / "out", storage_->root()).string();
    EpisodeRow updated = episode;
    FillEpisodeAnalysis(result, &updated);
    updated.status = "ready";
    updated.updated_at = NowEpochMs();
    const auto clips = ClipRowsFromResult(result, rel_dir);
    return db_->InTransaction([&](soci::session& s) {
        if (active->lost_lease) return;
        ReplaceClips(s, episode.id, clips);
        SetEpisodeAnalysis(s, updated);
        FinishJob(s, job.id, "succeeded", "", NowEpochMs());
    });
}

void WorkerPool::RunJob(const JobRow& job) {
    auto active = std::make_shared<Active>();
    active->job_id = job.id;
    {
        std::lock_guard<std::mutex> lock(mu_);
        active_[job.id] = active;
        if (stopping_) active->cancel.Cancel();
    }
    ++running_;
    const auto started = std::chrono::steady_clock::now();
    metrics_->Observe("podpromo_job_wait_seconds", {}, static_cast<double>(job.started_at - job.created_at) / 1000.0,
                      Metrics::DurationBuckets());

    // A "render" job makes one clip of a ready episode and leaves the episode's own state alone.
    const bool render = job.kind == "render";
    std::optional<EpisodeRow> episode;
    std::optional<Transcript> stored_transcript;
    Status st = db_->InTransaction([&](soci::session& s) {
        episode = GetEpisode(s, job.episode_id);
        if (episode && !render) SetEpisodeStatus(s, episode->id, "processing", "");
        if (render || !job.checkpoint.empty()) stored_transcript = LoadTranscript(s, job.episode_id);
    });
    if (st.ok() && !episode) st = Status::NotFound("the job's episode is gone");
    PublishJob(job.id, job.episode_id, "running", render ? "render" : job.checkpoint.empty() ? "probe" : "resume", 0);
    Log(LogLevel::kInfo, "job started",
        {{"job_id", job.id}, {"episode_id", job.episode_id}, {"kind", job.kind}, {"attempt", job.attempts}});

    // Progress: from many threads; written to the database at most twice a second.
    std::mutex progress_mu;
    std::string last_stage;
    auto last_write = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    std::map<std::string, Ms> stage_ms;
    std::map<std::string, std::chrono::steady_clock::time_point> stage_start;
    auto progress = [&](std::string_view stage, double f) {
        std::lock_guard<std::mutex> lock(progress_mu);
        const auto now = std::chrono::steady_clock::now();
        const std::string name(stage);
        if (!stage_start.count(name)) stage_start[name] = now;
        stage_ms[name] = std::chrono::duration_cast<std::chrono::milliseconds>(now - stage_start[name]).count();
        if (name == last_stage && f < 1.0 && now - last_write < std::chrono::milliseconds(500)) return;
        last_stage = name;
        last_write = now;
        const double overall = render ? 0.99 * std::clamp(f, 0.0, 1.0) : OverallProgress(stage, f);
        json sm = json::object();
        for (const auto& [k, v] : stage_ms) sm[k] = v;
        (void)db_->With([&](soci::session& s) { SetJobProgress(s, job.id, name, overall, DumpJson(sm)); });
        PublishJob(job.id, job.episode_id, "running", name, overall);
    };

    EpisodeResult result;
    if (st.ok()) {
        st = Guarded([&] {
            return render ? RunRenderJob(job, *episode, std::move(stored_transcript), progress, active.get())
                          : RunProcessJob(job, *episode, std::move(stored_transcript), progress, active.get(), &result);
        });
    }

    const double seconds =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count() /
        1000.0;
    for (const auto& [stage, ms] : stage_ms) {
        metrics_->Observe("podpromo_stage_duration_seconds", {{"stage", stage}}, static_cast<double>(ms) / 1000.0,
                          Metrics::DurationBuckets());
    }
    if (st.ok() && !render && stage_ms.count("transcribe") && result.duration_ms > 0) {
        metrics_->Observe("podpromo_asr_real_time_factor", {},
                          static_cast<double>(stage_ms["transcribe"]) / static_cast<double>(result.duration_ms),
                          {0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5});
    }
    const DbInt now = NowEpochMs();
    // The stage a failure belongs to: the last one that reported progress.
    const std::string failed_stage = !last_stage.empty() ? last_stage : render ? "render" : "probe";
    std::string outcome;
    if (active->lost_lease) {
        outcome = "lost_lease";  // another worker owns it now: touch nothing
    } else if (st.ok()) {
        outcome = "succeeded";
        if (!render) metrics_->Increment("podpromo_episodes_processed_total");
        metrics_->Increment("podpromo_clips_generated_total", {},
                            render ? 1.0 : static_cast<double>(result.clips.size()));
        PublishJob(job.id, job.episode_id, "succeeded", "done", 1);
    } else if (st.code() == StatusCode::kCancelled && stopping_) {
        outcome = "released";
        (void)db_->InTransaction([&](soci::session& s) {
            RequeueJob(s, job.id, "", now, /*count_attempt=*/false);
            if (!render) SetEpisodeStatus(s, job.episode_id, "queued", "");
        });
        PublishJob(job.id, job.episode_id, "queued", "released", 0);
    } else if (st.code() == StatusCode::kCancelled) {
        outcome = "cancelled";
        // Nothing to remove: WriteOutputs stages its files and drops them when stopped, so earlier outputs
        // (of a job that succeeded before) stay as the database describes them.
        (void)db_->InTransaction([&](soci::session& s) {
            FinishJob(s, job.id, "cancelled", "cancelled by request", now);
            if (!render) SetEpisodeStatus(s, job.episode_id, "cancelled", "cancelled by request");
        });
        PublishJob(job.id, job.episode_id, "cancelled", "cancelled", 0);
    } else if (Transient(st) && job.attempts < job.max_attempts) {
        outcome = "retry";
        errors_->Report(ErrorKind(st.code()), failed_stage, st.message(),
                        {{"job_id", job.id}, {"episode_id", job.episode_id}, {"attempt", job.attempts}});
        const DbInt delay =
            static_cast<DbInt>(config_.retry_backoff_seconds * 1000.0 * std::pow(2.0, std::max(0, job.attempts - 1)));
        (void)db_->InTransaction([&](soci::session& s) {
            RequeueJob(s, job.id, st.message(), now + delay, /*count_attempt=*/true);
            if (!render) SetEpisodeStatus(s, job.episode_id, "queued", st.message());
        });
        PublishJob(job.id, job.episode_id, "queued", "retry", 0, st.message());
    } else {
        outcome = "failed";
        if (st.code() == StatusCode::kNoSpace) storage_->NoteNoSpace();
        errors_->Report(ErrorKind(st.code()), failed_stage, st.message(),
                        {{"job_id", job.id}, {"episode_id", job.episode_id}, {"attempt", job.attempts}});
        (void)db_->InTransaction([&](soci::session& s) {
            FinishJob(s, job.id, "failed", st.message(), now);
            if (!render) SetEpisodeStatus(s, job.episode_id, "failed", st.message());
        });
        PublishJob(job.id, job.episode_id, "failed", "failed", 0, st.message());
    }
    metrics_->Increment("podpromo_jobs_finished_total", {{"outcome", outcome}});
    Log(outcome == "failed" ? LogLevel::kWarn : LogLevel::kInfo, "job finished",
        {{"job_id", job.id},
         {"episode_id", job.episode_id},
         {"kind", job.kind},
         {"outcome", outcome},
         {"duration_ms", static_cast<int64_t>(seconds * 1000)},
         {"error", st.ok() ? "" : st.message()}});
    metrics_->Observe("podpromo_job_run_seconds", {{"outcome", outcome}}, seconds, Metrics::DurationBuckets());
    {
        std::lock_guard<std::mutex> lock(mu_);
        active_.erase(job.id);
    }
    --running_;
    wake_.notify_all();
}

}  // namespace podpromo
