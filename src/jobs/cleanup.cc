#include "podpromo/jobs/cleanup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <map>
#include <set>

#include "podpromo/core/subprocess.h"
#include "podpromo/files/atomic.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/media/probe.h"
#include "podpromo/monitor/log.h"
#include "podpromo/store/accounts.h"
#include "podpromo/store/repositories.h"

namespace podpromo {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
// The episode-level outputs WriteOutputs leaves in episodes/<id>/out/ beside the clips' files.
const std::set<std::string> kEpisodeOutputs = {"result.json", "transcript.json", "transcript.srt", "transcript.vtt"};

int64_t ModifiedMs(const fs::path& p) {
    std::error_code ec;
    const auto t = fs::last_write_time(p, ec);
    if (ec) return 0;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::file_clock::to_sys(t).time_since_epoch())
        .count();
}

// Bytes under `p` (a file or a folder) and the newest modification time in it.
std::pair<int64_t, int64_t> SizeAndNewest(const fs::path& p) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return {static_cast<int64_t>(fs::file_size(p, ec)), ModifiedMs(p)};
    // A folder is as new as the newest file in it (its own time changes whenever an entry is added); an
    // empty one by its own time.
    int64_t bytes = 0, newest = 0;
    bool any = false;
    for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it); it.increment(ec)) {
        std::error_code fec;
        if (!it->is_regular_file(fec)) continue;
        any = true;
        bytes += static_cast<int64_t>(it->file_size(fec));
        newest = std::max(newest, ModifiedMs(it->path()));
    }
    return {bytes, any ? newest : ModifiedMs(p)};
}

std::string Rel(const Storage& storage, const fs::path& p) { return fs::relative(p, storage.root()).string(); }

bool IsHiddenLeftover(const std::string& name) {
    return name.size() > 1 && name[0] == '.' &&
           (name.find(".part") != std::string::npos || name.find(".tmp-") != std::string::npos);
}

CleanupAction MakeAction(std::string action, std::string path, int64_t bytes, bool removes, std::string episode_id,
                         std::string clip_id, std::string reason) {
    CleanupAction a;
    a.action = std::move(action);
    a.path = std::move(path);
    a.bytes = bytes;
    a.removes = removes;
    a.episode_id = std::move(episode_id);
    a.clip_id = std::move(clip_id);
    a.reason = std::move(reason);
    return a;
}

struct Snapshot {
    std::vector<EpisodeRow> episodes;
    std::vector<ClipRow> clips;
    std::set<std::string> active;
};

// The files a clip row names (relative paths), from its file_path document.
std::vector<std::string> ClipFiles(const ClipRow& c) {
    std::vector<std::string> out;
    const json files = json::parse(c.file_path, nullptr, false);
    if (!files.is_object()) return out;
    for (const auto& [kind, path] : files.items()) {
        if (path.is_string()) out.push_back(path.get<std::string>());
    }
    return out;
}

std::optional<std::string> CoverOf(const EpisodeRow& e) {
    const json options = json::parse(e.render_options, nullptr, false);
    if (options.is_object() && options.contains("cover") && options["cover"].is_string()) {
        return options["cover"].get<std::string>();
    }
    return std::nullopt;
}

// A clip of an idle episode: missing a file, or past its retention and not starred.
void PlanClip(const Storage& storage, const EpisodeRow& e, const ClipRow& c, const CleanupPolicy& policy, int64_t now,
              std::vector<CleanupAction>* actions) {
    if (c.expired_at != 0) return;
    int64_t bytes = 0;
    bool missing = false;
    std::error_code ec;
    for (const auto& f : ClipFiles(c)) {
        auto p = storage.Resolve(f);
        if (p.ok() && fs::is_regular_file(*p, ec)) {
            bytes += static_cast<int64_t>(fs::file_size(*p, ec));
        } else {
            missing = true;
        }
    }
    if (missing) {
        actions->push_back(
            MakeAction("missing_file", "", bytes, policy.remove_orphans, e.id, c.id, "a file of the clip is gone"));
    } else if (policy.clip_retention_days > 0 && c.starred == 0 &&
               now - c.created_at > static_cast<int64_t>(policy.clip_retention_days * kDayMs)) {
        actions->push_back(
            MakeAction("expire_clip", "", bytes, true, e.id, c.id,
                       fmt::format("made {:.1f} days ago (retention {} days), not starred",
                                   static_cast<double>(now - c.created_at) / kDayMs, policy.clip_retention_days)));
    }
}

