#include "podpromo/app/app.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "podpromo/core/utf8.h"
#include "podpromo/jobs/results.h"
#include "podpromo/media/probe.h"
#include "podpromo/store/accounts.h"

namespace podpromo {

namespace fs = std::filesystem;

AppLimits AppLimits::FromConfig(const ServiceConfig& config) {
    AppLimits l;
    l.max_queue_size = config.max_queue_size;
    l.job_max_attempts = config.job_max_attempts;
    l.max_file_size_bytes = config.max_file_size_bytes;
    l.max_episode_seconds = config.max_episode_seconds;
    l.clip_retention_days = config.clip_retention_days;
    l.user_max_jobs = config.user_max_jobs;
    l.user_max_shows = config.user_max_shows;
    l.user_storage_bytes = static_cast<int64_t>(config.user_storage_gb * 1e9);
    l.user_audio_hours_per_day = config.user_audio_hours_per_day;
    l.feed_fetch.allow_private = config.feed_allow_private != 0;
    l.feed_fetch.private_hosts = config.feed_private_hosts;
    l.feed_poll_every_ms = static_cast<int64_t>(config.feed_poll_seconds) * 1000;
    l.feed_polls_at_once = config.feed_polls_at_once;
    return l;
}

App::App(AppDeps deps, AppLimits limits) : deps_(std::move(deps)), limits_(std::move(limits)) {}

namespace {

Status QueueFull(DbInt queued) {
    return Status::ResourceExhausted(fmt::format("the queue is full ({} waiting); try again later", queued))
        .WithSlug("queue_full")
        .WithRetryAfter(30);
}

}  // namespace

Status App::RoomInQueue(const std::string& owner_id) {
    Status room;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { room = RoomIn(tx, owner_id, {}); }));
    return room;
}

Status App::RoomIn(Tx& tx, const std::string& owner_id, Adding adding) const {
    const DbInt queued = CountJobsInState(tx, JobState::kQueued);
    if (queued >= limits_.max_queue_size) return QueueFull(queued);
    if (owner_id.empty()) return Status::Ok();
    constexpr DbInt kDayMs = DbInt{24} * 3600 * 1000;
    const DbInt now = deps_.clock->NowMs();
    const OwnerUse use = UseOf(tx, owner_id, now - kDayMs);
    if (limits_.user_max_jobs > 0 && use.active_jobs >= limits_.user_max_jobs) {
        return Status::RateLimited(fmt::format("you have {} jobs queued or running, the most USER_MAX_JOBS allows; "
                                               "the next frees up when one of them ends",
                                               use.active_jobs))
            .WithSlug("user_jobs")
            .WithRetryAfter(30);
    }
    if (limits_.user_storage_bytes > 0 && adding.bytes > 0 && use.bytes + adding.bytes > limits_.user_storage_bytes) {
        return Status::PermissionDenied(
                   fmt::format("your uploads hold {:.2f} GB and this one {:.2f} GB; USER_STORAGE_GB "
                               "allows {:.2f} GB: delete episodes to free room",
                               static_cast<double>(use.bytes) / 1e9, static_cast<double>(adding.bytes) / 1e9,
                               static_cast<double>(limits_.user_storage_bytes) / 1e9))
            .WithSlug("user_storage");
    }
    const double hours = (use.seconds_since + adding.seconds) / 3600.0;
    if (limits_.user_audio_hours_per_day > 0 && adding.seconds > 0 && hours > limits_.user_audio_hours_per_day) {
        const DbInt frees_at = (use.oldest_since > 0 ? use.oldest_since : now) + kDayMs;
        const int wait_s = static_cast<int>(std::max<DbInt>(1, (frees_at - now + 999) / 1000));
        return Status::RateLimited(fmt::format("this upload would make {:.1f} hours of audio in 24 hours; "
                                               "USER_AUDIO_HOURS_PER_DAY allows {:.1f}; room frees up in {} minutes",
                                               hours, limits_.user_audio_hours_per_day, (wait_s + 59) / 60))
            .WithSlug("user_audio_hours")
            .WithRetryAfter(wait_s);
    }
    return Status::Ok();
}

