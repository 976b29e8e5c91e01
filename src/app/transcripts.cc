// The use cases on an episode's transcript: reading it at a revision, and fixing its words by hand (stored as
// revisions, with the clips that hold a fixed word rendered again).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <utility>

#include "podpromo/app/app.h"
#include "podpromo/core/utf8.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/store/accounts.h"

namespace podpromo {

namespace {

// The name a clip's files share ("clip_01" for clip_01.mp4), from its stored paths; "" when it has none.
std::string FileStem(const ClipRow& clip) {
    const nlohmann::json files = nlohmann::json::parse(clip.file_path, nullptr, false);
    if (!files.is_object()) return "";
    for (const char* kind : {"video", "audio", "srt"}) {
        if (files.contains(kind) && files[kind].is_string()) {
            return std::filesystem::path(files[kind].get<std::string>()).stem().string();
        }
    }
    return "";
}

bool Overlaps(const ClipRow& clip, const std::vector<std::pair<Ms, Ms>>& spans) {
    const double start = clip.start_time * 1000, end = clip.end_time * 1000;
    for (const auto& [from, to] : spans) {
        if (static_cast<double>(from) < end && static_cast<double>(to) > start) return true;
    }
    return false;
}

// The newest of `jobs` that rendered (or renders) the clip, as its payload; null when none did (a ranked clip).
nlohmann::json RenderOf(const std::vector<JobRow>& jobs, const std::string& clip_id) {
    for (auto job = jobs.rbegin(); job != jobs.rend(); ++job) {
        nlohmann::json p = nlohmann::json::parse(job->payload, nullptr, false);
        if (p.is_object() && p.contains("clip_id") && p["clip_id"] == clip_id) return p;
    }
    return nullptr;
}

Status StaleRevision(int seen, int latest) {
    return Status::FailedPrecondition(fmt::format("the transcript changed since it was read (revision {}, now {}); "
                                                  "load it again and redo the fix",
                                                  seen, latest))
        .WithSlug("stale_revision");
}

}  // namespace

Result<RevisedTranscript> App::GetTranscript(const Caller& who, const std::string& episode_id,
                                             std::optional<int> revision) {
    std::optional<EpisodeRow> ep;
    std::optional<Transcript> t;
    std::vector<TranscriptRevisionRow> revisions;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        ep = podpromo::GetEpisode(tx, episode_id);
        if (ep && !who.Sees(ep->owner_id)) ep.reset();
        if (!ep) return;
        t = LoadTranscript(tx, episode_id);
        if (revision) revisions = ListTranscriptRevisions(tx, episode_id);
    }));
    if (!ep) return Status::NotFound("no episode " + episode_id);
    if (!t) {
        return Status::NotFound("the episode has no transcript yet (status " + std::string(Name(ep->status)) + ")")
            .WithSlug("not_ready");
    }
    RevisedTranscript out{std::move(*t), 0, 0};
    if (!revision) {
        PODPROMO_RETURN_IF_ERROR(
            deps_.db->With([&](Tx& tx) { out.latest = CurrentTranscriptRevision(tx, episode_id); }));
        out.revision = out.latest;
        return out;
    }
    out.latest = revisions.empty() ? 0 : revisions.back().revision;
    if (*revision < 0 || *revision > out.latest) {
        return Status::InvalidInput(fmt::format("the transcript has revisions 0 to {}", out.latest));
    }
    // Back from the newest: each revision's edits undone, last edit first.
    for (auto r = revisions.rbegin(); r != revisions.rend() && r->revision > *revision; ++r) {
        const nlohmann::json edits = nlohmann::json::parse(r->edits, nullptr, false);
        if (!edits.is_array()) return Status::Internal(fmt::format("revision {} is unreadable", r->revision));
        for (auto e = edits.rbegin(); e != edits.rend(); ++e) {
            PODPROMO_ASSIGN_OR_RETURN(const AppliedEdit applied, AppliedEditFromJson(*e));
            UndoWordEdit(out.transcript, applied);
        }
    }
    out.revision = *revision;
    return out;
}