// What the rows call for (archives, expiries, missing files), and the files they name (into `known`, relative).
void PlanRows(const Storage& storage, const Snapshot& snap, const CleanupPolicy& policy, int64_t now,
              std::set<std::string>* known, std::vector<CleanupAction>* actions) {
    std::map<std::string, std::vector<const ClipRow*>> clips_of;
    for (const auto& c : snap.clips) clips_of[c.episode_id].push_back(&c);
    for (const auto& e : snap.episodes) {
        known->insert(e.audio_path);
        if (auto cover = CoverOf(e)) known->insert(*cover);
        for (const ClipRow* c : clips_of[e.id]) {
            for (const auto& f : ClipFiles(*c)) known->insert(f);
        }
        if (snap.active.count(e.id)) continue;
        const auto source = storage.Resolve(e.audio_path);
        std::error_code ec;
        const bool source_exists = source.ok() && fs::is_regular_file(*source, ec);
        if (!source_exists) {
            actions->push_back(MakeAction("missing_file", e.audio_path, 0, policy.remove_orphans, e.id, "",
                                          "the episode's source is gone: it can no longer be re-clipped"));
        } else if (policy.source_retention_days > 0 && e.archived_at == 0 &&
                   now - e.created_at > static_cast<int64_t>(policy.source_retention_days * kDayMs)) {
            CleanupAction a = MakeAction(
                "archive_source", e.audio_path, static_cast<int64_t>(fs::file_size(*source, ec)), true, e.id, "",
                fmt::format("uploaded {:.1f} days ago (retention {} days)",
                            static_cast<double>(now - e.created_at) / kDayMs, policy.source_retention_days));
            a.archive_bytes = EstimateArchiveBytes(e.duration);
            actions->push_back(a);
        }
        for (const ClipRow* c : clips_of[e.id]) PlanClip(storage, e, *c, policy, now, actions);
    }
}

// Every folder of the per-episode areas, and what is in it: files no row names, and unfinished writes.
void PlanAreas(const Storage& storage, const Snapshot& snap, const CleanupPolicy& policy, int64_t now,
               const std::set<std::string>& known, std::vector<CleanupAction>* actions) {
    const auto grace_ms = static_cast<int64_t>(policy.grace_seconds * 1000);
    std::set<std::string> episodes;
    for (const auto& e : snap.episodes) episodes.insert(e.id);
    auto add = [&](const char* kind, bool act, const fs::path& p, const std::string& episode_id,
                   const std::string& why) {
        const auto [bytes, newest] = SizeAndNewest(p);
        if (now - newest < grace_ms) return;  // being written (an upload lands before its row)
        actions->push_back(MakeAction(kind, Rel(storage, p), bytes, act, episode_id, "", why));
    };
    for (const char* area : {"uploads", "episodes", "archive"}) {
        std::error_code ec;
        for (const auto& dir : fs::directory_iterator(storage.root() / area, ec)) {
            const std::string id = dir.path().filename().string();
            if (!episodes.count(id)) {
                add("orphan", policy.remove_orphans, dir.path(), "", "no episode has this id");
                continue;
            }
            if (snap.active.count(id)) continue;
            std::error_code rec;
            for (auto it = fs::recursive_directory_iterator(dir.path(), rec); !rec && it != fs::end(it);
                 it.increment(rec)) {
                std::error_code fec;
                if (!it->is_regular_file(fec)) continue;
                const std::string rel = Rel(storage, it->path());
                const std::string name = it->path().filename().string();
                if (known.count(rel)) continue;
                if (IsHiddenLeftover(name)) {
                    add("remove_work", true, it->path(), id, "an unfinished write of work that stopped");
                } else if (std::string(area) == "episodes" &&
                           (rel == Rel(storage, storage.EpisodeDir(id) / "frames.bin") ||
                            (it->path().parent_path() == storage.EpisodeDir(id) / "out" &&
                             kEpisodeOutputs.count(name)))) {
                    continue;  // the episode's own outputs
                } else {
                    add("orphan", policy.remove_orphans, it->path(), id, "no row names this file");
                }
            }
        }
    }
}