JobRow App::NewJob(const std::string& episode_id, JobKind kind, int priority, DbInt created_at) const {
    JobRow job;
    job.id = NewId("job");
    job.episode_id = episode_id;
    job.kind = kind;
    job.priority = priority;
    job.max_attempts = limits_.job_max_attempts;
    job.created_at = job.run_after = created_at;
    return job;
}

Status App::EnqueueIn(Tx& tx, const JobRow& job) const {
    PODPROMO_RETURN_IF_ERROR(RoomIn(tx, EpisodeOwner(tx, job.episode_id).value_or(""), {}));
    InsertJob(tx, job);
    return Status::Ok();
}

namespace {

// Whether the episode exists and `who` may see it.
bool Sees(Tx& tx, const Caller& who, const std::string& episode_id) {
    const std::optional<std::string> owner = EpisodeOwner(tx, episode_id);
    return owner && who.Sees(*owner);
}

// The clip or job when `who` may see its episode; nullopt otherwise, as for no such row.
std::optional<ClipRow> VisibleClip(Tx& tx, const Caller& who, const std::string& clip_id) {
    auto clip = podpromo::GetClip(tx, clip_id);
    if (clip && !Sees(tx, who, clip->episode_id)) return std::nullopt;
    return clip;
}
std::optional<JobRow> VisibleJob(Tx& tx, const Caller& who, const std::string& job_id) {
    auto job = podpromo::GetJob(tx, job_id);
    if (job && !Sees(tx, who, job->episode_id)) return std::nullopt;
    return job;
}

}  // namespace

namespace {

// The people an episode's feed names: its item's, then its show's not named already (JSON, as FeedItemRow keeps them).
std::string FeedPersons(Tx& tx, const std::string& episode_id) {
    const auto item = FeedItemOfEpisode(tx, episode_id);
    if (!item) return "[]";
    nlohmann::json people = ParseJsonOr(item->persons, nlohmann::json::array());
    if (!people.is_array()) people = nlohmann::json::array();
    const auto show = podpromo::GetShow(tx, item->show_id);
    const nlohmann::json more = show ? ParseJsonOr(show->persons, nlohmann::json::array()) : nlohmann::json::array();
    for (const auto& p : more.is_array() ? more : nlohmann::json::array()) {
        const bool named = std::any_of(people.begin(), people.end(), [&](const nlohmann::json& q) {
            return q.value("name", "") == p.value("name", "");
        });
        if (!named) people.push_back(p);
    }
    return DumpJson(people);
}

}  // namespace

Result<EpisodeBundle> App::GetEpisode(const Caller& who, const std::string& episode_id, bool with_content) {
    EpisodeBundle b;
    bool found = false;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        auto ep = podpromo::GetEpisode(tx, episode_id);
        if (!ep || !who.Sees(ep->owner_id)) return;
        found = true;
        b.episode = std::move(*ep);
        b.job = LatestJobForEpisode(tx, episode_id);
        if (!with_content) return;
        b.transcript = LoadTranscript(tx, episode_id);
        b.transcript_revision = CurrentTranscriptRevision(tx, episode_id);
        b.clips = ListClips(tx, episode_id);
        b.persons = FeedPersons(tx, episode_id);
    }));
    if (!found) return Status::NotFound("no episode " + episode_id);
    return b;
}

Result<std::vector<ClipRow>> App::ChosenClips(const Caller& who, const std::string& episode_id, EpisodeRow* episode) {
    std::vector<ClipRow> clips;
    bool found = false;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        found = Sees(tx, who, episode_id);
        if (!found) return;
        clips = ListClips(tx, episode_id);
        if (episode) *episode = podpromo::GetEpisode(tx, episode_id).value_or(EpisodeRow{});
    }));
    if (!found) return Status::NotFound("no episode " + episode_id);
    // The editor's choice when they starred any; the ranked clips otherwise.
    const bool starred = std::any_of(clips.begin(), clips.end(), [](const ClipRow& c) { return c.starred != 0; });
    if (starred) std::erase_if(clips, [](const ClipRow& c) { return c.starred == 0; });
    std::sort(clips.begin(), clips.end(),
              [](const ClipRow& a, const ClipRow& b) { return a.start_time < b.start_time; });
    return clips;
}

Result<std::vector<ClipRow>> App::Soundbites(const Caller& who, const std::string& episode_id) {
    return ChosenClips(who, episode_id, nullptr);
}

