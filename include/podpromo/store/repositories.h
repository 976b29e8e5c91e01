// Every SQL statement of the service, as functions over a Tx (so callers choose the transaction: Database::With
// or InTransaction). Portable SQL only (SQLite and PostgreSQL). Times are milliseconds since the epoch. Errors
// are thrown and turned into Status by Database::With / InTransaction, so these run only inside them. A Tx is
// one thread's; the functions keep no state.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "podpromo/core/lifecycle.h"
#include "podpromo/core/types.h"
#include "podpromo/store/database.h"

namespace podpromo {

using DbInt = long long;  // SOCI binds 64-bit integers as long long on every backend

struct EpisodeRow {
    std::string id, title, filename, audio_path, checksum, format;
    DbInt size_bytes = 0;
    int has_video = 0;
    EpisodeStatus status = EpisodeStatus::kQueued;
    double duration = 0;
    std::string genre, detected_genre, platform;
    int clip_count = 5;
    std::string analysis;  // JSON: genre_scores, ad_spans, stage_seconds, engine
    std::string error;
    DbInt created_at = 0, updated_at = 0;
    std::string render_options = "{}";  // JSON: aspect, style, font, color, highlight, size
    DbInt archived_at = 0;              // when the source was archived (audio_path then names the Opus copy)
    std::string owner_id;               // the user it belongs to ("" before accounts: see store/accounts.h)
};

struct ClipRow {
    std::string id, episode_id;
    int clip_rank = 0;
    double start_time = 0, end_time = 0, duration = 0, score = 0;
    int display_score = 0;
    Confidence confidence = Confidence::kLow;
    std::string genre, platform, title, text;
    std::string features, explanation, hashtags, file_path;  // JSON documents
    DbInt created_at = 0;
    int starred = 0;       // kept past the clip retention
    DbInt expired_at = 0;  // when cleanup removed its files (file_path is then "{}")
};

struct ErrorGroup {
    std::string kind, stage;
    DbInt count = 0, first_seen = 0, last_seen = 0;
    std::string sample;
};

struct FeedbackRow {
    std::string id, clip_id, episode_id, kind;  // like, dislike, flag, comment, rating
    std::optional<int> rating;
    std::string comment;
    DbInt created_at = 0;
};

struct JobRow {
    std::string id, episode_id;
    int priority = 1;  // 2 high, 1 normal, 0 low
    JobState state = JobState::kQueued;
    std::string stage = "queued";
    double progress = 0;
    Checkpoint checkpoint = Checkpoint::kNone;  // where a retry resumes
    int attempts = 0, max_attempts = 3;
    std::string error, lease_owner;
    DbInt lease_expires_at = 0, run_after = 0;
    int cancel_requested = 0;
    std::string stage_ms = "{}";  // JSON: stage -> milliseconds
    DbInt created_at = 0, started_at = 0, finished_at = 0;
    JobKind kind = JobKind::kProcess;
    std::string payload = "{}";  // JSON: what a "render" job renders (clip_id, start, end, platform, options)
    DbInt lease_epoch = 0;       // incremented by every claim: the fence every write of the job's effects names
};

// Episodes.
void InsertEpisode(Tx& tx, const EpisodeRow& e);
std::optional<EpisodeRow> GetEpisode(Tx& tx, const std::string& id);
// Newest first; only `owner`'s when given (every episode otherwise).
std::vector<EpisodeRow> ListEpisodes(Tx& tx, const std::optional<std::string>& owner, int limit, int offset);
DbInt CountEpisodes(Tx& tx, const std::optional<std::string>& owner);
// The episode's clips (ranked and rendered from a chosen span, expired ones included).
DbInt CountClips(Tx& tx, const std::string& episode_id);
// An upload's key (its bytes and options: App::AcceptUpload), kept for the episode it made.
void SetUploadKey(Tx& tx, const std::string& episode_id, const std::string& key);
// The newest episode of `owner` made by an upload with `key` since `since` that has not failed or been cancelled.
std::optional<std::string> EpisodeWithUploadKey(Tx& tx, const std::string& owner, const std::string& key, DbInt since);
// What a user's episodes hold: their queued and running jobs, the bytes of their uploads, and the audio uploaded
// since `since` (seconds, and when the oldest of it came; 0 when none).
struct OwnerUse {
    DbInt active_jobs = 0;
    DbInt bytes = 0;
    double seconds_since = 0;
    DbInt oldest_since = 0;
};
OwnerUse UseOf(Tx& tx, const std::string& owner, DbInt since);
// The owner (a user id; "" for an episode stored before accounts and not yet claimed); nullopt for no such episode.
std::optional<std::string> EpisodeOwner(Tx& tx, const std::string& episode_id);
void SetEpisodeStatus(Tx& tx, const std::string& id, EpisodeStatus status, const std::string& error);
// Gives the episode a new title; false when there is no such episode.
bool SetEpisodeTitle(Tx& tx, const std::string& id, const std::string& title, DbInt now);
// Records the episode's source file once its job has downloaded it (a feed's episode): the file and what it is, and
// its analysis so far (the feed's chapters).
void SetEpisodeSource(Tx& tx, const EpisodeRow& e);
void SetEpisodeAnalysis(Tx& tx, const EpisodeRow& e);  // duration, genres, analysis, status
// Removes the episode with its segments, clips, feedback and jobs; a feed item made into it is free to be made again.
void DeleteEpisode(Tx& tx, const std::string& id);
// Total size_bytes of every episode's upload, and how many there are.
std::pair<DbInt, DbInt> UploadTotals(Tx& tx);

// Transcript, one row per segment with its words as JSON. ReplaceTranscript starts it anew: the word fixes of the
// transcript it replaces go with it (they fixed words that are gone).
void ReplaceTranscript(Tx& tx, const std::string& episode_id, const Transcript& t);
std::optional<Transcript> LoadTranscript(Tx& tx, const std::string& episode_id);
// Rewrites the words and text of the segments at `indices` (a word fix changes no segment's times or speaker).
void UpdateTranscriptSegments(Tx& tx, const std::string& episode_id, const Transcript& t,
                              const std::vector<size_t>& indices);
// Calls speaker `from` of the episode's transcript `to` in every segment; returns how many segments it named.
int RenameSpeaker(Tx& tx, const std::string& episode_id, const std::string& from, const std::string& to);

// A word fix to an episode's transcript: revisions count 1, 2, ... from the transcript as made (revision 0), each with
// the edits it applied as JSON (asr/word_edits.h's AppliedEdit, which keeps the words it replaced).
struct TranscriptRevisionRow {
    std::string episode_id;
    int revision = 0;
    DbInt created_at = 0;
    std::string actor;  // who, as the audit log names them
    std::string edits;  // JSON array
};
// The newest revision's number; 0 when the words are as made.
int CurrentTranscriptRevision(Tx& tx, const std::string& episode_id);
void InsertTranscriptRevision(Tx& tx, const TranscriptRevisionRow& row);
std::vector<TranscriptRevisionRow> ListTranscriptRevisions(Tx& tx, const std::string& episode_id);

// Clips chosen for the episode's own platform and genre.
void ReplaceClips(Tx& tx, const std::string& episode_id, const std::vector<ClipRow>& clips);
// Adds one clip (a span a person chose) beside the ranked ones.
void InsertClip(Tx& tx, const ClipRow& clip);
// A clip rendered again over the same span (its words were fixed): its title, text, score, confidence, features,
// explanation, hashtags and files; its rank, span, star and feedback stay. False when the clip is gone.
bool UpdateRenderedClip(Tx& tx, const ClipRow& clip);
std::vector<ClipRow> ListClips(Tx& tx, const std::string& episode_id);
std::optional<ClipRow> GetClip(Tx& tx, const std::string& id);

// Every clip of every episode (for storage reconciliation).
std::vector<ClipRow> ListAllClips(Tx& tx);
// Stars or unstars a clip; false when there is no such clip.
bool SetClipStarred(Tx& tx, const std::string& id, bool starred);
// Marks an unstarred clip's files as removed by cleanup; false when it is starred, expired already or gone
// (the caller then must not remove its files).
bool ExpireClip(Tx& tx, const std::string& id, DbInt now);
void DeleteClip(Tx& tx, const std::string& id);
// Points the episode at its archived source, only while it still names `old_path`, was not archived and has
// no queued or running job. False otherwise (the caller then must not remove the old source).
bool ArchiveEpisodeSource(Tx& tx, const std::string& id, const std::string& old_path, const std::string& new_path,
                          DbInt now);
// Episodes with a queued or running job of any kind: cleanup leaves their files alone.
std::set<std::string> EpisodesWithActiveJobs(Tx& tx);

// Totals for the metrics.
std::map<std::string, DbInt> CountEpisodesByStatus(Tx& tx);
DbInt CountClips(Tx& tx);
std::map<std::string, DbInt> CountFeedbackByKind(Tx& tx);

// Errors grouped by (kind, stage): counted, with first and last time seen and the latest message.
void RecordError(Tx& tx, const std::string& kind, const std::string& stage, const std::string& message, DbInt now);
// Groups seen at or after `since`, most recent first.
std::vector<ErrorGroup> ListErrors(Tx& tx, DbInt since);
// Removes groups last seen before `before`. Returns how many.
int PruneErrors(Tx& tx, DbInt before);

// Feedback.
void InsertFeedback(Tx& tx, const FeedbackRow& f);
// kind -> count, plus "rating_sum" for ratings.
std::map<std::string, DbInt> FeedbackCounts(Tx& tx, const std::string& clip_id);

// Jobs: the persistent priority queue.
void InsertJob(Tx& tx, const JobRow& j);
std::optional<JobRow> GetJob(Tx& tx, const std::string& id);
// The newest "process" job of the episode (render jobs are the clips').
std::optional<JobRow> LatestJobForEpisode(Tx& tx, const std::string& episode_id);
// Ids of the episode's running jobs, of every kind.
std::vector<std::string> RunningJobsForEpisode(Tx& tx, const std::string& episode_id);
// The episode's render jobs still to finish (queued or running), oldest first.
std::vector<JobRow> PendingRenderJobs(Tx& tx, const std::string& episode_id);
// The episode's render jobs, oldest first: those queued or running, or (`pending_only` false) all it ever had (what a
// clip was rendered with).
std::vector<JobRow> RenderJobsFor(Tx& tx, const std::string& episode_id, bool pending_only);
DbInt CountJobsInState(Tx& tx, JobState state);
// created_at of the oldest queued job that may run now (not waiting for a retry); 0 when there is none.
DbInt OldestRunnableQueuedJob(Tx& tx, DbInt now);
// Takes the queued job that comes first (priority high to low, then oldest) whose run_after has come,
// marking it running under `owner` until `lease_until`, with a lease epoch one higher than its last. Safe against other
// workers and processes: on PostgreSQL one UPDATE takes the first row no other claim has locked (FOR UPDATE SKIP
// LOCKED; run it at READ COMMITTED); on SQLite the update only succeeds while the job is still queued.
std::optional<JobRow> ClaimNextJob(Tx& tx, const std::string& owner, DbInt now, DbInt lease_until);
// Extends the lease while `owner` still holds the job; false when it no longer does.
bool RenewLease(Tx& tx, const std::string& job_id, const std::string& owner, DbInt lease_until);
// The fence: true while the job still runs under lease `epoch`, and then no claim or rescue can change that before the
// transaction ends (the row, or SQLite's database, is locked by a write that changes nothing). Call it first in every
// transaction that writes a job's effects, and write nothing when it is false.
bool HoldsLease(Tx& tx, const std::string& job_id, DbInt epoch);
// Progress of a job running under lease `epoch`; false (nothing written) when it no longer does.
bool SetJobProgress(Tx& tx, const std::string& job_id, DbInt epoch, const std::string& stage, double progress,
                    const std::string& stage_ms);
void SetJobCheckpoint(Tx& tx, const std::string& job_id, Checkpoint checkpoint);
// Ends a running job: succeeded, failed or cancelled.
void FinishJob(Tx& tx, const std::string& job_id, JobState state, const std::string& error, DbInt now);
// Back to the queue: after a transient failure (counted, with run_after for the backoff) or at shutdown
// (not counted).
void RequeueJob(Tx& tx, const std::string& job_id, const std::string& error, DbInt run_after, bool count_attempt);
// Asks a job to stop: a queued one is cancelled at once (returns true), a running one is flagged.
bool RequestCancel(Tx& tx, const std::string& job_id, DbInt now);
bool CancelRequested(Tx& tx, const std::string& job_id);
// A running job whose worker died (its process is gone, or its lease ran out): back to the queue with that
// attempt counted (the claim counted it), or, when its attempts are used up, failed with the reason and its
// episode with it (a poison job that kills every worker that takes it). True when it was queued again.
bool ReleaseDeadWorkersJob(Tx& tx, const std::string& job_id, DbInt now);
// Running jobs whose lease ended before `now`, each through ReleaseDeadWorkersJob. Returns how many were queued. On
// PostgreSQL it locks the rows it takes and never waits for one another session holds (it is left for a later call):
// run it in a READ COMMITTED transaction, so the locks last until the commit.
int RecoverExpiredJobs(Tx& tx, DbInt now);
// Jobs that ended (succeeded, failed or cancelled) at or after `since`, oldest first, at most `limit`.
std::vector<JobRow> JobsFinishedSince(Tx& tx, DbInt since, int limit);
// (job id, lease owner) of every running job.
std::vector<std::pair<std::string, std::string>> RunningJobOwners(Tx& tx);

// Leader leases: one holder at a time of a named duty among every process that shares the database. A holder renews
// before expires_at; once it stops, the next process to ask takes the duty with the next epoch.
struct LeaderLease {
    std::string holder;
    DbInt epoch = 0;
    DbInt expires_at = 0;
    DbInt next_run_at = 0;  // the duty's schedule (0: none yet)
};
// Takes `name` for `holder` until `now + ttl` when it is free, has expired or is `holder`'s already (a renewal), and
// returns the lease as it stands afterwards: its holder says whether the caller holds it. A new lease's schedule
// starts at `first_run_at`; a takeover keeps the schedule.
LeaderLease TakeLeaderLease(Tx& tx, const std::string& name, const std::string& holder, DbInt now, DbInt ttl,
                            DbInt first_run_at);
// The duty's run is due and `holder` still holds `name` at `epoch`: moves the schedule on to `next_run_at` and
// returns true (the caller runs it). False, and nothing changed, otherwise.
bool ClaimScheduledRun(Tx& tx, const std::string& name, const std::string& holder, DbInt epoch, DbInt now,
                       DbInt next_run_at);
// Lets go of `name` if `holder` holds it (a clean stop): the next process to ask takes it at once.
void ReleaseLeaderLease(Tx& tx, const std::string& name, const std::string& holder);

// A recognition engine (named by its kind and URL) that asked every caller to wait: paused until `until` (a later
// pause than the one kept replaces it, an earlier one does not).
void PauseEngine(Tx& tx, const std::string& engine, DbInt until);
// When the engine's pause ends; 0 when it was never paused.
DbInt EnginePausedUntil(Tx& tx, const std::string& engine);

struct QueueCounts {
    std::map<std::string, DbInt> by_state;            // queued, running, ...
    std::map<std::string, DbInt> queued_by_priority;  // high, normal, low
    DbInt finished_last_hour = 0;
    double avg_wait_s = 0, avg_run_s = 0;  // over jobs finished in the last hour
};
QueueCounts GetQueueCounts(Tx& tx, DbInt now);

std::string PriorityName(int priority);
// "high" 2, "normal" 1, "low" 0; -1 when unknown.
int PriorityFromName(const std::string& name);

}  // namespace podpromo