// Scratch entries of the work area and unfinished uploads.
void PlanScratch(const Storage& storage, const CleanupPolicy& policy, int64_t now,
                 std::vector<CleanupAction>* actions) {
    const auto grace_ms = static_cast<int64_t>(policy.grace_seconds * 1000);
    const auto work_ms = static_cast<int64_t>(policy.work_retention_hours * 3600 * 1000);
    for (const fs::path& dir : {storage.work_dir(), storage.tmp_dir()}) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            const std::string name = entry.path().filename().string();
            if (name == ".health") continue;
            const auto [bytes, newest] = SizeAndNewest(entry.path());
            const bool gone = ScratchOwnerGone(name);
            if (!gone && now - newest < work_ms) continue;
            if (now - newest < std::min<int64_t>(grace_ms, 60 * 1000)) continue;
            actions->push_back(
                MakeAction("remove_work", Rel(storage, entry.path()), bytes, true, "", "",
                           gone ? "scratch of a process that is gone"
                                : fmt::format("untouched for over {} hours", policy.work_retention_hours)));
        }
    }
}

std::vector<CleanupAction> Plan(const Storage& storage, const Snapshot& snap, const CleanupPolicy& policy,
                                int64_t now) {
    std::vector<CleanupAction> actions;
    std::set<std::string> known;  // relative paths the database names
    PlanRows(storage, snap, policy, now, &known, &actions);
    PlanAreas(storage, snap, policy, now, known, &actions);
    PlanScratch(storage, policy, now, &actions);
    return actions;
}

Status LoadSnapshot(Database* db, Snapshot* snap) {
    return db->With([&](Tx& s) {
        snap->episodes = ListEpisodes(s, std::nullopt, INT_MAX, 0);
        snap->clips = ListAllClips(s);
        snap->active = EpisodesWithActiveJobs(s);
    });
}

void RemovePath(const fs::path& p, CleanupAction* a) {
    std::error_code ec;
    fs::remove_all(p, ec);
    if (ec) {
        a->error = ec.message();
    } else {
        a->done = true;
    }
}

// Removes `dir` and its parents up to (not including) `stop` while they are empty.
void RemoveEmptyDirs(fs::path dir, const fs::path& stop) {
    std::error_code ec;
    while (!dir.empty() && dir != stop && fs::is_directory(dir, ec) && fs::is_empty(dir, ec)) {
        fs::remove(dir, ec);
        dir = dir.parent_path();
    }
}

