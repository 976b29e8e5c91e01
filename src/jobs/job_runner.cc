#include "podpromo/jobs/job_runner.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "podpromo/files/atomic.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/jobs/results.h"
#include "podpromo/jobs/span_render.h"

namespace podpromo {
namespace fs = std::filesystem;
using nlohmann::json;

Status PipelineJobRunner::Run(JobWork work, JobWorkResult* out) {
    return work.job.kind == JobKind::kRender ? RunRender(work, out) : RunProcess(work, out);
}

Status PipelineJobRunner::RunRender(JobWork& work, JobWorkResult* out) {
    const JobRow& job = work.job;
    const EpisodeRow& episode = work.episode;
    auto& transcript = work.transcript;
    if (!transcript) return Status::InvalidInput("the episode has no transcript to make a clip from");
    PODPROMO_RETURN_IF_ERROR(storage_->CheckRoom(0));
    auto request = SpanRequestFromJson(json::parse(job.payload, nullptr, false));
    if (!request.ok()) return request.status();
    auto row = RenderSpan(*storage_, episode, std::move(*transcript), *request, work.progress, work.cancel);
    if (!row.ok()) return row.status();
    Status st = db_->InTransaction([&](Tx& s) {
        if (*work.lost_lease) return;
        // Ranked after the clips stored by now (another render of the episode may have finished meanwhile).
        row->clip_rank = static_cast<int>(ListClips(s, episode.id).size()) + 1;
        InsertClip(s, *row);
        FinishJob(s, job.id, JobState::kSucceeded, "", NowEpochMs());
    });
    if (!st.ok() || *work.lost_lease) RemoveSpanFiles(*storage_, episode.id, request->clip_id);
    if (st.ok()) out->clips = 1;
    return st;
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
    // The vocabulary hint: the upload's own, else the service's.
    const JobVocabulary vocabulary = JobVocabularyOf(job);
    options.show = vocabulary.show.value_or(config_.asr.show_name);
    options.terms = vocabulary.terms ? *vocabulary.terms : ParseTerms(config_.asr.terms);
    if (config_.asr.engine != AsrEngine::kPocketsphinx) options.whisper = WhisperConfigFrom(config_.asr);
    if (work.transcript) options.given_transcript = std::move(work.transcript);
    const bool had_transcript = options.given_transcript.has_value();
    options.on_transcribed = [&](const Transcript& t) -> Status {
        if (had_transcript) return Status::Ok();
        return db_->InTransaction([&](Tx& s) {
            ReplaceTranscript(s, job.episode_id, t);
            SetJobCheckpoint(s, job.id, Checkpoint::kTranscribed);
        });
    };
    auto path = storage_->Resolve(episode.audio_path);
    if (!path.ok()) return path.status();
    auto analysed = AnalyzeEpisode(*path, options, work.progress, work.cancel);
    if (!analysed.ok()) return analysed.status();
    EpisodeResult result = std::move(*analysed);
    result.id = episode.id;
    result.source = *path;
    const fs::path dir = storage_->EpisodeDir(episode.id);
    std::error_code ec;
    fs::create_directories(dir, ec);
    PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / "frames.bin", SerializeFrames(*result.frames), storage_->fs()));
    auto media = MediaOptionsFromJson(json::parse(episode.render_options, nullptr, false), episode.platform);
    if (!media.ok()) return media.status();
    media->cover = EpisodeCover(*storage_, episode);
    // The quota is checked again before rendering: other uploads may have filled it since this one came.
    PODPROMO_RETURN_IF_ERROR(storage_->CheckRoom(0));
    PODPROMO_RETURN_IF_ERROR(WriteOutputs(&result, dir / "out", *media, work.progress, work.cancel, storage_->fs()));
    const auto rel_dir = fs::relative(dir / "out", storage_->root()).string();
    EpisodeRow updated = episode;
    FillEpisodeAnalysis(result, &updated);
    updated.status = EpisodeStatus::kReady;
    updated.updated_at = NowEpochMs();
    const auto clips = ClipRowsFromResult(result, rel_dir);
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& s) {
        if (*work.lost_lease) return;
        ReplaceClips(s, episode.id, clips);
        SetEpisodeAnalysis(s, updated);
        FinishJob(s, job.id, JobState::kSucceeded, "", NowEpochMs());
    }));
    out->clips = static_cast<double>(result.clips.size());
    out->duration_ms = result.duration_ms;
    return Status::Ok();
}

}  // namespace podpromo