Result<std::vector<TranscriptRevisionRow>> App::TranscriptRevisions(const Caller& who, const std::string& episode_id) {
    std::vector<TranscriptRevisionRow> out;
    bool found = false;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        const auto owner = EpisodeOwner(tx, episode_id);
        found = owner && who.Sees(*owner);
        if (found) out = ListTranscriptRevisions(tx, episode_id);
    }));
    if (!found) return Status::NotFound("no episode " + episode_id);
    return out;
}

Result<WordsFixed> App::FixWords(const Caller& who, const std::string& episode_id, int seen,
                                 const std::vector<WordEdit>& edits) {
    PODPROMO_ASSIGN_OR_RETURN(const EpisodeBundle b, GetEpisode(who, episode_id, /*with_content=*/false));
    if (b.job && !IsFinal(b.job->state)) {
        return Status::FailedPrecondition("the episode is being processed; fix words after it ends").WithSlug("busy");
    }
    WordsFixed out;
    Status outcome;
    const Status stored = deps_.db->InTransaction([&](Tx& tx) {
        out = WordsFixed{};
        outcome = Status::Ok();
        std::optional<Transcript> t = LoadTranscript(tx, episode_id);
        if (!t) {
            outcome = Status::FailedPrecondition("the episode has no transcript yet").WithSlug("not_ready");
            return;
        }
        const int latest = CurrentTranscriptRevision(tx, episode_id);
        if (seen != latest) {
            outcome = StaleRevision(seen, latest);
            return;
        }
        nlohmann::json applied_edits = nlohmann::json::array();
        std::vector<size_t> segments;
        std::vector<std::pair<Ms, Ms>> spans;
        for (const auto& edit : edits) {
            auto applied = ApplyWordEdit(*t, edit);
            if (!applied.ok()) {
                outcome = applied.status();
                return;
            }
            applied_edits.push_back(AppliedEditToJson(*applied));
            segments.push_back(applied->segment);
            spans.push_back(EditSpan(*applied));
        }
        UpdateTranscriptSegments(tx, episode_id, *t, segments);
        out.revision = latest + 1;
        const DbInt now = deps_.clock->NowMs();
        InsertTranscriptRevision(tx, {episode_id, out.revision, now, who.actor, DumpJson(applied_edits)});
        auto jobs = QueueRerenders(tx, b.episode, spans, &out.clips);
        if (!jobs.ok()) {
            // Nothing is kept: the revision is rolled back with the renders queued before this one.
            outcome = jobs.status();
            throw std::runtime_error("word fix refused: " + outcome.message());
        }
        out.jobs = std::move(*jobs);
        InsertAudit(
            tx, {NewId("au"), now, who.actor.empty() ? "unknown" : who.actor, "transcript.fix", episode_id, "", "ok",
                 fmt::format("revision {}: {} edits, {} clips rendered again", out.revision, edits.size(),
                             out.clips.size())});
        out.transcript = std::move(*t);
    });
    PODPROMO_RETURN_IF_ERROR(outcome);
    PODPROMO_RETURN_IF_ERROR(stored);
    for (const auto& job : out.jobs) deps_.events->Publish(JobEvent(job.id, episode_id, "queued", "queued", 0, ""));
    if (!out.jobs.empty() && deps_.wake) deps_.wake();
    return out;
}