void Archive(Database* db, const Storage& storage, const EpisodeRow& e, CleanupAction* a, const CancelToken* cancel) {
    auto source = storage.Resolve(e.audio_path);
    if (!source.ok()) {
        a->error = source.status().message();
        return;
    }
    const fs::path dir = storage.ArchiveDir(e.id);
    const fs::path dest = dir / "source.opus";
    const fs::path part = dir / (".source.opus.part-" + std::to_string(getpid()));
    std::error_code ec;
    fs::create_directories(dir, ec);
    auto drop = [&] {
        fs::remove(part, ec);
        RemoveEmptyDirs(dir, storage.root() / "archive");
    };
    auto input = FfmpegInput(*source);
    if (!input.ok()) {
        a->error = input.status().message();
        drop();
        return;
    }
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"};
    argv.insert(argv.end(), input->begin(), input->end());
    argv.insert(argv.end(), {"-map", "0:a:0", "-vn", "-ac", "1", "-c:a", "libopus", "-b:a", "24k", "-application",
                             "voip", "-f", "ogg", "file:" + part.string()});
    auto out = RunProcess(argv, cancel, TimeLimitMs(static_cast<int64_t>(e.duration * 1000.0), 0.5), kChildMemoryBytes);
    if (!out.ok() || out->exit_code != 0) {
        a->error = !out.ok() ? out.status().message()
                   : out->err.find("No space left") != std::string::npos
                       ? "no space left on device for the archive"
                       : "ffmpeg could not transcode the source: " + out->err.substr(0, 300);
        drop();
        return;
    }
    // The copy must be whole before the original goes: it decodes, and lasts as long as the episode.
    auto info = ProbeMedia(part);
    if (!info.ok() || std::abs(static_cast<double>(info->duration_ms) / 1000.0 - e.duration) > 2.0) {
        a->error = "the archived copy does not match the source; the source is kept";
        drop();
        return;
    }
    fs::rename(part, dest, ec);
    if (ec) {
        a->error = "cannot store the archive: " + ec.message();
        drop();
        return;
    }
    const std::string new_rel = Rel(storage, dest);
    bool switched = false;
    const Status st = db->InTransaction(
        [&](Tx& s) { switched = ArchiveEpisodeSource(s, e.id, e.audio_path, new_rel, NowEpochMs()); });
    if (!st.ok() || !switched) {
        // A job arrived, or another cleanup archived it first (then the row names `dest`: keep it).
        std::optional<EpisodeRow> now_row;
        // (When the row cannot be read, the archive copy is removed: the upload it was made from is still there.)
        LogIfFailed(db->With([&](Tx& s) { now_row = GetEpisode(s, e.id); }), "reading the episode back",
                    {{"episode_id", e.id}});
        if (!now_row || now_row->audio_path != new_rel) fs::remove(dest, ec);
        RemoveEmptyDirs(dir, storage.root() / "archive");
        a->error = st.ok() ? "skipped: the episode became busy or was archived meanwhile" : st.message();
        return;
    }
    a->archive_bytes = static_cast<int64_t>(fs::file_size(dest, ec));
    fs::remove(*source, ec);
    RemoveEmptyDirs(source->parent_path(), storage.root() / "uploads");
    a->done = true;
}

void Apply(Database* db, const Storage& storage, const Snapshot& snap, CleanupAction* a, const CancelToken* cancel) {
    if (!a->removes) return;
    std::error_code ec;
    if (a->action == "archive_source") {
        for (const auto& e : snap.episodes) {
            if (e.id == a->episode_id) Archive(db, storage, e, a, cancel);
        }
    } else if (a->action == "expire_clip") {
        const ClipRow* clip = nullptr;
        for (const auto& c : snap.clips) {
            if (c.id == a->clip_id) clip = &c;
        }
        bool expired = false;
        const Status st = db->InTransaction([&](Tx& s) { expired = ExpireClip(s, a->clip_id, NowEpochMs()); });
        if (!st.ok() || !expired || !clip) {
            a->error = st.ok() ? "skipped: the clip was starred or removed meanwhile" : st.message();
            return;
        }
        for (const auto& f : ClipFiles(*clip)) {
            if (auto p = storage.Resolve(f); p.ok()) fs::remove(*p, ec);
        }
        a->done = true;
    } else if (a->action == "missing_file") {
        Status st;
        if (!a->clip_id.empty()) {
            st = db->InTransaction([&](Tx& s) { DeleteClip(s, a->clip_id); });
            if (st.ok()) {
                for (const auto& c : snap.clips) {
                    if (c.id != a->clip_id) continue;
                    for (const auto& f : ClipFiles(c)) {
                        if (auto p = storage.Resolve(f); p.ok()) fs::remove(*p, ec);
                    }
                }
            }
        } else {
            bool idle = false;
            st = db->InTransaction([&](Tx& s) {
                idle = !EpisodesWithActiveJobs(s).count(a->episode_id);
                if (idle) DeleteEpisode(s, a->episode_id);
            });
            if (st.ok() && idle) storage.RemoveEpisode(a->episode_id);
            if (st.ok() && !idle) st = Status::Unavailable("skipped: a job of the episode was queued meanwhile");
        }
        if (st.ok()) {
            a->done = true;
        } else {
            a->error = st.message();
        }
    } else if (auto p = storage.Resolve(a->path); p.ok()) {
        RemovePath(*p, a);
        RemoveEmptyDirs(p->parent_path(), storage.root());
    }
}

