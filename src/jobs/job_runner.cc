#include "podpromo/jobs/job_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "podpromo/asr/transcript_io.h"
#include "podpromo/core/config.h"
#include "podpromo/core/utf8.h"
#include "podpromo/feeds/fetch.h"
#include "podpromo/feeds/rss.h"
#include "podpromo/files/atomic.h"
#include "podpromo/jobs/job_store.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/jobs/results.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"
#include "podpromo/monitor/log.h"
#include "podpromo/store/shows.h"

namespace podpromo {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Inside a transaction: a failed file step rolls it back (Database::InTransaction turns the throw into its Status).
void ThrowIfFailed(const Status& st) {
    if (!st.ok()) throw std::runtime_error(st.message());
}

// The staging folders of the job's runs are named after it; what an earlier run left (it was killed, or its lease
// passed on and it is stopping) is removed first. This run holds the newest lease: no other run may publish.
std::string StagingFor(const Storage& storage, const JobRow& job) {
    std::string prefix = std::string(kStagingPrefix) + job.id + "-";
    if (const int n = RemoveStaging(storage.EpisodeDir(job.episode_id) / "out", prefix); n > 0) {
        Log(LogLevel::kInfo, "removed what an earlier run of the job left", {{"job_id", job.id}, {"folders", n}});
    }
    return prefix;
}

// An HTTP recognition engine, as its shared pause names it.
std::string EngineKey(const AsrSettings& asr) { return std::string(Name(asr.engine)) + " " + WithoutPassword(asr.url); }

}  // namespace

Status PipelineJobRunner::EngineOpen(const std::string& engine) {
    DbInt until = 0;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) { until = EnginePausedUntil(tx, engine); }));
    const DbInt now = NowEpochMs();
    if (until <= now) return Status::Ok();
    return Status::RateLimited(fmt::format("{} asked every caller to wait; recognition resumes in {} s", engine,
                                           (until - now + 999) / 1000))
        .WithSlug("engine_paused")
        .WithRetryAfter(static_cast<int>((until - now + 999) / 1000));
}

Status PipelineJobRunner::PauseOnRateLimit(const std::string& engine, const Status& st) {
    if (st.slug() != "engine_rate_limited") return st;
    const DbInt until = NowEpochMs() + std::max(1, st.retry_after_s()) * 1000LL;
    LogIfFailed(db_->InTransaction([&](Tx& tx) { PauseEngine(tx, engine, until); }), "pausing the engine");
    Log(LogLevel::kWarn, "the recognition engine answered 429: every worker pauses it",
        {{"engine", engine}, {"seconds", st.retry_after_s()}});
    return st;
}

Status PipelineJobRunner::Run(JobWork work, JobWorkResult* out) {
    if (work.job.kind == JobKind::kRender) return RunRender(work, out);
    if (!work.episode.audio_path.empty()) return RunProcess(work, out);
    auto fetched = FetchFromFeed(work);
    if (!fetched.ok()) return fetched.status();
    JobWork from_feed{work.job, *fetched, std::move(work.transcript), work.progress, work.cancel};
    return RunProcess(from_feed, out);
}