Result<Transcript> App::NameSpeakers(const Caller& who, const std::string& episode_id,
                                     const std::map<std::string, std::string>& names) {
    if (names.empty() || names.size() > 20) return Status::InvalidInput("name 1 to 20 speakers");
    for (const auto& [from, to] : names) {
        const bool control =
            std::any_of(to.begin(), to.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
        if (to.empty() || Utf8Length(to) > 40 || !IsValidUtf8(to) || control) {
            return Status::InvalidInput("a speaker's name is 1–40 characters of text on one line");
        }
    }
    PODPROMO_ASSIGN_OR_RETURN(const EpisodeBundle b, GetEpisode(who, episode_id, /*with_content=*/false));
    if (b.job && !IsFinal(b.job->state)) {
        return Status::FailedPrecondition("the episode is being processed; name its speakers after it ends")
            .WithSlug("busy");
    }
    Transcript named;
    Status outcome;
    const Status stored = deps_.db->InTransaction([&](Tx& tx) {
        outcome = Status::Ok();
        std::optional<Transcript> t = LoadTranscript(tx, episode_id);
        if (!t) {
            outcome = Status::FailedPrecondition("the episode has no transcript yet").WithSlug("not_ready");
            return;
        }
        std::set<std::string> speakers;
        for (const auto& seg : t->segments) speakers.insert(seg.speaker);
        for (const auto& [from, to] : names) {
            if (from.empty() || !speakers.count(from)) {
                outcome = Status::InvalidInput("the transcript has no speaker '" + TruncateUtf8(from, 40) + "'");
                return;
            }
        }
        // Two at once ("S1" to "S2" and "S2" to "S1"): each by way of a name no speaker has.
        for (const auto& [from, to] : names) RenameSpeaker(tx, episode_id, from, "\x01" + from);
        for (const auto& [from, to] : names) RenameSpeaker(tx, episode_id, "\x01" + from, to);
        named = LoadTranscript(tx, episode_id).value_or(Transcript{});
        InsertAudit(tx, {NewId("au"), deps_.clock->NowMs(), who.actor.empty() ? "unknown" : who.actor,
                         "transcript.speakers", episode_id, "", "ok", fmt::format("{} speakers named", names.size())});
    });
    PODPROMO_RETURN_IF_ERROR(outcome);
    PODPROMO_RETURN_IF_ERROR(stored);
    return named;
}

Result<std::vector<JobRow>> App::QueueRerenders(Tx& tx, const EpisodeRow& episode,
                                                const std::vector<std::pair<Ms, Ms>>& spans,
                                                std::vector<std::string>* clips) const {
    std::vector<JobRow> jobs;
    const auto pending = PendingRenderJobs(tx, episode.id);
    const auto rendered = RenderJobsFor(tx, episode.id, /*pending_only=*/false);
    const nlohmann::json episode_options = nlohmann::json::parse(episode.render_options, nullptr, false);
    for (const auto& clip : ListClips(tx, episode.id)) {
        const std::string stem = FileStem(clip);
        if (clip.expired_at != 0 || stem.empty() || !Overlaps(clip, spans)) continue;
        clips->push_back(clip.id);
        // A render still to run reads the newest words when it runs.
        if (!RenderOf(pending, clip.id).is_null()) continue;
        // Made again as it was made: a clip rendered from a chosen span in its own frame and caption style, a ranked
        // clip with the episode's.
        const nlohmann::json made = RenderOf(rendered, clip.id);
        const nlohmann::json options = made.is_object() && made.contains("options") ? made["options"] : episode_options;
        SpanRequest span;
        span.clip_id = clip.id;
        span.start_ms = static_cast<Ms>(std::llround(clip.start_time * 1000));
        span.end_ms = static_cast<Ms>(std::llround(clip.end_time * 1000));
        span.platform = clip.platform;
        span.replace = true;
        span.stem = stem;
        PODPROMO_ASSIGN_OR_RETURN(
            span.media, MediaOptionsFromJson(options.is_object() ? options : nlohmann::json::object(), clip.platform));
        JobRow job = NewJob(episode.id, JobKind::kRender, /*priority=*/2, deps_.clock->NowMs());
        job.payload = DumpJson(SpanRequestToJson(span));
        PODPROMO_RETURN_IF_ERROR(EnqueueIn(tx, job));
        jobs.push_back(std::move(job));
    }
    return jobs;
}

}  // namespace podpromo