Result<App::ClipsExport> App::ExportClips(const Caller& who, const std::string& episode_id, ExportFormat format) {
    EpisodeRow episode;
    PODPROMO_ASSIGN_OR_RETURN(std::vector<ClipRow> clips, ChosenClips(who, episode_id, &episode));
    ExportSource source;
    source.title = episode.title;
    source.file_name = episode.filename;
    source.duration_ms = static_cast<Ms>(std::llround(episode.duration * 1000));
    if (episode.has_video != 0 && episode.archived_at == 0) {
        auto path = deps_.storage->Resolve(episode.audio_path);
        auto info = path.ok() ? ProbeMedia(*path) : Result<MediaInfo>(path.status());
        if (info.ok() && info->has_video) {
            source.has_video = true;
            source.width = info->width;
            source.height = info->height;
            source.rate = StandardRate(info->frame_rate);
        }
    }
    std::vector<ExportClip> list;
    for (const ClipRow& c : clips) {
        const nlohmann::json why = ParseJsonOr(c.explanation, nlohmann::json::array());
        std::string note;
        for (size_t i = 0; i < why.size() && i < 2; ++i) {
            if (why[i].is_string()) note += (note.empty() ? "" : "; ") + why[i].get<std::string>();
        }
        list.push_back({c.id, c.title, note, static_cast<Ms>(std::llround(c.start_time * 1000)),
                        static_cast<Ms>(std::llround(c.end_time * 1000))});
    }
    const std::string title = TrimAscii(TruncateUtf8(episode.title, 80));
    return ClipsExport{podpromo::ExportClips(format, source, list), ExportContentType(format),
                       (title.empty() ? episode_id : title) + ExportExtension(format)};
}

namespace {
// `title` as part of a file name on any system: no folder separators, control or reserved characters; cut to 60
// characters; `fallback` when nothing is left.
std::string FileNamePart(const std::string& title, const std::string& fallback) {
    std::string out = TruncateUtf8(title, 60);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F || std::string_view("/\\:*?\"<>|").find(c) != std::string_view::npos) c = ' ';
    }
    out = TrimAscii(out);
    while (!out.empty() && out.back() == '.') out.pop_back();  // "..", and names Windows would not keep
    return out.empty() ? fallback : out;
}
}  // namespace

Result<EpisodeRow> App::RenameEpisode(const Caller& who, const std::string& episode_id, const std::string& title) {
    if (!IsValidUtf8(title)) return Status::InvalidInput("the title is not UTF-8 text");
    const std::string trimmed = TrimAscii(TruncateUtf8(title, 200));
    if (trimmed.empty()) return Status::InvalidInput("a title needs at least one letter");
    std::optional<EpisodeRow> episode;
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) {
        if (!Sees(tx, who, episode_id)) return;
        if (SetEpisodeTitle(tx, episode_id, trimmed, deps_.clock->NowMs()))
            episode = podpromo::GetEpisode(tx, episode_id);
    }));
    if (!episode) return Status::NotFound("no episode " + episode_id);
    return *episode;
}

Result<App::ClipsArchive> App::ArchiveClips(const Caller& who, const std::string& episode_id) {
    std::vector<ClipRow> clips;
    std::optional<EpisodeRow> episode;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        if (!Sees(tx, who, episode_id)) return;
        episode = podpromo::GetEpisode(tx, episode_id);
        clips = ListClips(tx, episode_id);
    }));
    if (!episode) return Status::NotFound("no episode " + episode_id);
    std::vector<ZipStream::Entry> entries;
    std::set<std::string> stems;
    for (const ClipRow& c : clips) {
        if (c.expired_at != 0) continue;
        const nlohmann::json files = ParseJsonOr(c.file_path, nlohmann::json::object());
        std::string stem = fmt::format("{:02d} {}", c.clip_rank, FileNamePart(c.title, "clip"));
        for (int k = 2; !stems.insert(stem).second; ++k) {  // two renders of one rank and title
            stem = fmt::format("{:02d} {} ({})", c.clip_rank, FileNamePart(c.title, "clip"), k);
        }
        for (const char* kind : {"video", "audio", "thumbnail", "srt", "vtt", "post"}) {
            if (!files.is_object() || !files.contains(kind) || !files[kind].is_string()) continue;
            auto path = deps_.storage->Resolve(files[kind].get<std::string>());
            std::error_code ec;
            if (!path.ok() || !fs::is_regular_file(*path, ec)) continue;
            entries.push_back({stem + path->extension().string(), *path});
        }
    }
    if (entries.empty()) return Status::NotFound("episode " + episode_id + " has no clip files to download");
    PODPROMO_ASSIGN_OR_RETURN(std::unique_ptr<ZipStream> zip, ZipStream::Create(std::move(entries)));
    return ClipsArchive{std::move(zip), FileNamePart(episode->title, episode_id) + " clips.zip"};
}

