// The use cases on a stored episode: importing a transcript, rendering a chosen span, rescoring.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "podpromo/app/app.h"
#include "podpromo/asr/transcript_io.h"
#include "podpromo/core/utf8.h"
#include "podpromo/jobs/results.h"
#include "podpromo/jobs/span_render.h"

namespace podpromo {

namespace {

constexpr size_t kMaxTranscriptBytes = 50 * 1024 * 1024;
constexpr size_t kMaxPendingRenders = 4;  // render jobs queued or running per episode

// The pending render of the same span (its payload equal but for the clip id), if there is one.
std::optional<std::pair<JobRow, std::string>> SameSpan(const std::vector<JobRow>& pending,
                                                       const nlohmann::json& wanted) {
    for (const auto& p : pending) {
        nlohmann::json asked = nlohmann::json::parse(p.payload, nullptr, false);
        if (!asked.is_object()) continue;
        const std::string clip_id = asked.value("clip_id", "");
        asked.erase("clip_id");
        if (asked == wanted) return std::make_pair(p, clip_id);
    }
    return std::nullopt;
}

}  // namespace

Result<ImportedTranscript> App::ImportTranscript(const Caller& who, const std::string& episode_id,
                                                 const std::string& text) {
    if (text.size() > kMaxTranscriptBytes) return Status::TooLarge("transcripts are at most 50 MB");
    auto t = ParseTranscript(text);
    if (!t.ok()) return Status::InvalidInput(t.status().message()).WithSlug("invalid_transcript");
    PODPROMO_ASSIGN_OR_RETURN(const EpisodeBundle b, GetEpisode(who, episode_id, /*with_content=*/false));
    if (b.job && !IsFinal(b.job->state)) {
        return Status::FailedPrecondition("the episode is being processed; import after it ends or cancel it")
            .WithSlug("busy");
    }
    // The imported transcript replaces the old one and the episode is scored and rendered again.
    ImportedTranscript out;
    JobRow& next = out.job;
    next = NewJob(episode_id, JobKind::kProcess, /*priority=*/2, deps_.clock->NowMs());
    next.checkpoint = Checkpoint::kTranscribed;
    Status room;
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) {
        room = EnqueueIn(tx, next);
        if (!room.ok()) return;
        ReplaceTranscript(tx, episode_id, *t);
        SetEpisodeStatus(tx, episode_id, EpisodeStatus::kQueued, "");
    }));
    PODPROMO_RETURN_IF_ERROR(room);
    out.words = t->WordCount();
    if (deps_.wake) deps_.wake();
    return out;
}

Result<ScoredClip> App::ScoreSpan(const Caller& who, const std::string& episode_id, const SpanAsk& ask) {
    SpanRequest span;
    return ScoreSpanInto(who, episode_id, ask, &span);
}

Result<std::string> App::PreviewSpan(const Caller& who, const std::string& episode_id, const SpanAsk& ask) {
    SpanRequest span;
    PODPROMO_RETURN_IF_ERROR(ScoreSpanInto(who, episode_id, ask, &span).status());
    PODPROMO_ASSIGN_OR_RETURN(EpisodeBundle b, GetEpisode(who, episode_id, /*with_content=*/true));
    if (!b.transcript) return Status::FailedPrecondition("the episode has no transcript").WithSlug("not_ready");
    return SpanStill(*deps_.storage, b.episode, std::move(*b.transcript), span);
}

Result<ScoredClip> App::ScoreSpanInto(const Caller& who, const std::string& episode_id, const SpanAsk& ask,
                                      SpanRequest* span) {
    for (const auto& [name, v] : {std::pair{"start", ask.start_s}, std::pair{"end", ask.end_s}}) {
        if (!std::isfinite(v) || v < 0 || v > 24 * 3600.0) {
            return Status::InvalidInput(std::string(name) + " must be a time in the episode, in seconds");
        }
    }
    PODPROMO_ASSIGN_OR_RETURN(EpisodeBundle b, GetEpisode(who, episode_id, /*with_content=*/true));
    if (b.episode.status != EpisodeStatus::kReady || !b.transcript) {
        return Status::FailedPrecondition("the episode is " + std::string(Name(b.episode.status)) +
                                          "; wait until it is ready")
            .WithSlug("not_ready");
    }
    span->platform = ask.platform.value_or(b.episode.platform);
    span->start_ms = static_cast<Ms>(std::llround(ask.start_s * 1000));
    span->end_ms = static_cast<Ms>(std::llround(ask.end_s * 1000));
    // The episode's look (its show's, for a show's episode), with what this render asks for over it.
    nlohmann::json render = ParseJsonOr(b.episode.render_options, nlohmann::json::object());
    if (ask.render.is_object()) {
        for (const auto& [key, value] : ask.render.items()) render[key] = value;
    }
    PODPROMO_ASSIGN_OR_RETURN(span->media, MediaOptionsFromJson(render, span->platform));
    PODPROMO_ASSIGN_OR_RETURN(const EpisodeResult r,
                              EpisodeForSpan(b.episode, std::move(*b.transcript), span->platform));
    const std::optional<AudioFrames> frames = LoadFrames(*deps_.storage, episode_id);
    return DescribeSpan(r, frames ? &*frames : nullptr, span->start_ms, span->end_ms);
}

