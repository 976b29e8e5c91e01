// Writing files so that a reader never sees a half-written one (temp file + fsync + rename).
#pragma once

#include <filesystem>
#include <string_view>

#include "podpromo/core/status.h"
#include "podpromo/files/file_system.h"

namespace podpromo {

// Writes `content` to `path` atomically: a temp file beside it, then rename. On failure nothing is left
// behind and `path` keeps its old content. Errors: NoSpace when the disk is full, IoError otherwise. Through `disk`
// (borrowed for the call).
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view content,
                       FileSystem* disk = DefaultFileSystem());

// Ten random letters and digits, for names that must not collide (temp files, staging folders).
std::string RandomNameSuffix();

// Maps errno from a failed write to a Status naming `what`.
Status StatusFromErrno(int err, const std::string& what);

// A directory that is removed with everything in it on destruction unless Keep() was called.
// Used to stage outputs so a failure leaves nothing behind. Not thread-safe.
class StagingDir {
  public:
    // Creates a fresh uniquely named directory inside `parent` (which must exist).
    static Result<StagingDir> Create(const std::filesystem::path& parent, std::string_view prefix);
    StagingDir(StagingDir&& other) noexcept;
    StagingDir& operator=(StagingDir&&) = delete;
    StagingDir(const StagingDir&) = delete;
    ~StagingDir();

    const std::filesystem::path& path() const { return path_; }
    void Keep() { keep_ = true; }

  private:
    explicit StagingDir(std::filesystem::path p) : path_(std::move(p)) {}
    std::filesystem::path path_;
    bool keep_ = false;
};

// The whole content of a file (FileSystem::ReadFile of `disk`). NotFound when it does not exist, IoError when it
// cannot be read.
Result<std::string> ReadFileBytes(const std::filesystem::path& path, FileSystem* disk = DefaultFileSystem());

}  // namespace podpromo
