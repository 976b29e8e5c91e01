#include "podpromo/files/atomic.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace podpromo {
namespace fs = std::filesystem;

namespace {
std::string RandomSuffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string s(10, 'x');
    for (auto& c : s) c = kAlphabet[rng() % 36];
    return s;
}
}  // namespace

Status StatusFromErrno(int err, const std::string& what) {
    if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(what + ": no space left on device");
    return Status::IoError(what + ": " + std::strerror(err));
}

Status WriteFileAtomic(const fs::path& path, std::string_view content) {
    const fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp-" + RandomSuffix());
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return StatusFromErrno(errno, "cannot create " + path.string());
    size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            close(fd);
            unlink(tmp.c_str());
            return StatusFromErrno(e, "cannot write " + path.string());
        }
        done += static_cast<size_t>(n);
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        const int e = errno;
        unlink(tmp.c_str());
        return StatusFromErrno(e, "cannot write " + path.string());
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        unlink(tmp.c_str());
        return StatusFromErrno(e, "cannot rename into " + path.string());
    }
    return Status::Ok();
}

Result<StagingDir> StagingDir::Create(const fs::path& parent, std::string_view prefix) {
    for (int attempt = 0; attempt < 8; ++attempt) {
        fs::path p = parent / (std::string(prefix) + RandomSuffix());
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

Result<std::string> ReadFileBytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) return Status::NotFound(path.string() + ": no such file");
        return Status::IoError("cannot read " + path.string());
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Status::IoError("cannot read " + path.string());
    return ss.str();
}

}  // namespace podpromo
