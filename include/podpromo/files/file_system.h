// The file operations that the product's own writes go through, in the manner of LevelDB's Env: uploads being
// received, the outputs a job writes (captions, transcripts, result.json, frames.bin) and the disk's free space.
// The real one is DefaultFileSystem(); tests hand Storage a fake that runs out of space at a chosen byte
// (tests/support/fake_file_system.h), so a full disk is tested without root or a tmpfs.
//
// Not through here: what ffmpeg writes (renders, audio cuts, archives) is written by the child process itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "podpromo/core/status.h"

namespace podpromo {

struct DiskSpace {
    int64_t free_bytes = 0;   // available to this process
    int64_t total_bytes = 0;  // 0 when unknown
};

// A file being written. Closed (without sync) on destruction if Close was not called. Not thread-safe.
class WritableFile {
  public:
    virtual ~WritableFile() = default;
    // Appends all of `data`. NoSpace when the disk is full (what fitted may have been written), IoError otherwise.
    virtual Status Append(std::string_view data) = 0;
    // Flushes to the device (fsync). Errors as Append.
    virtual Status Sync() = 0;
    // Closes the file; later calls do nothing. Errors as Append.
    virtual Status Close() = 0;
};

// Thread-safe: every method may be called from any thread. Errors name the path; ENOSPC and EDQUOT are NoSpace.
class FileSystem {
  public:
    virtual ~FileSystem() = default;
    // Creates `path` for writing; it must not exist (IoError when it does). Its folder must exist.
    virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::filesystem::path& path) = 0;
    // Renames `from` to `to` (replacing it), within one file system.
    virtual Status Rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
    // Removes a file; Ok when it does not exist.
    virtual Status Remove(const std::filesystem::path& path) = 0;
    // The whole content of a file. NotFound when it does not exist, IoError when it cannot be read.
    virtual Result<std::string> ReadFile(const std::filesystem::path& path) = 0;
    // The disk holding `path` (one statvfs); zeros when it cannot be asked.
    virtual DiskSpace Space(const std::filesystem::path& path) = 0;
};

// The real file system (POSIX calls). Lives for the whole process; never null.
FileSystem* DefaultFileSystem();

}  // namespace podpromo
