// The service's use cases, free of HTTP: what a handler (api/) or a command calls after parsing its input, and
// before mapping the outcome to its answer. Each use case validates, reads and writes the database in its own
// transactions, moves files in the storage and announces queued jobs. Failures are Status values with a slug
// (core/status.h), which api/'s HttpErrorFor turns into answers.
//
// Threads: an App is shared by every request thread; each call is independent and thread-safe as long as its
// collaborators are (Database, Storage and EventBus are).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "podpromo/app/exports.h"
#include "podpromo/asr/word_edits.h"
#include "podpromo/core/clock.h"
#include "podpromo/core/config.h"
#include "podpromo/core/status.h"
#include "podpromo/feeds/fetch.h"
#include "podpromo/feeds/rss.h"
#include "podpromo/files/storage.h"
#include "podpromo/files/zip.h"
#include "podpromo/jobs/events.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"
#include "podpromo/store/shows.h"

namespace podpromo {

struct SpanRequest;  // jobs/span_render.h

// The limits the use cases enforce, from the service's configuration.
struct AppLimits {
    int max_queue_size = 100;         // queued jobs, all kinds: past it, new work is refused (queue_full)
    int job_max_attempts = 3;         // a new job's attempts
    int64_t max_file_size_bytes = 0;  // an upload's episode file
    int max_episode_seconds = 0;      // an upload's duration
    double clip_retention_days = 90;  // named when an expired clip's files are asked for
    // Each user's share (0: no limit of that kind): their queued and running jobs, the bytes of their uploads, and
    // the hours of audio they upload in any 24 hours.
    int user_max_jobs = 0;
    int user_max_shows = 0;  // the shows they follow: each costs a feed read on the one poller's schedule
    int64_t user_storage_bytes = 0;
    double user_audio_hours_per_day = 0;
    // Shows' feeds: what a fetch may reach and how long it may take (feeds/fetch.h), and how often a feed is read.
    FetchPolicy feed_fetch;
    int64_t feed_poll_every_ms = 3600 * 1000;
    int feed_polls_at_once = 4;  // feeds a round reads at the same time: a slow feed server holds one of them
    static AppLimits FromConfig(const ServiceConfig& config);
};

// What the use cases work with. Every pointer is borrowed and must outlive the App; none may be null, except
// `wake`, which may be empty.
struct AppDeps {
    Database* db = nullptr;
    Storage* storage = nullptr;
    EventBus* events = nullptr;    // queued and cancelled jobs are announced here
    const Clock* clock = nullptr;  // created_at and run_after of new rows
    std::function<void()> wake;    // tells the workers a job is ready (WorkerPool::Wake)
};

// Who a use case runs for. Every episode has an owner (a user id), and what hangs off it (its clips, jobs,
// feedback, files) is the owner's too. A caller sees and changes only their own; `sees_all` (an administrator, or a
// command run on the host) sees everything. Another user's resource answers NotFound, exactly as a missing one does.
struct Caller {
    std::string user_id;
    bool sees_all = false;
    std::string actor;  // who, for the audit log: "user:<name>", "key:<prefix>", "cli"
    static Caller Everyone() { return Caller{"", true, "cli"}; }
    bool Sees(const std::string& owner_id) const { return sees_all || (!user_id.empty() && owner_id == user_id); }
};

// An episode with what hangs off it.
struct EpisodeBundle {
    EpisodeRow episode;
    std::optional<JobRow> job;             // its newest process job
    std::optional<Transcript> transcript;  // only when read with content
    int transcript_revision = 0;           // its word fixes so far (0: as made); only when read with content
    std::vector<ClipRow> clips;            // only when read with content
    // The people its feed names (<podcast:person>: the item's, then the show's), JSON [{name, role, href}]; "[]" for
    // an upload. Only when read with content.
    std::string persons = "[]";
};

// An upload whose body has been stored in tmp/ (see api/upload_body.h): the episode file, an optional cover
// image, the client's file name and the form's text fields (genre, platform, title, show, terms, priority, clips,
// aspect, style, font, color, highlight, size). The files are owned: they are removed unless AcceptUpload keeps
// them.
struct UploadRequest {
    std::unique_ptr<UploadFile> file;   // written, not yet finished
    std::unique_ptr<UploadFile> cover;  // finished or not; may be null
    std::string filename;
    std::map<std::string, std::string> fields;
    std::string owner_id;  // the user it is stored for
};
struct AcceptedUpload {
    EpisodeRow episode;
    JobRow job;
    // The upload's bytes and options, as one key ("" with a cover image: such uploads are never taken for repeats).
    std::string upload_key;
    // A re-sent upload: the same user sent the same bytes with the same options within a day, and the episode it
    // made has not failed. `episode` and `job` are then that upload's, and nothing new was stored or queued.
    bool repeated = false;
};

// A span a person chose to render (seconds into the episode), with the platform (the episode's when not given)
// and the render options as the API takes them (aspect, style, font, color, highlight, size).
struct SpanAsk {
    double start_s = 0, end_s = 0;
    std::optional<std::string> platform;
    nlohmann::json render = nlohmann::json::object();
};
struct SpanRenderAccepted {
    std::string clip_id;  // the clip the job makes
    ScoredClip preview;   // how the span scores, before it is rendered
    JobRow job;
    bool already_pending = false;  // the same span was asked before and its render is still to finish
};

// The transcript at a revision (0: as made, before any word fix), and the newest revision.
struct RevisedTranscript {
    Transcript transcript;
    int revision = 0, latest = 0;
};

// Words fixed by hand: the new revision, the transcript as it is now, and the clips rendered again because their
// span holds a fixed word (with the jobs that render them; a clip whose render was already pending is not queued
// twice, and is among `clips` with no job of its own).
struct WordsFixed {
    int revision = 0;
    Transcript transcript;
    std::vector<std::string> clips;
    std::vector<JobRow> jobs;
};

struct ImportedTranscript {
    JobRow job;  // scores and renders the episode again
    size_t words = 0;
};

// Clips for another platform, genre or count. `rescored` false: the stored clips as they are.
struct RescoreAsk {
    std::optional<std::string> platform, genre;
    std::optional<int> limit;
};
struct Rescored {
    std::string platform, genre;
    bool rescored = false;
    // The stored clips, or (rescored) the clips scored again: a stored one keeps its id, files and star, a new
    // one has an empty id and no files (see RescoreClips).
    std::vector<ClipRow> clips;
    double ms = 0;
};

// Feedback on a clip, as the editor gave it: kind like, dislike, flag, comment or rating.
struct FeedbackAsk {
    std::string kind;
    std::optional<int> rating;  // 1..5, for "rating"
    std::string comment;        // required for "comment"; cut at 4000 bytes
};
struct FeedbackRecorded {
    FeedbackRow row;
    std::map<std::string, DbInt> totals;  // the clip's feedback by kind, after this one
};

struct CancelOutcome {
    JobRow job;          // as it is now
    bool ended = false;  // a queued job ended at once (a running one was asked to stop)
};

struct QueueLoad {
    DbInt queued = 0, running = 0;
    DbInt oldest_runnable_ms = 0;  // created_at of the oldest queued job that may run now; 0 when none
    DbInt now_ms = 0;              // when it was read
};

struct ServiceTotals {
    QueueCounts queue;
    std::map<std::string, DbInt> episodes_by_status;
    DbInt clips = 0;
};

// A show with the items its feed lists (newest first, at most the number asked for) and how many there are.
struct ShowBundle {
    ShowRow show;
    std::vector<FeedItemRow> items;
    DbInt item_count = 0;
};
// What one read of a show's feed found.
struct ShowPolled {
    ShowRow show;          // as it is now
    bool changed = false;  // the feed answered with a new document (not 304)
    int new_items = 0;     // items not seen before
    int processed = 0;     // items queued for processing (auto_process): new ones, and ones a full queue refused
};
// A feed item queued for processing.
struct FeedItemQueued {
    EpisodeRow episode;
    JobRow job;
};

class App {
  public:
    App(AppDeps deps, AppLimits limits);