Result<bool> App::EpisodeVisible(const Caller& who, const std::string& episode_id) {
    bool visible = false;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { visible = Sees(tx, who, episode_id); }));
    return visible;
}

Result<App::EpisodePage> App::ListEpisodes(const Caller& who, int limit, int offset) {
    EpisodePage page;
    if (!who.sees_all && who.user_id.empty()) return page;  // nobody's: sees nothing
    const std::optional<std::string> owner = who.sees_all ? std::nullopt : std::optional<std::string>(who.user_id);
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        page.episodes = podpromo::ListEpisodes(tx, owner, limit, offset);
        page.total = CountEpisodes(tx, owner);
        page.clips_made.clear();
        for (const auto& e : page.episodes) page.clips_made[e.id] = CountClips(tx, e.id);
    }));
    return page;
}

Result<std::pair<ClipRow, std::map<std::string, DbInt>>> App::GetClip(const Caller& who, const std::string& clip_id) {
    std::optional<ClipRow> clip;
    std::map<std::string, DbInt> counts;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        clip = VisibleClip(tx, who, clip_id);
        if (clip) counts = FeedbackCounts(tx, clip_id);
    }));
    if (!clip) return Status::NotFound("no clip " + clip_id);
    return std::make_pair(std::move(*clip), std::move(counts));
}

Result<App::ClipMedia> App::ClipFile(const Caller& who, const std::string& clip_id, const std::string& kind) {
    std::optional<ClipRow> clip;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { clip = VisibleClip(tx, who, clip_id); }));
    if (!clip) return Status::NotFound("no clip " + clip_id);
    if (clip->expired_at != 0) {
        return Status::Gone(fmt::format("clip {}'s files were removed by cleanup (older than {} days and not "
                                        "starred); render its span again to get them back",
                                        clip_id, limits_.clip_retention_days))
            .WithSlug("expired");
    }
    const nlohmann::json files = nlohmann::json::parse(clip->file_path, nullptr, false);
    if (files.is_discarded() || !files.contains(kind) || !files[kind].is_string()) {
        return Status::NotFound("clip " + clip_id + " has no " + kind + " file");
    }
    auto path = deps_.storage->Resolve(files[kind].get<std::string>());
    std::error_code ec;
    if (!path.ok() || !fs::is_regular_file(*path, ec)) {
        return Status::NotFound("the " + kind + " file of clip " + clip_id + " is missing");
    }
    const std::string title = TrimAscii(TruncateUtf8(clip->title, 80));
    return ClipMedia{*path,
                     (title.empty() ? fmt::format("clip {}", clip->clip_rank) : title) + path->extension().string()};
}

Result<ClipRow> App::StarClip(const Caller& who, const std::string& clip_id, bool starred) {
    std::optional<ClipRow> clip;
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) {
        if (!VisibleClip(tx, who, clip_id)) return;
        if (SetClipStarred(tx, clip_id, starred)) clip = podpromo::GetClip(tx, clip_id);
    }));
    if (!clip) return Status::NotFound("no clip " + clip_id);
    return std::move(*clip);
}

namespace {

Status CheckFeedback(const FeedbackAsk& ask) {
    static const std::set<std::string> kinds = {"like", "dislike", "flag", "comment", "rating"};
    if (!kinds.count(ask.kind)) {
        return Status::InvalidInput("kind must be like, dislike, flag, comment or rating");
    }
    if (ask.kind == "rating" && (!ask.rating || *ask.rating < 1 || *ask.rating > 5)) {
        return Status::InvalidInput("rating must be a whole number from 1 to 5");
    }
    if (ask.kind == "comment" && ask.comment.empty()) {
        return Status::InvalidInput("a comment needs its text in \"comment\"");
    }
    return Status::Ok();
}

}  // namespace

