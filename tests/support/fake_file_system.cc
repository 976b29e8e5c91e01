#include "fake_file_system.h"

#include <cerrno>

#include "podpromo/files/atomic.h"

namespace podpromo::testing {
namespace fs = std::filesystem;

class LimitedFileSystem::File : public WritableFile {
  public:
    File(LimitedFileSystem* owner, fs::path path, std::unique_ptr<WritableFile> real)
        : owner_(owner), path_(std::move(path)), real_(std::move(real)) {}
    Status Append(std::string_view data) override {
        const auto fits = static_cast<size_t>(owner_->Take(path_, static_cast<int64_t>(data.size())));
        PODPROMO_RETURN_IF_ERROR(real_->Append(data.substr(0, fits)));
        if (fits < data.size()) return StatusFromErrno(ENOSPC, "cannot write " + path_.string());
        return Status::Ok();
    }
    Status Sync() override { return real_->Sync(); }
    Status Close() override { return real_->Close(); }

  private:
    LimitedFileSystem* owner_;
    fs::path path_;
    std::unique_ptr<WritableFile> real_;
};

void LimitedFileSystem::set_capacity(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    capacity_ = bytes;
}

int64_t LimitedFileSystem::used_bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    ForgetRemovedLocked();
    return used_;
}

int LimitedFileSystem::no_space_failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return no_space_;
}

void LimitedFileSystem::ForgetRemovedLocked() {
    for (auto it = sizes_.begin(); it != sizes_.end();) {
        std::error_code ec;
        if (fs::exists(it->first, ec) || ec) {
            ++it;
        } else {
            used_ -= it->second;
            it = sizes_.erase(it);
        }
    }
}

int64_t LimitedFileSystem::Take(const fs::path& path, int64_t wanted) {
    std::lock_guard<std::mutex> lock(mu_);
    if (used_ + wanted > capacity_) ForgetRemovedLocked();
    const int64_t fits = std::max<int64_t>(0, std::min(wanted, capacity_ - used_));
    used_ += fits;
    sizes_[path] += fits;
    if (fits < wanted) ++no_space_;
    return fits;
}

Result<std::unique_ptr<WritableFile>> LimitedFileSystem::NewWritableFile(const fs::path& path) {
    auto real = DefaultFileSystem()->NewWritableFile(path);
    if (!real.ok()) return real.status();
    {
        std::lock_guard<std::mutex> lock(mu_);
        sizes_[path] = 0;
    }
    return std::unique_ptr<WritableFile>(std::make_unique<File>(this, path, std::move(*real)));
}

Status LimitedFileSystem::Rename(const fs::path& from, const fs::path& to) {
    PODPROMO_RETURN_IF_ERROR(DefaultFileSystem()->Rename(from, to));
    std::lock_guard<std::mutex> lock(mu_);
    auto old = sizes_.find(to);
    if (old != sizes_.end()) {
        used_ -= old->second;  // the replaced file's space is free again
        sizes_.erase(old);
    }
    auto it = sizes_.find(from);
    if (it != sizes_.end()) {
        sizes_[to] = it->second;
        sizes_.erase(it);
    }
    return Status::Ok();
}

Status LimitedFileSystem::Remove(const fs::path& path) {
    PODPROMO_RETURN_IF_ERROR(DefaultFileSystem()->Remove(path));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(path);
    if (it != sizes_.end()) {
        used_ -= it->second;
        sizes_.erase(it);
    }
    return Status::Ok();
}

Result<std::string> LimitedFileSystem::ReadFile(const fs::path& path) { return DefaultFileSystem()->ReadFile(path); }

DiskSpace LimitedFileSystem::Space(const fs::path&) {
    std::lock_guard<std::mutex> lock(mu_);
    ForgetRemovedLocked();
    return {std::max<int64_t>(0, capacity_ - used_), capacity_};
}

}  // namespace podpromo::testing