    // What a new job adds to its owner's use: an upload's bytes and seconds of audio (nothing for other jobs).
    struct Adding {
        int64_t bytes = 0;
        double seconds = 0;
    };
    // The capacity rule, in one place: ResourceExhausted "queue_full" (retry in 30 s) when the queue holds
    // max_queue_size queued jobs; then the owner's share (AppLimits): RateLimited "user_jobs" (retry in 30 s) at
    // user_max_jobs of theirs queued or running, PermissionDenied "user_storage" when the upload would pass
    // user_storage_bytes (deleting episodes frees it), RateLimited "user_audio_hours" when it would pass the hours of a
    // day (retry when the oldest counted upload is a day old). Each message names the limit. An empty owner has no
    // share. RoomInQueue reads it on its own; RoomIn checks inside the caller's transaction, and EnqueueIn checks and
    // inserts `job` there, so two requests cannot both take the last place.
    Status RoomInQueue(const std::string& owner_id);
    Status RoomIn(Tx& tx, const std::string& owner_id, Adding adding) const;
    Status EnqueueIn(Tx& tx, const JobRow& job) const;

    // Use cases. Each returns NotFound for an unknown id, and for one `who` may not see (Caller).
    // Checks and stores an upload: UTF-8 fields, options, the cover, and that the file decodes, is audible and
    // longer than a clip (Unsupported "unsupported_media", Unprocessable "unusable_media", InvalidInput); then the
    // episode and its process job (held until the file is in place), the file moved into uploads/, the job
    // released and announced. Nothing is left behind on failure. A re-sent upload (AcceptedUpload::repeated) stores
    // nothing and answers with the episode and job of the upload it repeats.
    Result<AcceptedUpload> AcceptUpload(UploadRequest upload);
    // Replaces the transcript (SRT, VTT, JSON or text, at most 50 MB: TooLarge; InvalidInput
    // "invalid_transcript") and queues scoring and rendering again at high priority. FailedPrecondition "busy"
    // while a job of the episode runs or waits.
    Result<ImportedTranscript> ImportTranscript(const Caller& who, const std::string& episode_id,
                                                const std::string& text);
    // Fixes words of the transcript (asr/word_edits.h's edits, in order: each sees the words as the ones before it
    // left them). `seen` is the revision the editor saw: FailedPrecondition "stale_revision" when another fix came
    // first. The edits are stored as the next revision, with the words they replaced, in one transaction with a
    // render job for each rendered clip whose span holds a fixed word: its video, captions, title and post text are
    // made again with the new words, and its rank, star and feedback are kept. FailedPrecondition "not_ready" without
    // a transcript and "busy" while the episode's process job waits or runs; InvalidInput for edits outside the
    // transcript; the queue's limits as EnqueueIn's (then nothing is stored).
    Result<WordsFixed> FixWords(const Caller& who, const std::string& episode_id, int seen,
                                const std::vector<WordEdit>& edits);
    // Names the transcript's speakers: `names` maps a speaker as the transcript calls it ("S1", or a name given
    // before) to a name (a <podcast:person> of the feed, or any other), each segment of theirs taking it. At most 20,
    // each name 1–40 characters of UTF-8 text on one line. InvalidInput for a speaker the transcript does not have or
    // a bad name; FailedPrecondition "not_ready" and "busy" as FixWords'. Returns the transcript as named.
    Result<Transcript> NameSpeakers(const Caller& who, const std::string& episode_id,
                                    const std::map<std::string, std::string>& names);
    // The word fixes, oldest first.
    Result<std::vector<TranscriptRevisionRow>> TranscriptRevisions(const Caller& who, const std::string& episode_id);
    // Scores the span now (InvalidInput when it cannot make a clip; FailedPrecondition "not_ready" before the
    // episode is ready) and queues its render at high priority; the same span asked again while pending is that
    // render. RateLimited "too_many_renders" at kMaxPendingRenders per episode.
    Result<SpanRenderAccepted> RequestSpanRender(const Caller& who, const std::string& episode_id, const SpanAsk& ask);
    // Several renders at once (the same span in several frames, say), all queued or none: InvalidInput for none or
    // more than kMaxPendingRenders, RateLimited "too_many_renders" when they would pass it with those pending.
    Result<std::vector<SpanRenderAccepted>> RequestSpanRenders(const Caller& who, const std::string& episode_id,
                                                               const std::vector<SpanAsk>& asks);
    // How the span would score, as RequestSpanRender would score it, with nothing queued: the editor shows it while a
    // clip is trimmed. The same refusals.
    Result<ScoredClip> ScoreSpan(const Caller& who, const std::string& episode_id, const SpanAsk& ask);
    // A still of the span as its render would look with the asked platform and render options (jobs/span_render.h's
    // SpanStill), as JPEG bytes, before anything is rendered. The same refusals as ScoreSpan; Unavailable without
    // ffmpeg.
    Result<std::string> PreviewSpan(const Caller& who, const std::string& episode_id, const SpanAsk& ask);
    // Removes the episode, its rows and files. A running job of it is asked to stop first: FailedPrecondition
    // "busy" then, and the caller retries.
    Status DeleteEpisode(const Caller& who, const std::string& episode_id);
    // Renames the episode (its clips' files keep their names; downloads and exports use the new title). InvalidInput
    // for a title that is not UTF-8 or is blank; cut to 200 characters. The episode as it is now.
    Result<EpisodeRow> RenameEpisode(const Caller& who, const std::string& episode_id, const std::string& title);
    // The episode's clips, or (for another platform, genre or count) its transcript scored again.
    // FailedPrecondition "not_ready" without a transcript.
    Result<Rescored> Rescore(const Caller& who, const std::string& episode_id, const RescoreAsk& ask);
    // Stores one piece of feedback (InvalidInput for a bad kind, rating or missing comment).
    Result<FeedbackRecorded> RecordFeedback(const Caller& who, const std::string& clip_id, const FeedbackAsk& ask);
    // Cancels a queued job at once, or asks a running one to stop. FailedPrecondition "finished" when it ended.
    Result<CancelOutcome> CancelJob(const Caller& who, const std::string& job_id);
    // Stars (keeps past the clip retention) or unstars a clip; the clip as it is now.
    Result<ClipRow> StarClip(const Caller& who, const std::string& clip_id, bool starred);

