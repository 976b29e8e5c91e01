// The managed storage under the data directory: where uploads and outputs live, safe names, quotas,
// streamed uploads with a checksum, and usage statistics.
//
//   DATA_DIR/podpromo.db                SQLite default database
//   DATA_DIR/uploads/<episode id>/<safe name>   the uploaded episode
//   DATA_DIR/episodes/<episode id>/     outputs: frames.bin, clips, captions, transcript files
//   DATA_DIR/archive/<episode id>/source.opus   a source past its retention, kept as speech-quality Opus
//   DATA_DIR/work/                      scratch files of running jobs (the service's TMPDIR)
//   DATA_DIR/tmp/                       uploads in progress (removed when they fail)
// Areas, as /storage/stats reports them: uploads, clips (episodes/), archive, work (work/ and tmp/).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "podpromo/core/clock.h"
#include "podpromo/core/status.h"
#include "podpromo/files/file_system.h"

namespace podpromo {

// A file name that is safe to create anywhere: the last path component only, no control characters, no
// leading dots, only letters, digits, '.', '-', '_' and spaces (others become '_'), at most 120 bytes,
// keeping the extension. Never empty ("upload" when nothing is left).
std::string SanitizeFileName(const std::string& name);

// An upload being written to DATA_DIR/tmp through a FileSystem. Counts bytes and hashes them (SHA-256) as they
// arrive. Removed on destruction unless committed. Not thread-safe.
class UploadFile {
  public:
    // `disk` is borrowed and must outlive the UploadFile.
    static Result<std::unique_ptr<UploadFile>> Create(const std::filesystem::path& tmp_dir,
                                                      FileSystem* disk = DefaultFileSystem());
    ~UploadFile();
    // Appends bytes. NoSpace when the disk is full, IoError otherwise.
    Status Write(const char* data, size_t size);
    // Flushes and closes; the file stays until Commit or destruction.
    Status Finish();
    // Moves the finished file to `dest` (creating its folder). After this the object owns nothing.
    Status Commit(const std::filesystem::path& dest);
    int64_t size_bytes() const { return size_; }
    std::string sha256_hex() const { return digest_; }
    const std::filesystem::path& path() const { return path_; }

  private:
    UploadFile() = default;
    FileSystem* fs_ = nullptr;
    std::filesystem::path path_;
    std::unique_ptr<WritableFile> file_;  // null once finished
    int64_t size_ = 0;
    std::string digest_;
    struct Hash;
    std::unique_ptr<Hash> hash_;
    bool committed_ = false;
};

// The name prefix of a scratch file or folder in the work area: "podpromo-<kind>.<host>.<pid>." (a random
// part follows), so cleanup can tell those of processes that are gone.
std::string WorkScratchPrefix(const std::string& kind);
// True when `name` is a scratch name (WorkScratchPrefix) of a process of this host that is no longer running.
bool ScratchOwnerGone(const std::string& name);

struct StorageStats {
    int64_t used_bytes = 0;
    int64_t quota_bytes = 0;
    int64_t disk_free_bytes = 0;
    int64_t disk_total_bytes = 0;
    std::map<std::string, int64_t> files_by_kind;  // upload, audio, video, captions, transcript, data, other
    std::map<std::string, int64_t> bytes_by_kind;
    std::map<std::string, int64_t> bytes_by_area;  // uploads, clips, archive, work
    std::map<std::string, int64_t> files_by_area;
    struct OldFile {
        std::string path;  // relative to the root
        int64_t bytes = 0;
        int64_t modified_ms = 0;
    };
    std::vector<OldFile> oldest;  // the five least recently modified files
};

class Storage {
  public:
    // Creates the folders under `root`. IoError when it cannot. The product's own writes under the root (uploads,
    // job outputs) and the disk's free space go through `disk`, which is borrowed and must outlive every copy.
    static Result<Storage> Open(const std::filesystem::path& root, int64_t quota_bytes,
                                FileSystem* disk = DefaultFileSystem());

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path tmp_dir() const { return root_ / "tmp"; }
    std::filesystem::path work_dir() const { return root_ / "work"; }
    std::filesystem::path ArchiveDir(const std::string& episode_id) const;
    std::filesystem::path UploadPath(const std::string& episode_id, const std::string& safe_name) const;
    std::filesystem::path EpisodeDir(const std::string& episode_id) const;
    // `relative` resolved under the root; NotFound if it would leave the root (".." or absolute).
    Result<std::filesystem::path> Resolve(const std::string& relative) const;

    // Bytes used by uploads and outputs (the database is not counted). Walks the folders.
    int64_t UsedBytes() const;
    // The disk holding the data directory (FileSystem::Space; no walk).
    DiskSpace Disk() const;
    int64_t quota_bytes() const { return quota_bytes_; }
    // What writes under the root go through (never null).
    FileSystem* fs() const { return fs_; }
    // NoSpace when adding `incoming` bytes would pass the quota or leave the disk under 1% free. Bytes reserved by
    // uploads still streaming count as used.
    Status CheckRoom(int64_t incoming) const;

    // Room held for an upload while it streams, so parallel uploads cannot each pass the check before any of them
    // has written (96 of them once could each write MAX_FILE_SIZE). Released when destroyed: by then the file is
    // stored (and counted on disk) or gone. Move-only; one thread at a time.
    class Reservation {
      public:
        Reservation() = default;
        Reservation(Reservation&& other) noexcept;
        Reservation& operator=(Reservation&& other) noexcept;
        ~Reservation();
        int64_t bytes() const { return bytes_; }
        // Holds `more` bytes besides: NoSpace (holding what it held) when they are not there.
        Status Grow(int64_t more);

      private:
        friend class Storage;
        struct Book;
        void Release();
        const Storage* storage_ = nullptr;  // for Grow's check: the Storage the service holds for its life
        std::shared_ptr<Book> book_;        // what is held, shared by every copy of the Storage
        int64_t bytes_ = 0;
    };
    // Checks and holds `bytes` at once (one check-and-hold at a time across threads). NoSpace as CheckRoom.
    Result<Reservation> Reserve(int64_t bytes) const;
    // Use by kind and the disk. Walks the folders: for the stats endpoint, not for frequent checks.
    StorageStats Stats() const;
    // Removes an episode's upload and outputs.
    void RemoveEpisode(const std::string& episode_id) const;
    // A write failed for lack of space (a job or an upload): /health reports the disk degraded for a while.
    // Thread-safe.
    void NoteNoSpace() const { *last_no_space_ms_ = NowEpochMs(); }
    // When NoteNoSpace was last called (milliseconds since the epoch), 0 when never.
    int64_t last_no_space_ms() const { return *last_no_space_ms_; }
    // Removes the scratch files (unfinished uploads, render folders) of this host's processes that are gone (a
    // crash). Those of running processes, here or on other hosts sharing the root, stay. Returns how many.
    int CleanTmp() const;

  private:
    Status CheckRoomWith(int64_t incoming) const;  // the check alone, `incoming` counting the reservations

    std::filesystem::path root_;
    int64_t quota_bytes_ = 0;
    FileSystem* fs_ = nullptr;
    std::shared_ptr<std::atomic<int64_t>> last_no_space_ms_ = std::make_shared<std::atomic<int64_t>>(0);
    std::shared_ptr<Reservation::Book> reserved_;
};

}  // namespace podpromo
