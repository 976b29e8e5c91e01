#include "podpromo/files/atomic.h"

#include <cerrno>
#include <cstring>
#include <random>

namespace podpromo {
namespace fs = std::filesystem;

std::string RandomNameSuffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string s(10, 'x');
    for (auto& c : s) c = kAlphabet[rng() % 36];
    return s;
}

Status StatusFromErrno(int err, const std::string& what) {
    if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(what + ": no space left on device");
    return Status::IoError(what + ": " + std::strerror(err));
}

namespace {
// `st` as its reader should see it: naming the file written, not its hidden temp file.
Status NamingTheFile(const Status& st, const fs::path& tmp, const fs::path& path) {
    std::string message = st.message();
    if (const auto at = message.find(tmp.string()); at != std::string::npos)
        message.replace(at, tmp.string().size(), path.string());
    return Status(st.code(), message).WithSlug(st.slug());
}
}  // namespace

Status WriteFileAtomic(const fs::path& path, std::string_view content, FileSystem* disk) {
    const fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp-" + RandomNameSuffix());
    auto file = disk->NewWritableFile(tmp);
    if (!file.ok()) return NamingTheFile(file.status(), tmp, path);
    Status st = (*file)->Append(content);
    if (st.ok()) st = (*file)->Sync();
    if (st.ok()) st = (*file)->Close();
    if (st.ok()) st = disk->Rename(tmp, path);
    if (!st.ok()) {
        file->reset();
        disk->Remove(tmp).IgnoreError("best effort: the write's own error is the one to report");
        return NamingTheFile(st, tmp, path);
    }
    return Status::Ok();
}

Result<StagingDir> StagingDir::Create(const fs::path& parent, std::string_view prefix) {
    for (int attempt = 0; attempt < 8; ++attempt) {
        fs::path p = parent / (std::string(prefix) + RandomNameSuffix());
        std::error_code ec;
        if (fs::create_directory(p, ec)) return StagingDir(std::move(p));
        if (ec) return StatusFromErrno(ec.value(), "cannot create a directory in " + parent.string());
    }
    return Status::IoError("cannot create a staging directory in " + parent.string());
}

StagingDir::StagingDir(StagingDir&& other) noexcept : path_(std::move(other.path_)), keep_(other.keep_) {
    other.keep_ = true;
}

StagingDir::~StagingDir() {
    if (keep_ || path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
}

Result<std::string> ReadFileBytes(const std::filesystem::path& path, FileSystem* disk) { return disk->ReadFile(path); }

}  // namespace podpromo