    // Shows (a podcast's RSS feed). AddShow reads the feed at once (feeds/fetch.h's limits and refusals:
    // InvalidInput "invalid_url", PermissionDenied "address_refused", Unavailable "fetch_failed"/"fetch_timeout",
    // TooLarge; InvalidInput "invalid_feed" for what is not a feed) and stores the show and the items it lists; those
    // are not processed (a back catalogue is not queued by itself), items that appear in later polls are when
    // `auto_process`. `settings` holds the new episodes' genre, platform, clips and render options (as an upload's
    // fields). The same feed added again by its owner is the show they have (`existed`). PermissionDenied
    // "user_shows" when the owner follows user_max_shows shows already (checked before the read, and again in the
    // transaction that stores the show, so parallel adds cannot pass it together).
    struct ShowAdded {
        ShowBundle bundle;
        bool existed = false;
    };
    Result<ShowAdded> AddShow(const Caller& who, const std::string& feed_url, bool auto_process,
                              const std::map<std::string, std::string>& settings);
    Result<std::vector<ShowRow>> ListShows(const Caller& who);
    Result<ShowBundle> GetShow(const Caller& who, const std::string& show_id, int item_limit);
    Status DeleteShow(const Caller& who, const std::string& show_id);
    // The show's look: the render options (pipeline.h's kRenderOptionKeys but "aspect") its new episodes are made
    // with and its episodes' renders start from. `look` holds those to change (an empty text: back to the style's
    // own). The show's episodes take it too; the clips they already have stay as they were rendered until rendered
    // again. InvalidInput naming the bad option; NotFound for a show the caller does not see.
    Result<ShowRow> SetShowLook(const Caller& who, const std::string& show_id, const nlohmann::json& look);
    // The show's logo from a picture's bytes (at most kMaxLogoBytes; kept as media/render.h's NormalizeLogo makes it,
    // in DATA_DIR/shows/<id>/logo.png), drawn at the top right of its episodes' clips; empty bytes remove it.
    // Unsupported "unsupported_media" for what is not a picture, TooLarge, NoSpace; NotFound as above.
    static constexpr size_t kMaxLogoBytes = 5 << 20;
    Result<ShowRow> SetShowLogo(const Caller& who, const std::string& show_id, const std::string& picture);
    // The logo's PNG bytes; NotFound when the show has none.
    Result<std::string> ShowLogo(const Caller& who, const std::string& show_id);
    // Reads the feed now (a conditional request with the last ETag and Last-Modified), records the outcome on the
    // show (also when the read failed: the error is the show's last_status "error", and the Status is returned), stores
    // new items and queues those when the show processes new items by itself.
    Result<ShowPolled> PollShow(const Caller& who, const std::string& show_id);
    // Polls every show whose time has come (each show's next poll is one interval after its last), up to
    // `feed_polls_at_once` feeds at a time on threads of its own, joined before it returns. For the one host that
    // leads (the housekeeper's lease). Returns how many were read; a failed read is recorded on its show.
    // `stop` (may be null), once cancelled, ends the round: the reads in progress stop (they record nothing, and
    // their shows stay due) and no other show is read.
    Result<int> PollDueShows(const CancelToken* stop = nullptr);
    // Queues an item of a show's feed: an episode (downloaded by its job, under the upload limits) and its process
    // job. A second request for an item already queued is that episode (FailedPrecondition "already_processed").
    Result<FeedItemQueued> ProcessFeedItem(const Caller& who, const std::string& show_id, const std::string& guid);
    // Each processed item of the show with its episode's soundbites (Soundbites' choice), newest first; items whose
    // episode has no clips yet are left out. For a show-level soundbite feed a host merges into its own.
    struct ItemSoundbites {
        FeedItemRow item;
        std::vector<ClipRow> clips;
    };
    Result<std::vector<ItemSoundbites>> ShowSoundbites(const Caller& who, const std::string& show_id);

