// The storage lifecycle: reconciliation of the files on disk with the database, and cleanup.
//
// One pass plans every action from the database and a walk of the storage root, then (unless it is a dry
// run) carries them out:
//   archive_source  an episode older than the source retention: its upload is transcoded to a speech-quality
//                   Opus file under archive/<episode>/source.opus, the episode points at it (so it can still
//                   be re-clipped and re-processed, as audio), and the upload is removed;
//   expire_clip     a clip older than the clip retention and not starred: its files are removed and the clip
//                   is marked expired (its score, explanation and feedback stay);
//   remove_work     leftovers of work that ended without cleaning up (a killed process): scratch folders of
//                   processes that are gone, unfinished uploads, hidden .part/.tmp files;
//   orphan          a file or folder the database does not know: reported, removed with remove_orphans;
//   missing_file    a row whose file is gone (an episode's source, a clip's file): reported; with
//                   remove_orphans the clip row (or the episode, with what is left of it) is removed.
// Episodes with a queued or running job are left alone entirely, and the database updates that matter are
// conditional (an archive only lands while the episode is still idle; a clip is only expired while it is
// unstarred), so a job or a star that arrives between planning and acting wins. Runs hold an exclusive lock
// file under the root, so two processes (or threads) can run cleanup at once: the second waits, plans again
// and finds nothing left to do.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "podpromo/core/progress.h"
#include "podpromo/files/storage.h"
#include "podpromo/store/database.h"

namespace podpromo {

struct CleanupPolicy {
    double source_retention_days = 30;  // SOURCE_RETENTION_DAYS: archive sources older than this (0: never)
    double clip_retention_days = 90;    // CLIP_RETENTION_DAYS: expire unstarred clips older than this (0: never)
    double work_retention_hours = 6;    // leftovers of work older than this go even when their owner is unknown
    double grace_seconds = 600;         // files younger than this are never called orphans or leftovers
    bool remove_orphans = false;        // also remove unknown files and rows whose files are missing
    std::string actor = "scheduled";    // who asked, for the audit log: a run that changes something is written there
};

struct CleanupAction {
    std::string action;    // archive_source, expire_clip, remove_work, orphan, missing_file
    std::string path;      // relative to the storage root
    int64_t bytes = 0;     // what the action frees
    bool removes = false;  // whether this run removes `bytes` (orphans and missing rows only with the flag)
    std::string episode_id, clip_id, reason;
    int64_t archive_bytes = 0;  // archive_source: the Opus file (estimated in a dry run)
    bool done = false;
    std::string error;
};

struct CleanupReport {
    bool dry_run = true;
    bool remove_orphans = false;
    std::vector<CleanupAction> actions;
    int64_t bytes_freed = 0;                    // by the actions that remove (predicted in a dry run)
    int64_t archive_bytes = 0;                  // written to the archive (estimated in a dry run)
    std::vector<std::string> skipped_episodes;  // left alone: a job of theirs is queued or running
    double seconds = 0;
    nlohmann::json ToJson() const;
};

// Plans and (unless `dry_run`) carries out one cleanup pass. A failed action is reported in its entry and
// does not stop the others; the returned error is only for what stops the whole pass (the database, the
// lock). Thread-safe and safe across processes. `cancel` stops it between actions.
Result<CleanupReport> RunCleanup(Database* db, const Storage& storage, const CleanupPolicy& policy, bool dry_run,
                                 const CancelToken* cancel = nullptr);

// An estimate of the archived size of `seconds` of speech (24 kb/s Opus in Ogg).
int64_t EstimateArchiveBytes(double seconds);

}  // namespace podpromo
