// A disk of a chosen size, for testing what a full disk does without root or a tmpfs (in the manner of LevelDB's
// SpecialEnv). Files are really written, through DefaultFileSystem(), and counted: the write that would pass the
// capacity writes what fits, then fails with ENOSPC's Status, as a real full disk does. Space() reports the
// capacity and what is left. A file removed by other means (a staging folder's remove_all) frees its space when next
// asked. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "podpromo/files/file_system.h"

namespace podpromo::testing {

class LimitedFileSystem : public FileSystem {
  public:
    explicit LimitedFileSystem(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

    // Changes the size of the disk (a disk that fills up from elsewhere: set it to what is used).
    void set_capacity(int64_t bytes);
    // Bytes held by files written through this that still exist.
    int64_t used_bytes();
    // How many writes failed for lack of space.
    int no_space_failures() const;

    Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::filesystem::path& path) override;
    Status Rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
    Status Remove(const std::filesystem::path& path) override;
    Result<std::string> ReadFile(const std::filesystem::path& path) override;
    DiskSpace Space(const std::filesystem::path& path) override;

  private:
    class File;
    // Takes up to `wanted` bytes for `path`; returns how many fitted.
    int64_t Take(const std::filesystem::path& path, int64_t wanted);
    // Frees the space of counted files that no longer exist. With mu_ held.
    void ForgetRemovedLocked();

    mutable std::mutex mu_;
    int64_t capacity_;
    int64_t used_ = 0;
    int no_space_ = 0;
    std::map<std::filesystem::path, int64_t> sizes_;  // files written through this, by path
};

}  // namespace podpromo::testing