    // Reads.
    // The episode itself; EpisodeVisible only says whether `who` may see it (false also for no such episode).
    Result<bool> EpisodeVisible(const Caller& who, const std::string& episode_id);
    Result<EpisodeBundle> GetEpisode(const Caller& who, const std::string& episode_id, bool with_content);
    // The clips to offer as the episode's Podcasting 2.0 soundbites: the starred ones when the editor starred any,
    // else all of its clips; in the order they come in the episode.
    Result<std::vector<ClipRow>> Soundbites(const Caller& who, const std::string& episode_id);
    // The same clips as an edit decision list for a video editor in `format` (app/exports.h), and the name to save it
    // under (the episode's title). Timecodes count frames at the source video's rate, read from its file; 30 fps for
    // audio alone (or a source already archived to audio).
    struct ClipsExport {
        std::string body, content_type, download_name;
    };
    Result<ClipsExport> ExportClips(const Caller& who, const std::string& episode_id, ExportFormat format);
    // Every clip's files (video, audio cut, thumbnail, captions, post text) as one ZIP archive to stream, named
    // "NN title.ext" by rank, and the name to save it under ("<episode title> clips.zip"). Clips whose files cleanup
    // removed are left out. NotFound when no clip has a file.
    struct ClipsArchive {
        std::unique_ptr<ZipStream> zip;
        std::string download_name;
    };
    Result<ClipsArchive> ArchiveClips(const Caller& who, const std::string& episode_id);
    // A page of the caller's episodes, newest first, with how many they have and how many clips each has now (the
    // ranked ones and those rendered from a chosen span).
    struct EpisodePage {
        std::vector<EpisodeRow> episodes;
        DbInt total = 0;
        std::map<std::string, DbInt> clips_made;  // by episode id
    };
    Result<EpisodePage> ListEpisodes(const Caller& who, int limit, int offset);
    // The transcript, as it is now or (`revision`) as it was after that many word fixes (0: as made); NotFound
    // "not_ready" before there is one, InvalidInput for a revision it never had.
    Result<RevisedTranscript> GetTranscript(const Caller& who, const std::string& episode_id,
                                            std::optional<int> revision = std::nullopt);
    // The clip and its feedback totals.
    Result<std::pair<ClipRow, std::map<std::string, DbInt>>> GetClip(const Caller& who, const std::string& clip_id);
    // A clip's file of `kind` (video, audio, thumbnail, srt, vtt, post) and the name to save it under. Gone "expired"
    // when cleanup removed it; NotFound when it was never made or is missing.
    struct ClipMedia {
        std::filesystem::path path;
        std::string download_name;  // the clip's title (cut to 80 characters; "clip N" without one) and the extension
    };
    Result<ClipMedia> ClipFile(const Caller& who, const std::string& clip_id, const std::string& kind);
    Result<JobRow> GetJob(const Caller& who, const std::string& job_id);
    Result<QueueCounts> QueueStats();
    // For the health check: how full the queue is and how long its oldest runnable job has waited.
    Result<QueueLoad> Load();
    Result<ServiceTotals> Totals();