Result<FeedbackRecorded> App::RecordFeedback(const Caller& who, const std::string& clip_id, const FeedbackAsk& ask) {
    PODPROMO_RETURN_IF_ERROR(CheckFeedback(ask));
    FeedbackRecorded out;
    FeedbackRow& f = out.row;
    f.id = NewId("fb");
    f.clip_id = clip_id;
    f.kind = ask.kind;
    if (ask.kind == "rating") f.rating = ask.rating;
    f.comment = TruncateUtf8(ask.comment, 4000);
    f.created_at = deps_.clock->NowMs();
    bool found = false;
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) {
        const auto clip = VisibleClip(tx, who, clip_id);
        if (!clip) return;
        found = true;
        f.episode_id = clip->episode_id;
        InsertFeedback(tx, f);
        out.totals = FeedbackCounts(tx, clip_id);
    }));
    if (!found) return Status::NotFound("no clip " + clip_id);
    return out;
}

Result<CancelOutcome> App::CancelJob(const Caller& who, const std::string& job_id) {
    std::optional<JobRow> job;
    CancelOutcome out;
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) {
        job = VisibleJob(tx, who, job_id);
        if (!job || IsFinal(job->state)) return;
        out.ended = RequestCancel(tx, job_id, deps_.clock->NowMs());
        if (out.ended && job->kind != JobKind::kRender) {
            SetEpisodeStatus(tx, job->episode_id, EpisodeStatus::kCancelled, "cancelled by request");
        }
        job = podpromo::GetJob(tx, job_id);
    }));
    if (!job) return Status::NotFound("no job " + job_id);
    if (IsFinal(job->state) && !out.ended) {
        return Status::FailedPrecondition("job " + job_id + " already ended: " + std::string(Name(job->state)))
            .WithSlug("finished");
    }
    if (deps_.wake) deps_.wake();
    if (out.ended) deps_.events->Publish(JobEvent(job_id, job->episode_id, "cancelled", "cancelled", 0));
    out.job = std::move(*job);
    return out;
}

Status App::DeleteEpisode(const Caller& who, const std::string& episode_id) {
    bool found = false;
    std::vector<std::string> running;
    // The check and the delete are one transaction, so no worker can take one of its queued jobs in between (a
    // claim that commits first makes this transaction retry and see the job running).
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) {
        found = Sees(tx, who, episode_id);
        if (!found) return;
        running = RunningJobsForEpisode(tx, episode_id);
        for (const auto& job_id : running) RequestCancel(tx, job_id, deps_.clock->NowMs());
        if (!running.empty()) return;
        podpromo::DeleteEpisode(tx, episode_id);
        InsertAudit(tx, {NewId("au"), deps_.clock->NowMs(), who.actor.empty() ? "unknown" : who.actor, "episode.delete",
                         episode_id, "", "ok", ""});
    }));
    if (!found) return Status::NotFound("no episode " + episode_id);
    if (!running.empty()) {
        return Status::FailedPrecondition("the episode is being processed; its job was asked to stop, retry shortly")
            .WithSlug("busy");
    }
    deps_.storage->RemoveEpisode(episode_id);
    return Status::Ok();
}

Result<JobRow> App::GetJob(const Caller& who, const std::string& job_id) {
    std::optional<JobRow> job;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { job = VisibleJob(tx, who, job_id); }));
    if (!job) return Status::NotFound("no job " + job_id);
    return std::move(*job);
}

Result<QueueCounts> App::QueueStats() {
    QueueCounts q;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { q = GetQueueCounts(tx, deps_.clock->NowMs()); }));
    return q;
}

Result<QueueLoad> App::Load() {
    QueueLoad l;
    l.now_ms = deps_.clock->NowMs();
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        l.queued = CountJobsInState(tx, JobState::kQueued);
        l.running = CountJobsInState(tx, JobState::kRunning);
        l.oldest_runnable_ms = OldestRunnableQueuedJob(tx, l.now_ms);
    }));
    return l;
}

Result<ServiceTotals> App::Totals() {
    ServiceTotals t;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        t.queue = GetQueueCounts(tx, deps_.clock->NowMs());
        t.episodes_by_status = CountEpisodesByStatus(tx);
        t.clips = CountClips(tx);
    }));
    return t;
}

}  // namespace podpromo