namespace {

FetchPolicy FeedPolicy(const ServiceConfig& config) {
    FetchPolicy p;
    p.allow_private = config.feed_allow_private != 0;
    p.private_hosts = config.feed_private_hosts;
    return p;
}

// The feed's transcript of the item, when it has one PodPromo reads; nullopt (and a warning) otherwise: the episode is
// then recognised.
std::optional<Transcript> FeedTranscript(const std::string& url, const FetchPolicy& base, const std::string& job_id) {
    if (url.empty()) return std::nullopt;
    FetchPolicy policy = base;
    policy.max_bytes = 50LL * 1024 * 1024;
    FetchAsk ask;
    ask.url = url;
    auto fetched = FetchText(ask, policy);
    Result<Transcript> t = fetched.ok() ? ParseTranscript(fetched->second) : Result<Transcript>(fetched.status());
    if (!t.ok() || t->WordCount() == 0) {
        Log(LogLevel::kWarn, "the feed's transcript is not used; the episode is recognised",
            {{"job_id", job_id}, {"error", t.ok() ? "it has no words" : t.status().message()}});
        return std::nullopt;
    }
    t->engine = "feed:" + t->engine;
    return std::move(*t);
}

// The item's chapters (none, and a warning, when they cannot be read: they only help the scoring).
std::vector<Chapter> FeedChapters(const std::string& url, const FetchPolicy& base, const std::string& job_id) {
    if (url.empty()) return {};
    FetchPolicy policy = base;
    policy.max_bytes = 2LL * 1024 * 1024;
    FetchAsk ask;
    ask.url = url;
    auto fetched = FetchText(ask, policy);
    auto chapters = fetched.ok() ? ParseChapters(fetched->second) : Result<std::vector<Chapter>>(fetched.status());
    if (!chapters.ok()) {
        Log(LogLevel::kWarn, "the feed's chapters are not used",
            {{"job_id", job_id}, {"error", chapters.status().message()}});
        return {};
    }
    return std::move(*chapters);
}

// The show's artwork (`url`, from its feed) as a cover for the episode's audiograms: fetched under the limits of an
// uploaded cover and rewritten by NormalizeImage, in a file of tmp/ to commit; nullptr (and a warning) when it cannot
// be had: the audiograms then have their gradient.
std::unique_ptr<UploadFile> FeedCover(const std::string& url, const FetchPolicy& base, const Storage& storage,
                                      const std::string& job_id, const CancelToken* cancel) {
    if (url.empty()) return nullptr;
    FetchPolicy policy = base;
    policy.max_bytes = kMaxCoverBytes;
    auto file = UploadFile::Create(storage.tmp_dir(), storage.fs());
    Status st = file.status();
    if (st.ok()) {
        FetchAsk ask;
        ask.url = url;
        st = FetchUrl(
                 ask, policy, [&](const char* data, size_t n) { return (*file)->Write(data, n); }, cancel)
                 .status();
    }
    if (st.ok()) st = (*file)->Finish();
    if (st.ok()) st = ProbeImage((*file)->path()).status();
    if (st.ok()) st = NormalizeImage((*file)->path(), cancel);
    if (st.ok()) return std::move(*file);
    Log(LogLevel::kWarn, "the show's artwork is not used on its audiograms",
        {{"job_id", job_id}, {"error", st.message()}});
    return nullptr;
}

}  // namespace

Result<EpisodeRow> PipelineJobRunner::FetchFromFeed(JobWork& work) {
    const JobRow& job = work.job;
    const json payload = json::parse(job.payload, nullptr, false);
    const json feed = payload.is_object() && payload.contains("feed") ? payload["feed"] : json();
    if (!feed.is_object() || !feed.value("enclosure_url", json()).is_string()) {
        return Status::FailedPrecondition("the episode has no source file");
    }
    Report(work.progress, Stage::kDownload, 0);
    FetchPolicy policy = FeedPolicy(config_);
    policy.max_bytes = config_.max_file_size_bytes;
    policy.timeout = std::chrono::minutes(30);
    PODPROMO_ASSIGN_OR_RETURN(auto file, UploadFile::Create(storage_->tmp_dir(), storage_->fs()));
    FetchAsk ask;
    ask.url = feed["enclosure_url"].get<std::string>();
    // The share received, against the size the feed gave (when it gave one).
    const double expected = feed.contains("enclosure_bytes") && feed["enclosure_bytes"].is_number()
                                ? feed["enclosure_bytes"].get<double>()
                                : 0;
    int64_t received = 0;
    auto got = FetchUrl(
        ask, policy,
        [&](const char* data, size_t n) {
            received += static_cast<int64_t>(n);
            if (expected > 0) Report(work.progress, Stage::kDownload, static_cast<double>(received) / expected);
            return file->Write(data, n);
        },
        work.cancel);
    if (!got.ok()) return got.status();
    PODPROMO_RETURN_IF_ERROR(file->Finish());
    Report(work.progress, Stage::kDownload, 1);
    auto info = ProbeMedia(file->path());
    if (!info.ok()) {
        return Status::Unsupported("the feed's enclosure is not audio or video PodPromo reads: " +
                                   info.status().message())
            .WithSlug("unsupported_media");
    }
    EpisodeRow ep = work.episode;
    ep.audio_path = fs::relative(storage_->UploadPath(ep.id, ep.filename), storage_->root()).string();
    ep.size_bytes = file->size_bytes();
    ep.checksum = "sha256:" + file->sha256_hex();
    ep.format = info->format;
    ep.has_video = info->has_video ? 1 : 0;
    if (info->duration_ms > 0) ep.duration = static_cast<double>(info->duration_ms) / 1000.0;
    ep.updated_at = NowEpochMs();
    std::optional<Transcript> transcript =
        FeedTranscript(feed.value("transcript_url", std::string()), FeedPolicy(config_), job.id);
    if (auto chapters = FeedChapters(feed.value("chapters_url", std::string()), FeedPolicy(config_), job.id);
        !chapters.empty()) {
        json analysis = ParseJsonOr(ep.analysis, json::object());
        analysis["chapters"] = ChaptersToJson(chapters);
        ep.analysis = DumpJson(analysis);
    }
    std::unique_ptr<UploadFile> cover =
        FeedCover(feed.value("image_url", std::string()), FeedPolicy(config_), *storage_, job.id, work.cancel);
    PODPROMO_RETURN_IF_ERROR(StoreFeedDownload(job, file.get(), cover.get(), transcript, &ep));
    Log(LogLevel::kInfo, "a feed's episode was downloaded",
        {{"job_id", job.id},
         {"bytes", ep.size_bytes},
         {"feed_transcript", transcript.has_value()},
         {"show_artwork", cover != nullptr}});
    if (transcript) work.transcript = std::move(transcript);
    return ep;
}