  private:
    // A queued job of `kind` for the episode, with the configured attempts, created (and runnable) at `created_at`.
    JobRow NewJob(const std::string& episode_id, JobKind kind, int priority, DbInt created_at) const;
    Status StoreUpload(UploadRequest& upload, const AcceptedUpload& rows);
    Result<AcceptedUpload> RepeatedUpload(const std::string& episode_id);
    Result<AcceptedUpload> CheckUpload(UploadRequest& upload);
    Status StoreShowLook(const ShowRow& show);
    // Checks a finished picture upload (`what` names it in the refusal: "the cover") and rewrites it by `normalize`
    // (media/render.h's NormalizeImage or NormalizeLogo). Unsupported "unsupported_media" for what is not a picture.
    static Status CheckPicture(UploadFile* picture, const std::string& what,
                               Status (*normalize)(const std::filesystem::path&, const CancelToken*));
    Status QueueSpanRenders(Tx& tx, const std::string& episode_id, std::vector<SpanRequest>& spans,
                            std::vector<SpanRenderAccepted>& out) const;
    Result<ScoredClip> ScoreSpanInto(const Caller& who, const std::string& episode_id, const SpanAsk& ask,
                                     SpanRequest* span);
    Result<std::vector<JobRow>> QueueRerenders(Tx& tx, const EpisodeRow& episode,
                                               const std::vector<std::pair<Ms, Ms>>& spans,
                                               std::vector<std::string>* clips) const;
    Result<std::vector<ClipRow>> ChosenClips(const Caller& who, const std::string& episode_id, EpisodeRow* episode);
    Result<ShowRow> VisibleShow(const Caller& who, const std::string& show_id);
    // Reads the show's feed and records what it found (`stop` as PollDueShows's; Cancelled then, recording nothing).
    Result<ShowPolled> Poll(ShowRow show, bool first, const CancelToken* stop = nullptr);
    // PollDueShows's read of one show: Poll, with the outcome logged. Cancelled when `stop` ended it; otherwise Ok
    // (a failed read is recorded on the show).
    Status PollOneDue(ShowRow show, const CancelToken* stop);
    // Queues the feed items automatic processing owes `show` (auto_pending), and returns how many it queued. One
    // refused for lack of room (the queue, the owner's quota) stays owed until the next read; one that never can be
    // made (its enclosure is refused) is no longer owed. Failures are logged.
    int QueueOwedItems(const ShowRow& show, const std::vector<FeedItemRow>& owed);
    // PermissionDenied "user_shows" when the owner follows limits_.user_max_shows shows already.
    Status RoomForShow(Tx& tx, const std::string& owner_id) const;
    Result<FeedItemQueued> QueueFeedItem(const ShowRow& show, const FeedItemRow& item, bool by_poll);
    AppDeps deps_;
    AppLimits limits_;
};

}  // namespace podpromo