// An exclusive lock on DATA_DIR/.cleanup.lock for the life of the object (waits for another holder).
class CleanupLock {
  public:
    static Result<CleanupLock> Take(const Storage& storage) {
        const fs::path p = storage.root() / ".cleanup.lock";
        const int fd = open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return StatusFromErrno(errno, "cannot open " + p.string());
        while (flock(fd, LOCK_EX) != 0) {
            if (errno != EINTR) {
                const int e = errno;
                close(fd);
                return StatusFromErrno(e, "cannot lock " + p.string());
            }
        }
        CleanupLock l;
        l.fd_ = fd;
        return l;
    }
    CleanupLock(CleanupLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    CleanupLock& operator=(CleanupLock&&) = delete;
    ~CleanupLock() {
        if (fd_ >= 0) close(fd_);  // releases the lock
    }

  private:
    CleanupLock() = default;
    int fd_ = -1;
};

}  // namespace

int64_t EstimateArchiveBytes(double seconds) {
    // 24 kb/s of Opus plus Ogg framing (about 2%) and the headers.
    return static_cast<int64_t>(seconds * 24000.0 / 8.0 * 1.02) + 4096;
}

namespace {

// A run that changed something, in the audit log (app/accounts.h reads it): who asked and what it did.
void AuditRun(Database* db, const CleanupPolicy& policy, const CleanupReport& report) {
    int done = 0, failed = 0;
    for (const auto& a : report.actions) {
        if (a.done) {
            ++done;
        } else if (!a.error.empty() && a.error.rfind("skipped", 0) != 0) {
            ++failed;
        }
    }
    AuditRow entry{NewId("au"),
                   NowEpochMs(),
                   policy.actor,
                   "cleanup.run",
                   "",
                   "",
                   failed > 0 ? "partial" : "ok",
                   fmt::format("{} actions done, {} failed; {} bytes freed{}", done, failed, report.bytes_freed,
                               policy.remove_orphans ? "; orphans removed" : "")};
    LogIfFailed(db->InTransaction([&](Tx& tx) { InsertAudit(tx, entry); }), "writing the cleanup's audit line");
}

}  // namespace

Result<CleanupReport> RunCleanup(Database* db, const Storage& storage, const CleanupPolicy& policy, bool dry_run,
                                 const CancelToken* cancel) {
    const auto started = std::chrono::steady_clock::now();
    std::optional<CleanupLock> lock;
    if (!dry_run) {
        auto l = CleanupLock::Take(storage);
        if (!l.ok()) return l.status();
        lock.emplace(std::move(*l));
    }
    Snapshot snap;
    PODPROMO_RETURN_IF_ERROR(LoadSnapshot(db, &snap));
    CleanupReport report;
    report.dry_run = dry_run;
    report.remove_orphans = policy.remove_orphans;
    report.skipped_episodes.assign(snap.active.begin(), snap.active.end());
    report.actions = Plan(storage, snap, policy, NowEpochMs());
    for (auto& a : report.actions) {
        if (cancel && cancel->cancelled()) break;
        if (!dry_run) Apply(db, storage, snap, &a, cancel);
        const bool counts = dry_run ? a.removes : a.done;
        if (counts) {
            report.bytes_freed += a.bytes;
            report.archive_bytes += a.archive_bytes;
        }
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!dry_run) AuditRun(db, policy, report);
    return report;
}

json CleanupReport::ToJson() const {
    json list = json::array();
    std::map<std::string, int> counts;
    for (const auto& a : actions) {
        counts[a.action] += 1;
        json j = {{"action", a.action},   {"path", a.path},     {"bytes", a.bytes},
                  {"removes", a.removes}, {"reason", a.reason}, {"done", a.done}};
        if (!a.episode_id.empty()) j["episode_id"] = a.episode_id;
        if (!a.clip_id.empty()) j["clip_id"] = a.clip_id;
        if (a.action == "archive_source") j["archive_bytes"] = a.archive_bytes;
        if (!a.error.empty()) j["error"] = a.error;
        list.push_back(std::move(j));
    }
    return {{"dry_run", dry_run},
            {"remove_orphans", remove_orphans},
            {"bytes_freed", bytes_freed},
            {"archive_bytes", archive_bytes},
            {"counts", counts},
            {"actions", list},
            {"skipped_episodes", skipped_episodes},
            {"seconds", seconds}};
}

}  // namespace podpromo