Status PipelineJobRunner::StoreFeedDownload(const JobRow& job, UploadFile* file, UploadFile* cover,
                                            const std::optional<Transcript>& transcript, EpisodeRow* ep) {
    bool held = false;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& s) {
        held = HoldsLease(s, job.id, job.lease_epoch);
        if (!held) return;
        SetEpisodeSource(s, *ep);
        if (transcript) {
            ReplaceTranscript(s, job.episode_id, *transcript);
            SetJobCheckpoint(s, job.id, Checkpoint::kTranscribed);
        }
        if (cover) {
            // (Over the episode's options as they are now: its show's look may have changed since the job began.)
            const std::optional<EpisodeRow> now = GetEpisode(s, ep->id);
            json options = ParseJsonOr(now ? now->render_options : ep->render_options, json::object());
            const fs::path dest = storage_->EpisodeDir(ep->id) / "cover";
            options["cover"] = fs::relative(dest, storage_->root()).string();
            ep->render_options = DumpJson(options);
            SetEpisodeRenderOptions(s, ep->id, ep->render_options);
            ThrowIfFailed(cover->Commit(dest));
        }
        ThrowIfFailed(file->Commit(storage_->UploadPath(ep->id, ep->filename)));
    }));
    if (!held) return Fenced("the downloaded episode");
    return Status::Ok();
}

Status PipelineJobRunner::RunRender(JobWork& work, JobWorkResult* out) {
    const JobRow& job = work.job;
    const EpisodeRow& episode = work.episode;
    auto& transcript = work.transcript;
    if (!transcript) return Status::InvalidInput("the episode has no transcript to make a clip from");
    PODPROMO_RETURN_IF_ERROR(storage_->CheckRoom(0));
    auto request = SpanRequestFromJson(json::parse(job.payload, nullptr, false));
    if (!request.ok()) return request.status();
    request->media.staging_prefix = StagingFor(*storage_, job);
    bool held = false, moved = false;
    // The row and the files together, by the run that still holds the lease; another run changes nothing.
    const SpanPublishFn publish = [&](ClipRow& row, const std::function<Status()>& move) {
        return db_->InTransaction([&](Tx& s) {
            held = HoldsLease(s, job.id, job.lease_epoch);
            if (!held) return;
            // A clip rendered again keeps its place (and is not made again when it was deleted meanwhile); a new one
            // is ranked after the clips stored by now (another render of the episode may have finished meanwhile).
            bool keep = true;
            if (request->replace) {
                keep = UpdateRenderedClip(s, row);
            } else {
                row.clip_rank = static_cast<int>(ListClips(s, episode.id).size()) + 1;
                InsertClip(s, row);
            }
            FinishJob(s, job.id, JobState::kSucceeded, "", NowEpochMs());
            if (!keep) return;
            moved = true;
            ThrowIfFailed(move());
        });
    };
    auto row = RenderSpan(*storage_, episode, std::move(*transcript), *request, work.progress, work.cancel, publish);
    if (!row.ok()) {
        // Files moved by a transaction that then failed to commit have no row (a clip rendered again has its old row,
        // which names the same files).
        if (moved && !request->replace) RemoveSpanFiles(*storage_, episode.id, request->clip_id);
        return row.status();
    }
    if (!held) return Fenced("the rendered clip");
    out->clips = 1;
    return Status::Ok();
}