Result<SpanRenderAccepted> App::RequestSpanRender(const Caller& who, const std::string& episode_id,
                                                  const SpanAsk& ask) {
    PODPROMO_ASSIGN_OR_RETURN(auto accepted, RequestSpanRenders(who, episode_id, {ask}));
    return std::move(accepted.at(0));
}

Result<std::vector<SpanRenderAccepted>> App::RequestSpanRenders(const Caller& who, const std::string& episode_id,
                                                                const std::vector<SpanAsk>& asks) {
    if (asks.empty() || asks.size() > kMaxPendingRenders) {
        return Status::InvalidInput(fmt::format("ask for 1 to {} renders at once", kMaxPendingRenders));
    }
    std::vector<SpanRenderAccepted> out(asks.size());
    std::vector<SpanRequest> spans(asks.size());
    for (size_t i = 0; i < asks.size(); ++i) {
        // Scored now, so a span that cannot make a clip is refused at once; rendered by a worker.
        PODPROMO_ASSIGN_OR_RETURN(out[i].preview, ScoreSpanInto(who, episode_id, asks[i], &spans[i]));
        spans[i].clip_id = NewId(episode_id + "_s");
        out[i].job = NewJob(episode_id, JobKind::kRender, /*priority=*/2, deps_.clock->NowMs());  // a person waits
        out[i].job.payload = DumpJson(SpanRequestToJson(spans[i]));
    }
    PODPROMO_RETURN_IF_ERROR(deps_.storage->CheckRoom(0));
    Status room;
    const Status stored = deps_.db->InTransaction([&](Tx& tx) {
        room = Status::Ok();
        room = QueueSpanRenders(tx, episode_id, spans, out);
        // All or none: a refusal after some were queued takes those back.
        if (!room.ok()) throw std::runtime_error("span renders refused: " + room.message());
    });
    PODPROMO_RETURN_IF_ERROR(room);
    PODPROMO_RETURN_IF_ERROR(stored);
    for (size_t i = 0; i < out.size(); ++i) {
        out[i].clip_id = spans[i].clip_id;
        if (out[i].already_pending) continue;
        deps_.events->Publish(JobEvent(out[i].job.id, episode_id, "queued", "queued", 0, ""));
        if (deps_.wake) deps_.wake();
    }
    return out;
}

// The same span asked again while its render is pending is that render; an episode has at most kMaxPendingRenders at
// once, so one client cannot fill the shared queue with renders.
Status App::QueueSpanRenders(Tx& tx, const std::string& episode_id, std::vector<SpanRequest>& spans,
                             std::vector<SpanRenderAccepted>& out) const {
    const auto pending = PendingRenderJobs(tx, episode_id);
    size_t adding = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
        nlohmann::json wanted = SpanRequestToJson(spans[i]);
        wanted.erase("clip_id");
        out[i].already_pending = false;
        if (auto same = SameSpan(pending, wanted)) {
            out[i].already_pending = true;
            std::tie(out[i].job, spans[i].clip_id) = std::move(*same);
        } else {
            ++adding;
        }
    }
    if (pending.size() + adding > kMaxPendingRenders) {
        return Status::RateLimited(fmt::format("this episode would have more than {} clips rendering at once; wait "
                                               "for one to finish",
                                               kMaxPendingRenders))
            .WithSlug("too_many_renders");
    }
    for (auto& accepted : out) {
        if (!accepted.already_pending) PODPROMO_RETURN_IF_ERROR(EnqueueIn(tx, accepted.job));
    }
    return Status::Ok();
}

Result<Rescored> App::Rescore(const Caller& who, const std::string& episode_id, const RescoreAsk& ask) {
    PODPROMO_ASSIGN_OR_RETURN(EpisodeBundle b, GetEpisode(who, episode_id, /*with_content=*/true));
    const EpisodeRow& ep = b.episode;
    Rescored out;
    out.platform = ask.platform.value_or(ep.platform);
    out.genre = ask.genre.value_or(ep.genre);
    const int limit = ask.limit.value_or(ep.clip_count);
    const bool same = out.platform == ep.platform && out.genre == ep.genre && limit == ep.clip_count;
    if (same) {
        out.clips = std::move(b.clips);
        return out;
    }
    if (!b.transcript) {
        return Status::FailedPrecondition("the episode has no transcript yet (status " + std::string(Name(ep.status)) +
                                          ")")
            .WithSlug("not_ready");
    }
    const auto started = std::chrono::steady_clock::now();
    const std::optional<AudioFrames> frames = LoadFrames(*deps_.storage, episode_id);
    PODPROMO_ASSIGN_OR_RETURN(out.clips, RescoreClips(ep, *b.transcript, frames ? &*frames : nullptr, out.platform,
                                                      out.genre, limit, b.clips));
    out.rescored = true;
    out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return out;
}

}  // namespace podpromo
