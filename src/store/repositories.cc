#include "podpromo/store/repositories.h"

#include <fmt/format.h>
#include <soci/soci.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "fetch_all.h"
#include "podpromo/core/utf8.h"
#include "podpromo/core/word_json.h"
#include "podpromo/store/database.h"

namespace podpromo {
namespace {
using nlohmann::json;
using soci::into;
using soci::use;

// The enum named by a stored string; a name the code does not know is a corrupt row (SOCI's errors are turned into
// a Status by Database::With).
template <typename E>
E ParseStored(const std::string& name, const char* column) {
    const auto value = Parse<E>(name);
    if (!value) throw std::runtime_error(fmt::format("unknown {} '{}' in the database", column, name));
    return *value;
}

constexpr const char* kEpisodeColumns =
    "id, title, filename, audio_path, size_bytes, checksum, format, has_video, status, duration, genre,"
    " detected_genre, platform, clip_count, analysis, error, created_at, updated_at, render_options, archived_at, "
    "owner_id";

// Binds every column of a SELECT kEpisodeColumns into `e`; nullable columns through `ind`.
struct EpisodeInto {
    EpisodeRow e;
    std::string status;
    soci::indicator ind_duration = soci::i_ok, ind_detected = soci::i_ok, ind_analysis = soci::i_ok,
                    ind_error = soci::i_ok;
    void Bind(soci::statement& st) {
        st.exchange(into(e.id));
        st.exchange(into(e.title));
        st.exchange(into(e.filename));
        st.exchange(into(e.audio_path));
        st.exchange(into(e.size_bytes));
        st.exchange(into(e.checksum));
        st.exchange(into(e.format));
        st.exchange(into(e.has_video));
        st.exchange(into(status));
        st.exchange(into(e.duration, ind_duration));
        st.exchange(into(e.genre));
        st.exchange(into(e.detected_genre, ind_detected));
        st.exchange(into(e.platform));
        st.exchange(into(e.clip_count));
        st.exchange(into(e.analysis, ind_analysis));
        st.exchange(into(e.error, ind_error));
        st.exchange(into(e.created_at));
        st.exchange(into(e.updated_at));
        st.exchange(into(e.render_options));
        st.exchange(into(e.archived_at));
        st.exchange(into(e.owner_id));
    }
    EpisodeRow Get() const {
        EpisodeRow r = e;
        r.status = ParseStored<EpisodeStatus>(status, "episode status");
        if (ind_duration != soci::i_ok) r.duration = 0;
        if (ind_detected != soci::i_ok) r.detected_genre.clear();
        if (ind_analysis != soci::i_ok) r.analysis.clear();
        if (ind_error != soci::i_ok) r.error.clear();
        return r;
    }
};

constexpr const char* kClipColumns =
    "id, episode_id, clip_rank, start_time, end_time, duration, score, display_score, confidence, genre, platform,"
    " title, text, features, explanation, hashtags, file_path, created_at, starred, expired_at";

// `confidence` receives the stored name of c.confidence.
void BindClip(soci::statement& st, ClipRow& c, std::string& confidence) {
    st.exchange(into(c.id));
    st.exchange(into(c.episode_id));
    st.exchange(into(c.clip_rank));
    st.exchange(into(c.start_time));
    st.exchange(into(c.end_time));
    st.exchange(into(c.duration));
    st.exchange(into(c.score));
    st.exchange(into(c.display_score));
    st.exchange(into(confidence));
    st.exchange(into(c.genre));
    st.exchange(into(c.platform));
    st.exchange(into(c.title));
    st.exchange(into(c.text));
    st.exchange(into(c.features));
    st.exchange(into(c.explanation));
    st.exchange(into(c.hashtags));
    st.exchange(into(c.file_path));
    st.exchange(into(c.created_at));
    st.exchange(into(c.starred));
    st.exchange(into(c.expired_at));
}

constexpr const char* kJobColumns =
    "id, episode_id, priority, state, stage, progress, checkpoint, attempts, max_attempts, error, lease_owner,"
    " lease_expires_at, run_after, cancel_requested, stage_ms, created_at, started_at, finished_at, kind, payload,"
    " lease_epoch";

struct JobInto {
    JobRow j;
    std::string state, checkpoint, kind;
    soci::indicator ind_error = soci::i_ok, ind_owner = soci::i_ok;
    void Bind(soci::statement& st) {
        st.exchange(into(j.id));
        st.exchange(into(j.episode_id));
        st.exchange(into(j.priority));
        st.exchange(into(state));
        st.exchange(into(j.stage));
        st.exchange(into(j.progress));
        st.exchange(into(checkpoint));
        st.exchange(into(j.attempts));
        st.exchange(into(j.max_attempts));
        st.exchange(into(j.error, ind_error));
        st.exchange(into(j.lease_owner, ind_owner));
        st.exchange(into(j.lease_expires_at));
        st.exchange(into(j.run_after));
        st.exchange(into(j.cancel_requested));
        st.exchange(into(j.stage_ms));
        st.exchange(into(j.created_at));
        st.exchange(into(j.started_at));
        st.exchange(into(j.finished_at));
        st.exchange(into(kind));
        st.exchange(into(j.payload));
        st.exchange(into(j.lease_epoch));
    }
    JobRow Get() const {
        JobRow r = j;
        r.state = ParseStored<JobState>(state, "job state");
        r.checkpoint = ParseStored<Checkpoint>(checkpoint, "job checkpoint");
        r.kind = ParseStored<JobKind>(kind, "job kind");
        if (ind_error != soci::i_ok) r.error.clear();
        if (ind_owner != soci::i_ok) r.lease_owner.clear();
        return r;
    }
};

struct ClipInto {
    ClipRow c;
    std::string confidence;
    void Bind(soci::statement& st) { BindClip(st, c, confidence); }
    ClipRow Get() const {
        ClipRow r = c;
        r.confidence = ParseStored<Confidence>(confidence, "clip confidence");
        return r;
    }
};

}  // namespace

void InsertEpisode(Tx& tx, const EpisodeRow& e) {
    soci::session& s = tx.sql();
    const std::string status(Name(e.status));
    s << "INSERT INTO episodes (id, title, filename, audio_path, size_bytes, checksum, format, has_video, status,"
         " duration, genre, detected_genre, platform, clip_count, analysis, error, created_at, updated_at,"
         " render_options, owner_id)"
         " VALUES (:id, :title, :filename, :audio_path, :size, :checksum, :format, :has_video, :status, :duration,"
         " :genre, :detected, :platform, :clip_count, :analysis, :error, :created, :updated, :render, :owner)",
        use(e.id), use(e.title), use(e.filename), use(e.audio_path), use(e.size_bytes), use(e.checksum), use(e.format),
        use(e.has_video), use(status), use(e.duration), use(e.genre), use(e.detected_genre), use(e.platform),
        use(e.clip_count), use(e.analysis), use(e.error), use(e.created_at), use(e.updated_at), use(e.render_options),
        use(e.owner_id);
}

std::optional<EpisodeRow> GetEpisode(Tx& tx, const std::string& id) {
    soci::session& s = tx.sql();
    auto rows = FetchAll<EpisodeInto>(s, std::string("SELECT ") + kEpisodeColumns + " FROM episodes WHERE id = :id",
                                      [&](soci::statement& st) { st.exchange(use(id)); });
    if (rows.empty()) return std::nullopt;
    return rows[0];
}

std::vector<EpisodeRow> ListEpisodes(Tx& tx, const std::optional<std::string>& owner, int limit, int offset) {
    soci::session& s = tx.sql();
    const std::string where = owner ? " WHERE owner_id = :owner" : "";
    return FetchAll<EpisodeInto>(s,
                                 std::string("SELECT ") + kEpisodeColumns + " FROM episodes" + where +
                                     " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
                                 [&](soci::statement& st) {
                                     if (owner) st.exchange(use(*owner));
                                     st.exchange(use(limit));
                                     st.exchange(use(offset));
                                 });
}

DbInt CountEpisodes(Tx& tx, const std::optional<std::string>& owner) {
    soci::session& s = tx.sql();
    DbInt n = 0;
    if (owner) {
        s << "SELECT COUNT(*) FROM episodes WHERE owner_id = :owner", use(*owner), into(n);
    } else {
        s << "SELECT COUNT(*) FROM episodes", into(n);
    }
    return n;
}

OwnerUse UseOf(Tx& tx, const std::string& owner, DbInt since) {
    soci::session& s = tx.sql();
    OwnerUse u;
    s << "SELECT COUNT(*) FROM jobs j JOIN episodes e ON e.id = j.episode_id"
         " WHERE e.owner_id = :o AND j.state IN ('queued', 'running')",
        use(owner), into(u.active_jobs);
    double bytes = 0;
    soci::indicator bytes_ind = soci::i_null;
    s << "SELECT SUM(size_bytes) FROM episodes WHERE owner_id = :o", use(owner), into(bytes, bytes_ind);
    u.bytes = bytes_ind == soci::i_ok ? static_cast<DbInt>(bytes) : 0;
    double seconds = 0;
    DbInt oldest = 0;
    soci::indicator seconds_ind = soci::i_null, oldest_ind = soci::i_null;
    s << "SELECT SUM(duration), MIN(created_at) FROM episodes WHERE owner_id = :o AND created_at >= :t", use(owner),
        use(since), into(seconds, seconds_ind), into(oldest, oldest_ind);
    u.seconds_since = seconds_ind == soci::i_ok ? seconds : 0;
    u.oldest_since = oldest_ind == soci::i_ok ? oldest : 0;
    return u;
}

std::optional<std::string> EpisodeOwner(Tx& tx, const std::string& episode_id) {
    soci::session& s = tx.sql();
    std::string owner;
    soci::indicator ind = soci::i_null;
    s << "SELECT owner_id FROM episodes WHERE id = :id", use(episode_id), into(owner, ind);
    if (!s.got_data() || ind != soci::i_ok) return std::nullopt;
    return owner;
}

void SetEpisodeStatus(Tx& tx, const std::string& id, EpisodeStatus status_value, const std::string& error) {
    soci::session& s = tx.sql();
    const DbInt t = NowEpochMs();
    const std::string status(Name(status_value));
    s << "UPDATE episodes SET status = :status, error = :error, updated_at = :t WHERE id = :id", use(status),
        use(error), use(t), use(id);
}

void SetEpisodeAnalysis(Tx& tx, const EpisodeRow& e) {
    soci::session& s = tx.sql();
    const std::string status(Name(e.status));
    s << "UPDATE episodes SET duration = :duration, genre = :genre, detected_genre = :detected,"
         " analysis = :analysis, status = :status, updated_at = :t WHERE id = :id",
        use(e.duration), use(e.genre), use(e.detected_genre), use(e.analysis), use(status), use(e.updated_at),
        use(e.id);
}

DbInt CountClips(Tx& tx, const std::string& episode_id) {
    DbInt n = 0;
    tx.sql() << "SELECT COUNT(*) FROM clips WHERE episode_id = :id", use(episode_id), into(n);
    return n;
}

void DeleteEpisode(Tx& tx, const std::string& id) {
    soci::session& s = tx.sql();
    s << "DELETE FROM feedback WHERE episode_id = :id", use(id);
    s << "DELETE FROM clips WHERE episode_id = :id", use(id);
    s << "DELETE FROM transcript_segments WHERE episode_id = :id", use(id);
    s << "DELETE FROM transcript_events WHERE episode_id = :id", use(id);
    s << "DELETE FROM transcript_revisions WHERE episode_id = :id", use(id);
    s << "DELETE FROM jobs WHERE episode_id = :id", use(id);
    // A followed show's item made into this episode may be made again.
    s << "UPDATE feed_items SET episode_id = '' WHERE episode_id = :id", use(id);
    s << "DELETE FROM episodes WHERE id = :id", use(id);
}

std::pair<DbInt, DbInt> UploadTotals(Tx& tx) {
    soci::session& s = tx.sql();
    DbInt bytes = 0, count = 0;
    soci::indicator ind = soci::i_ok;
    s << "SELECT COALESCE(SUM(size_bytes), 0), COUNT(*) FROM episodes", into(bytes, ind), into(count);
    return {ind == soci::i_ok ? bytes : 0, count};
}

namespace {

void ReplaceEvents(soci::session& s, const std::string& episode_id, const std::vector<SoundEvent>& events) {
    s << "DELETE FROM transcript_events WHERE episode_id = :id", use(episode_id);
    if (events.empty()) return;
    int idx = 0;
    double start = 0, end = 0;
    std::string kind;
    soci::statement st = (s.prepare << "INSERT INTO transcript_events (episode_id, idx, kind, start_time, end_time)"
                                       " VALUES (:e, :i, :k, :s, :t)",
                          use(episode_id), use(idx), use(kind), use(start), use(end));
    for (const auto& e : events) {
        kind = e.kind;
        start = static_cast<double>(e.start_ms) / 1000.0;
        end = static_cast<double>(e.end_ms) / 1000.0;
        st.execute(true);
        ++idx;
    }
}

std::vector<SoundEvent> LoadEvents(soci::session& s, const std::string& episode_id) {
    std::vector<SoundEvent> out;
    double start = 0, end = 0;
    std::string kind;
    soci::statement st = (s.prepare << "SELECT kind, start_time, end_time FROM transcript_events"
                                       " WHERE episode_id = :e ORDER BY idx",
                          into(kind), into(start), into(end), use(episode_id));
    st.execute(false);
    while (st.fetch()) out.push_back({kind, std::llround(start * 1000), std::llround(end * 1000)});
    return out;
}

}  // namespace

void ReplaceTranscript(Tx& tx, const std::string& episode_id, const Transcript& t) {
    soci::session& s = tx.sql();
    s << "DELETE FROM transcript_segments WHERE episode_id = :id", use(episode_id);
    s << "DELETE FROM transcript_revisions WHERE episode_id = :id", use(episode_id);
    int idx = 0;
    double start = 0, end = 0, conf = 0;
    std::string text, words, speaker;
    soci::statement st =
        (s.prepare << "INSERT INTO transcript_segments (episode_id, idx, start_time, end_time, text,"
                      " confidence, words, engine, speaker) VALUES (:e, :i, :s, :t, :x, :c, :w, :g, :p)",
         use(episode_id), use(idx), use(start), use(end), use(text), use(conf), use(words), use(t.engine),
         use(speaker));
    for (const auto& seg : t.segments) {
        start = static_cast<double>(seg.start_ms) / 1000.0;
        end = static_cast<double>(seg.end_ms) / 1000.0;
        text = seg.text;
        conf = seg.confidence;
        words = DumpJson(WordsToJson(seg.words));
        speaker = seg.speaker;
        st.execute(true);
        ++idx;
    }
    ReplaceEvents(s, episode_id, t.events);
}

std::optional<Transcript> LoadTranscript(Tx& tx, const std::string& episode_id) {
    soci::session& s = tx.sql();
    Transcript t;
    double start = 0, end = 0, conf = 0;
    std::string text, words, engine, speaker;
    soci::statement st =
        (s.prepare << "SELECT start_time, end_time, text, confidence, words, engine, speaker FROM"
                      " transcript_segments WHERE episode_id = :e ORDER BY idx",
         into(start), into(end), into(text), into(conf), into(words), into(engine), into(speaker), use(episode_id));
    st.execute(false);
    bool any = false;
    while (st.fetch()) {
        any = true;
        Segment seg;
        seg.start_ms = std::llround(start * 1000);
        seg.end_ms = std::llround(end * 1000);
        seg.text = text;
        seg.confidence = conf;
        // (Damaged words, which only a hand-edited database could hold, read as none: the segment keeps its text.)
        if (auto parsed = WordsFromJson(ParseJsonOr(words, nullptr)); parsed.ok()) seg.words = std::move(*parsed);
        seg.speaker = speaker;
        t.engine = engine;
        t.segments.push_back(std::move(seg));
    }
    if (!any) return std::nullopt;
    t.events = LoadEvents(s, episode_id);
    return t;
}

int RenameSpeaker(Tx& tx, const std::string& episode_id, const std::string& from, const std::string& to) {
    soci::session& s = tx.sql();
    soci::statement st = (s.prepare << "UPDATE transcript_segments SET speaker = :to WHERE episode_id = :e AND "
                                       "speaker = :from",
                          use(to), use(episode_id), use(from));
    st.execute(true);
    return static_cast<int>(st.get_affected_rows());
}

void UpdateTranscriptSegments(Tx& tx, const std::string& episode_id, const Transcript& t,
                              const std::vector<size_t>& indices) {
    soci::session& s = tx.sql();
    int idx = 0;
    std::string text, words;
    soci::statement st = (s.prepare << "UPDATE transcript_segments SET text = :x, words = :w"
                                       " WHERE episode_id = :e AND idx = :i",
                          use(text), use(words), use(episode_id), use(idx));
    for (const size_t i : indices) {
        if (i >= t.segments.size()) continue;
        idx = static_cast<int>(i);
        text = t.segments[i].text;
        words = DumpJson(WordsToJson(t.segments[i].words));
        st.execute(true);
    }
}

int CurrentTranscriptRevision(Tx& tx, const std::string& episode_id) {
    int n = 0;
    soci::indicator ind = soci::i_ok;
    tx.sql() << "SELECT MAX(revision) FROM transcript_revisions WHERE episode_id = :e", use(episode_id), into(n, ind);
    return ind == soci::i_ok ? n : 0;
}

void InsertTranscriptRevision(Tx& tx, const TranscriptRevisionRow& r) {
    tx.sql() << "INSERT INTO transcript_revisions (episode_id, revision, created_at, actor, edits)"
                " VALUES (:e, :r, :c, :a, :x)",
        use(r.episode_id), use(r.revision), use(r.created_at), use(r.actor), use(r.edits);
}

std::vector<TranscriptRevisionRow> ListTranscriptRevisions(Tx& tx, const std::string& episode_id) {
    std::vector<TranscriptRevisionRow> out;
    TranscriptRevisionRow r;
    r.episode_id = episode_id;
    soci::statement st = (tx.sql().prepare << "SELECT revision, created_at, actor, edits FROM transcript_revisions"
                                              " WHERE episode_id = :e ORDER BY revision",
                          into(r.revision), into(r.created_at), into(r.actor), into(r.edits), use(episode_id));
    st.execute(false);
    while (st.fetch()) out.push_back(r);
    return out;
}

void ReplaceClips(Tx& tx, const std::string& episode_id, const std::vector<ClipRow>& clips) {
    soci::session& s = tx.sql();
    // Feedback on clips that stay is kept; on clips replaced it goes with them.
    s << "DELETE FROM feedback WHERE episode_id = :id", use(episode_id);
    s << "DELETE FROM clips WHERE episode_id = :id", use(episode_id);
    for (const auto& c : clips) InsertClip(tx, c);
}

void InsertClip(Tx& tx, const ClipRow& c) {
    soci::session& s = tx.sql();
    const std::string confidence(Name(c.confidence));
    s << "INSERT INTO clips (id, episode_id, clip_rank, start_time, end_time, duration, score, display_score,"
         " confidence, genre, platform, title, text, features, explanation, hashtags, file_path, created_at)"
         " VALUES (:id, :e, :r, :s, :t, :d, :score, :ds, :conf, :g, :p, :title, :text, :f, :x, :h, :fp, :c)",
        use(c.id), use(c.episode_id), use(c.clip_rank), use(c.start_time), use(c.end_time), use(c.duration),
        use(c.score), use(c.display_score), use(confidence), use(c.genre), use(c.platform), use(c.title), use(c.text),
        use(c.features), use(c.explanation), use(c.hashtags), use(c.file_path), use(c.created_at);
}

bool UpdateRenderedClip(Tx& tx, const ClipRow& c) {
    soci::session& s = tx.sql();
    const std::string confidence(Name(c.confidence));
    soci::statement st =
        (s.prepare << "UPDATE clips SET title = :title, text = :text, score = :score, display_score = :ds,"
                      " confidence = :conf, features = :f, explanation = :x, hashtags = :h, file_path = :fp,"
                      " expired_at = 0 WHERE id = :id",
         use(c.title), use(c.text), use(c.score), use(c.display_score), use(confidence), use(c.features),
         use(c.explanation), use(c.hashtags), use(c.file_path), use(c.id));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

std::vector<ClipRow> ListClips(Tx& tx, const std::string& episode_id) {
    soci::session& s = tx.sql();
    return FetchAll<ClipInto>(
        s, std::string("SELECT ") + kClipColumns + " FROM clips WHERE episode_id = :e ORDER BY clip_rank",
        [&](soci::statement& st) { st.exchange(use(episode_id)); });
}

std::optional<ClipRow> GetClip(Tx& tx, const std::string& id) {
    soci::session& s = tx.sql();
    auto rows = FetchAll<ClipInto>(s, std::string("SELECT ") + kClipColumns + " FROM clips WHERE id = :id",
                                   [&](soci::statement& st) { st.exchange(use(id)); });
    if (rows.empty()) return std::nullopt;
    return rows[0];
}

std::vector<ClipRow> ListAllClips(Tx& tx) {
    soci::session& s = tx.sql();
    return FetchAll<ClipInto>(s, std::string("SELECT ") + kClipColumns + " FROM clips ORDER BY episode_id, clip_rank",
                              [](soci::statement&) {});
}

bool SetEpisodeTitle(Tx& tx, const std::string& id, const std::string& title, DbInt now) {
    soci::session& s = tx.sql();
    soci::statement st =
        (s.prepare << "UPDATE episodes SET title = :t, updated_at = :u WHERE id = :id", use(title), use(now), use(id));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

void SetEpisodeSource(Tx& tx, const EpisodeRow& e) {
    tx.sql() << "UPDATE episodes SET filename = :f, audio_path = :p, size_bytes = :s, checksum = :c, format = :fmt,"
                " has_video = :v, duration = :d, analysis = :a, updated_at = :u WHERE id = :id",
        use(e.filename), use(e.audio_path), use(e.size_bytes), use(e.checksum), use(e.format), use(e.has_video),
        use(e.duration), use(e.analysis), use(e.updated_at), use(e.id);
}

bool SetClipStarred(Tx& tx, const std::string& id, bool starred) {
    soci::session& s = tx.sql();
    const int v = starred ? 1 : 0;
    soci::statement st = (s.prepare << "UPDATE clips SET starred = :v WHERE id = :id", use(v), use(id));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

bool ExpireClip(Tx& tx, const std::string& id, DbInt now) {
    soci::session& s = tx.sql();
    soci::statement st = (s.prepare << "UPDATE clips SET file_path = '{}', expired_at = :t"
                                       " WHERE id = :id AND starred = 0 AND expired_at = 0",
                          use(now), use(id));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

void DeleteClip(Tx& tx, const std::string& id) { tx.sql() << "DELETE FROM clips WHERE id = :id", use(id); }

bool ArchiveEpisodeSource(Tx& tx, const std::string& id, const std::string& old_path, const std::string& new_path,
                          DbInt now) {
    soci::session& s = tx.sql();
    soci::statement st =
        (s.prepare << "UPDATE episodes SET audio_path = :p, has_video = 0, archived_at = :t, updated_at = :t2"
                      " WHERE id = :id AND audio_path = :old AND archived_at = 0 AND NOT EXISTS (SELECT 1 FROM jobs"
                      " WHERE jobs.episode_id = :id2 AND jobs.state IN ('queued', 'running'))",
         use(new_path), use(now), use(now), use(id), use(old_path), use(id));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

std::set<std::string> EpisodesWithActiveJobs(Tx& tx) {
    soci::session& s = tx.sql();
    std::set<std::string> out;
    std::string id;
    soci::statement st =
        (s.prepare << "SELECT DISTINCT episode_id FROM jobs WHERE state IN ('queued', 'running')", into(id));
    st.execute();
    while (st.fetch()) out.insert(id);
    return out;
}

namespace {

// The rows of "SELECT key, COUNT(*) ... GROUP BY key" as a map.
std::map<std::string, DbInt> GroupCounts(soci::session& s, const char* sql) {
    std::map<std::string, DbInt> out;
    std::string key;
    DbInt n = 0;
    soci::statement st = (s.prepare << sql, into(key), into(n));
    st.execute();
    while (st.fetch()) out[key] = n;
    return out;
}

}  // namespace

std::map<std::string, DbInt> CountEpisodesByStatus(Tx& tx) {
    soci::session& s = tx.sql();
    return GroupCounts(s, "SELECT status, COUNT(*) FROM episodes GROUP BY status");
}

DbInt CountClips(Tx& tx) {
    soci::session& s = tx.sql();
    DbInt n = 0;
    s << "SELECT COUNT(*) FROM clips", into(n);
    return n;
}

std::map<std::string, DbInt> CountFeedbackByKind(Tx& tx) {
    soci::session& s = tx.sql();
    return GroupCounts(s, "SELECT kind, COUNT(*) FROM feedback GROUP BY kind");
}

void RecordError(Tx& tx, const std::string& kind, const std::string& stage, const std::string& message, DbInt now) {
    soci::session& s = tx.sql();
    const std::string sample = message.substr(0, 500);
    s << "INSERT INTO errors (kind, stage, count, first_seen, last_seen, sample) VALUES (:k, :s, 1, :t, :t2, :m)"
         " ON CONFLICT (kind, stage) DO UPDATE SET count = errors.count + 1, last_seen = :t3, sample = :m2",
        use(kind), use(stage), use(now), use(now), use(sample), use(now), use(sample);
}

std::vector<ErrorGroup> ListErrors(Tx& tx, DbInt since) {
    soci::session& s = tx.sql();
    std::vector<ErrorGroup> out;
    ErrorGroup g;
    soci::statement st =
        (s.prepare << "SELECT kind, stage, count, first_seen, last_seen, sample FROM errors"
                      " WHERE last_seen >= :since ORDER BY last_seen DESC",
         into(g.kind), into(g.stage), into(g.count), into(g.first_seen), into(g.last_seen), into(g.sample), use(since));
    st.execute();
    while (st.fetch()) out.push_back(g);
    return out;
}

int PruneErrors(Tx& tx, DbInt before) {
    soci::session& s = tx.sql();
    soci::statement st = (s.prepare << "DELETE FROM errors WHERE last_seen < :t", use(before));
    st.execute(true);
    return static_cast<int>(st.get_affected_rows());
}

void InsertFeedback(Tx& tx, const FeedbackRow& f) {
    soci::session& s = tx.sql();
    soci::indicator rating_ind = f.rating ? soci::i_ok : soci::i_null;
    const int rating = f.rating.value_or(0);
    s << "INSERT INTO feedback (id, clip_id, episode_id, kind, rating, comment, created_at)"
         " VALUES (:id, :c, :e, :k, :r, :m, :t)",
        use(f.id), use(f.clip_id), use(f.episode_id), use(f.kind), use(rating, rating_ind), use(f.comment),
        use(f.created_at);
}

std::map<std::string, DbInt> FeedbackCounts(Tx& tx, const std::string& clip_id) {
    soci::session& s = tx.sql();
    std::map<std::string, DbInt> out;
    std::string kind;
    DbInt n = 0, sum = 0;
    soci::indicator sum_ind = soci::i_ok;
    soci::statement st = (s.prepare << "SELECT kind, COUNT(*), COALESCE(SUM(rating), 0) FROM feedback"
                                       " WHERE clip_id = :c GROUP BY kind",
                          into(kind), into(n), into(sum, sum_ind), use(clip_id));
    st.execute(false);
    while (st.fetch()) {
        out[kind] = n;
        if (kind == "rating") out["rating_sum"] = sum_ind == soci::i_ok ? sum : 0;
    }
    return out;
}

void InsertJob(Tx& tx, const JobRow& j) {
    soci::session& s = tx.sql();
    const std::string state(Name(j.state)), checkpoint(Name(j.checkpoint)), kind(Name(j.kind));
    s << "INSERT INTO jobs (id, episode_id, priority, state, stage, progress, checkpoint, attempts, max_attempts,"
         " error, lease_owner, lease_expires_at, run_after, cancel_requested, stage_ms, created_at, started_at,"
         " finished_at, kind, payload) VALUES (:id, :e, :p, :st, :sg, :pr, :cp, :a, :ma, :err, :lo, :le, :ra, :cr,"
         " :sm, :c, :s, :f, :k, :pl)",
        use(j.id), use(j.episode_id), use(j.priority), use(state), use(j.stage), use(j.progress), use(checkpoint),
        use(j.attempts), use(j.max_attempts), use(j.error), use(j.lease_owner), use(j.lease_expires_at),
        use(j.run_after), use(j.cancel_requested), use(j.stage_ms), use(j.created_at), use(j.started_at),
        use(j.finished_at), use(kind), use(j.payload);
}

std::optional<JobRow> GetJob(Tx& tx, const std::string& id) {
    soci::session& s = tx.sql();
    auto rows = FetchAll<JobInto>(s, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = :id",
                                  [&](soci::statement& st) { st.exchange(use(id)); });
    if (rows.empty()) return std::nullopt;
    return rows[0];
}

std::optional<JobRow> LatestJobForEpisode(Tx& tx, const std::string& episode_id) {
    soci::session& s = tx.sql();
    auto rows = FetchAll<JobInto>(s,
                                  std::string("SELECT ") + kJobColumns +
                                      " FROM jobs WHERE episode_id = :e AND kind = 'process'"
                                      " ORDER BY created_at DESC LIMIT 1",
                                  [&](soci::statement& st) { st.exchange(use(episode_id)); });
    if (rows.empty()) return std::nullopt;
    return rows[0];
}

std::vector<JobRow> PendingRenderJobs(Tx& tx, const std::string& episode_id) {
    return RenderJobsFor(tx, episode_id, /*pending_only=*/true);
}

std::vector<JobRow> RenderJobsFor(Tx& tx, const std::string& episode_id, bool pending_only) {
    soci::session& s = tx.sql();
    return FetchAll<JobInto>(s,
                             std::string("SELECT ") + kJobColumns +
                                 " FROM jobs WHERE episode_id = :e AND kind = 'render'" +
                                 (pending_only ? " AND state IN ('queued', 'running')" : "") + " ORDER BY created_at",
                             [&](soci::statement& st) { st.exchange(use(episode_id)); });
}

std::vector<JobRow> JobsFinishedSince(Tx& tx, DbInt since, int limit) {
    soci::session& s = tx.sql();
    return FetchAll<JobInto>(s,
                             std::string("SELECT ") + kJobColumns +
                                 " FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at >= :t"
                                 " ORDER BY finished_at LIMIT :n",
                             [&](soci::statement& st) {
                                 st.exchange(use(since));
                                 st.exchange(use(limit));
                             });
}

std::vector<std::string> RunningJobsForEpisode(Tx& tx, const std::string& episode_id) {
    soci::session& s = tx.sql();
    std::vector<std::string> ids;
    std::string id;
    soci::statement st =
        (s.prepare << "SELECT id FROM jobs WHERE episode_id = :e AND state = 'running'", use(episode_id), into(id));
    st.execute();
    while (st.fetch()) ids.push_back(id);
    return ids;
}

DbInt OldestRunnableQueuedJob(Tx& tx, DbInt now) {
    soci::session& s = tx.sql();
    DbInt oldest = 0;
    soci::indicator ind = soci::i_ok;
    s << "SELECT MIN(created_at) FROM jobs WHERE state = 'queued' AND run_after <= :now", use(now), into(oldest, ind);
    return ind == soci::i_ok ? oldest : 0;
}

DbInt CountJobsInState(Tx& tx, JobState state_value) {
    soci::session& s = tx.sql();
    DbInt n = 0;
    const std::string state(Name(state_value));
    s << "SELECT COUNT(*) FROM jobs WHERE state = :s", use(state), into(n);
    return n;
}

std::optional<JobRow> ClaimNextJob(Tx& tx, const std::string& owner, DbInt now, DbInt lease_until) {
    soci::session& s = tx.sql();
    if (s.get_backend_name() == "postgresql") {
        // One statement: the first queued job no other claim holds (SKIP LOCKED passes over rows another transaction
        // has locked), locked and taken. Run at READ COMMITTED (SqlJobStore::Claim), so claims never wait on each
        // other or fail to serialize.
        std::string id;
        soci::indicator ind = soci::i_null;
        s << "UPDATE jobs SET state = 'running', lease_owner = :o, lease_expires_at = :l, started_at = :n,"
             " attempts = attempts + 1, lease_epoch = lease_epoch + 1 WHERE id = (SELECT id FROM jobs WHERE state = "
             "'queued' AND run_after <= :now"
             " ORDER BY priority DESC, created_at ASC, id ASC LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
            use(owner), use(lease_until), use(now), use(now), into(id, ind);
        if (ind != soci::i_ok || !s.got_data()) return std::nullopt;
        return GetJob(tx, id);
    }
    // SQLite has one writer at a time. Optimistic: pick the first candidate, then take it only if it is still queued.
    // A lost race moves on to the next candidate.
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::string id;
        soci::indicator ind = soci::i_null;
        s << "SELECT id FROM jobs WHERE state = 'queued' AND run_after <= :now"
             " ORDER BY priority DESC, created_at ASC, id ASC LIMIT 1",
            use(now), into(id, ind);
        if (ind != soci::i_ok || !s.got_data()) return std::nullopt;
        soci::statement st = (s.prepare << "UPDATE jobs SET state = 'running', lease_owner = :o,"
                                           " lease_expires_at = :l, started_at = :n, attempts = attempts + 1,"
                                           " lease_epoch = lease_epoch + 1 WHERE id = :id AND state = 'queued'",
                              use(owner), use(lease_until), use(now), use(id));
        st.execute(true);
        if (st.get_affected_rows() == 1) return GetJob(tx, id);
    }
    return std::nullopt;
}

bool RenewLease(Tx& tx, const std::string& job_id, const std::string& owner, DbInt lease_until) {
    soci::session& s = tx.sql();
    soci::statement st = (s.prepare << "UPDATE jobs SET lease_expires_at = :l WHERE id = :id AND lease_owner = :o"
                                       " AND state = 'running'",
                          use(lease_until), use(job_id), use(owner));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

bool HoldsLease(Tx& tx, const std::string& job_id, DbInt epoch) {
    soci::session& s = tx.sql();
    // A write that changes nothing: it takes the row's lock (PostgreSQL) or the database's (SQLite), so no rescue or
    // claim can come between this check and the commit.
    soci::statement st = (s.prepare << "UPDATE jobs SET lease_epoch = lease_epoch WHERE id = :id"
                                       " AND lease_epoch = :e AND state = 'running'",
                          use(job_id), use(epoch));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

bool SetJobProgress(Tx& tx, const std::string& job_id, DbInt epoch, const std::string& stage, double progress,
                    const std::string& stage_ms) {
    soci::session& s = tx.sql();
    soci::statement st = (s.prepare << "UPDATE jobs SET stage = :s, progress = :p, stage_ms = :m WHERE id = :id"
                                       " AND lease_epoch = :e AND state = 'running'",
                          use(stage), use(progress), use(stage_ms), use(job_id), use(epoch));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

void SetJobCheckpoint(Tx& tx, const std::string& job_id, Checkpoint checkpoint_value) {
    soci::session& s = tx.sql();
    const std::string checkpoint(Name(checkpoint_value));
    s << "UPDATE jobs SET checkpoint = :c WHERE id = :id", use(checkpoint), use(job_id);
}

void FinishJob(Tx& tx, const std::string& job_id, JobState state_value, const std::string& error, DbInt now) {
    soci::session& s = tx.sql();
    const std::string state(Name(state_value));
    if (state_value == JobState::kSucceeded) {
        s << "UPDATE jobs SET state = :s, error = :e, finished_at = :n, lease_owner = NULL, lease_expires_at = 0,"
             " progress = 1, stage = 'done' WHERE id = :id",
            use(state), use(error), use(now), use(job_id);
    } else {
        s << "UPDATE jobs SET state = :s, error = :e, finished_at = :n, lease_owner = NULL, lease_expires_at = 0"
             " WHERE id = :id",
            use(state), use(error), use(now), use(job_id);
    }
}

void RequeueJob(Tx& tx, const std::string& job_id, const std::string& error, DbInt run_after, bool count_attempt) {
    soci::session& s = tx.sql();
    const int undo = count_attempt ? 0 : 1;
    s << "UPDATE jobs SET state = 'queued', error = :e, run_after = :r, lease_owner = NULL, lease_expires_at = 0,"
         " attempts = attempts - :u WHERE id = :id",
        use(error), use(run_after), use(undo), use(job_id);
}

bool RequestCancel(Tx& tx, const std::string& job_id, DbInt now) {
    soci::session& s = tx.sql();
    soci::statement st = (s.prepare << "UPDATE jobs SET state = 'cancelled', finished_at = :n, cancel_requested = 1"
                                       " WHERE id = :id AND state = 'queued'",
                          use(now), use(job_id));
    st.execute(true);
    if (st.get_affected_rows() == 1) return true;
    s << "UPDATE jobs SET cancel_requested = 1 WHERE id = :id AND state = 'running'", use(job_id);
    return false;
}

bool CancelRequested(Tx& tx, const std::string& job_id) {
    soci::session& s = tx.sql();
    int flag = 0;
    s << "SELECT cancel_requested FROM jobs WHERE id = :id", use(job_id), into(flag);
    return flag != 0;
}

bool ReleaseDeadWorkersJob(Tx& tx, const std::string& job_id, DbInt now) {
    const auto job = GetJob(tx, job_id);
    if (!job || job->state != JobState::kRunning) return false;
    if (job->attempts < job->max_attempts) {
        RequeueJob(tx, job_id, "worker stopped; resumed", now, /*count_attempt=*/true);
        return true;
    }
    const std::string why = fmt::format(
        "its worker stopped while running it on each of its {} attempts (last in stage '{}'); it is not tried again",
        job->attempts, job->stage);
    FinishJob(tx, job_id, JobState::kFailed, why, now);
    if (job->kind != JobKind::kRender) SetEpisodeStatus(tx, job->episode_id, EpisodeStatus::kFailed, why);
    return false;
}

int RecoverExpiredJobs(Tx& tx, DbInt now) {
    soci::session& s = tx.sql();
    std::vector<std::string> ids;
    {
        std::string id;
        // On PostgreSQL a row another session holds locked is passed over, not waited for: its holder may be a process
        // frozen inside a transaction, and the caller renews leases too. The row is taken once the server has ended
        // that session (Database::Open's idle_transaction_limit).
        const std::string lock = s.get_backend_name() == "postgresql" ? " FOR UPDATE SKIP LOCKED" : "";
        soci::statement st =
            (s.prepare << "SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < :n" + lock, use(now),
             into(id));
        st.execute(false);
        while (st.fetch()) ids.push_back(id);
    }
    int requeued = 0;
    for (const auto& id : ids) requeued += ReleaseDeadWorkersJob(tx, id, now) ? 1 : 0;
    return requeued;
}

std::vector<std::pair<std::string, std::string>> RunningJobOwners(Tx& tx) {
    soci::session& s = tx.sql();
    std::vector<std::pair<std::string, std::string>> out;
    std::string id, owner;
    soci::indicator ind = soci::i_ok;
    soci::statement st =
        (s.prepare << "SELECT id, lease_owner FROM jobs WHERE state = 'running'", into(id), into(owner, ind));
    st.execute(false);
    while (st.fetch()) out.emplace_back(id, ind == soci::i_ok ? owner : "");
    return out;
}

LeaderLease TakeLeaderLease(Tx& tx, const std::string& name, const std::string& holder, DbInt now, DbInt ttl,
                            DbInt first_run_at) {
    soci::session& s = tx.sql();
    const DbInt until = now + ttl;
    // The first to ask creates the row; two at once leave one row (the other's insert does nothing).
    s << "INSERT INTO leader_leases (name, holder, epoch, expires_at, next_run_at) VALUES (:n, :h, 1, :u, :r)"
         " ON CONFLICT (name) DO NOTHING",
        use(name), use(holder), use(until), use(first_run_at);
    // A renewal, or a takeover of a lease that ran out (the next epoch).
    s << "UPDATE leader_leases SET epoch = CASE WHEN holder = :h1 THEN epoch ELSE epoch + 1 END, holder = :h2,"
         " expires_at = :u WHERE name = :n AND (holder = :h3 OR expires_at < :now)",
        use(holder), use(holder), use(until), use(name), use(holder), use(now);
    LeaderLease lease;
    s << "SELECT holder, epoch, expires_at, next_run_at FROM leader_leases WHERE name = :n", use(name),
        into(lease.holder), into(lease.epoch), into(lease.expires_at), into(lease.next_run_at);
    return lease;
}

bool ClaimScheduledRun(Tx& tx, const std::string& name, const std::string& holder, DbInt epoch, DbInt now,
                       DbInt next_run_at) {
    soci::session& s = tx.sql();
    soci::statement st = (s.prepare << "UPDATE leader_leases SET next_run_at = :r WHERE name = :n AND holder = :h"
                                       " AND epoch = :e AND expires_at >= :now1 AND next_run_at <= :now2",
                          use(next_run_at), use(name), use(holder), use(epoch), use(now), use(now));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

void ReleaseLeaderLease(Tx& tx, const std::string& name, const std::string& holder) {
    tx.sql() << "UPDATE leader_leases SET expires_at = 0 WHERE name = :n AND holder = :h", use(name), use(holder);
}

void SetUploadKey(Tx& tx, const std::string& episode_id, const std::string& key) {
    tx.sql() << "UPDATE episodes SET upload_key = :k WHERE id = :id", use(key), use(episode_id);
}

std::optional<std::string> EpisodeWithUploadKey(Tx& tx, const std::string& owner, const std::string& key, DbInt since) {
    soci::session& s = tx.sql();
    std::string id;
    soci::indicator ind = soci::i_null;
    s << "SELECT id FROM episodes WHERE owner_id = :o AND upload_key = :k AND created_at >= :t"
         " AND status NOT IN ('failed', 'cancelled') ORDER BY created_at DESC LIMIT 1",
        use(owner), use(key), use(since), into(id, ind);
    if (!s.got_data() || ind != soci::i_ok) return std::nullopt;
    return id;
}

void PauseEngine(Tx& tx, const std::string& engine, DbInt until) {
    tx.sql() << "INSERT INTO engine_pauses (engine, until_at) VALUES (:e, :u) ON CONFLICT (engine) DO UPDATE"
                " SET until_at = CASE WHEN engine_pauses.until_at > :u2 THEN engine_pauses.until_at ELSE :u3 END",
        use(engine), use(until), use(until), use(until);
}

DbInt EnginePausedUntil(Tx& tx, const std::string& engine) {
    soci::session& s = tx.sql();
    DbInt until = 0;
    soci::indicator ind = soci::i_null;
    s << "SELECT until_at FROM engine_pauses WHERE engine = :e", use(engine), into(until, ind);
    return s.got_data() && ind == soci::i_ok ? until : 0;
}

QueueCounts GetQueueCounts(Tx& tx, DbInt now) {
    soci::session& s = tx.sql();
    QueueCounts q;
    for (const char* state : {"queued", "running", "succeeded", "failed", "cancelled"}) q.by_state[state] = 0;
    for (const char* p : {"high", "normal", "low"}) q.queued_by_priority[p] = 0;
    {
        std::string state;
        DbInt n = 0;
        soci::statement st = (s.prepare << "SELECT state, COUNT(*) FROM jobs GROUP BY state", into(state), into(n));
        st.execute(false);
        while (st.fetch()) q.by_state[state] = n;
    }
    {
        int priority = 0;
        DbInt n = 0;
        soci::statement st = (s.prepare << "SELECT priority, COUNT(*) FROM jobs WHERE state = 'queued' GROUP BY"
                                           " priority",
                              into(priority), into(n));
        st.execute(false);
        while (st.fetch()) q.queued_by_priority[PriorityName(priority)] = n;
    }
    {
        const DbInt since = now - 3600 * 1000;
        DbInt n = 0;
        double wait = 0, run = 0;
        soci::indicator iw = soci::i_ok, ir = soci::i_ok;
        s << "SELECT COUNT(*), AVG(started_at - created_at), AVG(finished_at - started_at) FROM jobs"
             " WHERE state = 'succeeded' AND finished_at >= :since",
            use(since), into(n), into(wait, iw), into(run, ir);
        q.finished_last_hour = n;
        q.avg_wait_s = iw == soci::i_ok ? wait / 1000.0 : 0;
        q.avg_run_s = ir == soci::i_ok ? run / 1000.0 : 0;
    }
    return q;
}

std::string PriorityName(int priority) {
    switch (priority) {
        case 2:
            return "high";
        case 0:
            return "low";
        default:
            return "normal";
    }
}

int PriorityFromName(const std::string& name) {
    if (name == "high") return 2;
    if (name == "normal" || name.empty()) return 1;
    if (name == "low") return 0;
    return -1;
}

}  // namespace podpromo