Status PipelineJobRunner::RunProcess(JobWork& work, JobWorkResult* out) {
    const JobRow& job = work.job;
    const EpisodeRow& episode = work.episode;
    PipelineOptions options;
    options.genre = episode.genre;
    options.platform = episode.platform;
    options.clips = episode.clip_count;
    options.title = episode.title;
    options.asr.threads = config_.asr_threads;
    options.max_episode_ms = Ms{config_.max_episode_seconds} * 1000;
    options.chapters = EpisodeChapters(episode);
    // The vocabulary hint: the upload's own, else the service's.
    const JobVocabulary vocabulary = JobVocabularyOf(job);
    options.show = vocabulary.show.value_or(config_.asr.show_name);
    options.terms = vocabulary.terms ? *vocabulary.terms : ParseTerms(config_.asr.terms);
    if (work.transcript) options.given_transcript = std::move(work.transcript);
    const bool had_transcript = options.given_transcript.has_value();
    const std::string engine = EngineKey(config_.asr);
    if (config_.asr.engine != AsrEngine::kPocketsphinx) {
        options.whisper = WhisperConfigFrom(config_.asr);
        // A 429 pauses the engine for every worker (PauseOnRateLimit), and each request first looks at the pause.
        options.whisper->rate_limit_ends_run = true;
        options.whisper->may_send = [this, engine] { return EngineOpen(engine); };
        if (!had_transcript) PODPROMO_RETURN_IF_ERROR(EngineOpen(engine));
    }
    options.on_transcribed = [&](const Transcript& t) -> Status {
        if (had_transcript) return Status::Ok();
        bool held = false;
        PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& s) {
            held = HoldsLease(s, job.id, job.lease_epoch);
            if (!held) return;
            ReplaceTranscript(s, job.episode_id, t);
            SetJobCheckpoint(s, job.id, Checkpoint::kTranscribed);
        }));
        return held ? Status::Ok() : Fenced("the transcript");
    };
    auto path = storage_->Resolve(episode.audio_path);
    if (!path.ok()) return path.status();
    auto analysed = AnalyzeEpisode(*path, options, work.progress, work.cancel);
    if (!analysed.ok()) return PauseOnRateLimit(engine, analysed.status());
    EpisodeResult result = std::move(*analysed);
    result.id = episode.id;
    result.source = *path;
    const fs::path dir = storage_->EpisodeDir(episode.id);
    std::error_code ec;
    fs::create_directories(dir, ec);
    PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / "frames.bin", SerializeFrames(*result.frames), storage_->fs()));
    auto media = MediaOptionsFromJson(json::parse(episode.render_options, nullptr, false), episode.platform);
    if (!media.ok()) return media.status();
    AttachEpisodeImages(*storage_, episode, &*media);
    media->staging_prefix = StagingFor(*storage_, job);
    // The quota is checked again before rendering: other uploads may have filled it since this one came.
    PODPROMO_RETURN_IF_ERROR(storage_->CheckRoom(0));
    const auto rel_dir = fs::relative(dir / "out", storage_->root()).string();
    bool held = false;
    // The rows and the files together, by the run that still holds the lease; another run changes nothing. (Called
    // by WriteOutputs once the files are written and named.)
    const PublishFn publish = [&](const std::function<Status()>& move) {
        EpisodeRow updated = episode;
        FillEpisodeAnalysis(result, &updated);
        updated.status = EpisodeStatus::kReady;
        updated.updated_at = NowEpochMs();
        const auto clips = ClipRowsFromResult(result, rel_dir);
        return db_->InTransaction([&](Tx& s) {
            held = HoldsLease(s, job.id, job.lease_epoch);
            if (!held) return;
            ReplaceClips(s, episode.id, clips);
            SetEpisodeAnalysis(s, updated);
            FinishJob(s, job.id, JobState::kSucceeded, "", NowEpochMs());
            ThrowIfFailed(move());
        });
    };
    PODPROMO_RETURN_IF_ERROR(
        WriteOutputs(&result, dir / "out", *media, work.progress, work.cancel, storage_->fs(), publish));
    if (!held) return Fenced("the episode's clips");
    out->clips = static_cast<double>(result.clips.size());
    out->duration_ms = result.duration_ms;
    return Status::Ok();
}

}  // namespace podpromo
