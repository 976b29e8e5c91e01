#include "podpromo/files/file_system.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "podpromo/files/atomic.h"

namespace podpromo {
namespace fs = std::filesystem;

namespace {

class PosixWritableFile : public WritableFile {
  public:
    PosixWritableFile(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
    ~PosixWritableFile() override {
        if (fd_ >= 0) close(fd_);
    }
    Status Append(std::string_view data) override {
        size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = write(fd_, data.data() + done, data.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                return StatusFromErrno(errno, "cannot write " + path_.string());
            }
            done += static_cast<size_t>(n);
        }
        return Status::Ok();
    }
    Status Sync() override {
        if (fsync(fd_) != 0) return StatusFromErrno(errno, "cannot write " + path_.string());
        return Status::Ok();
    }
    Status Close() override {
        if (fd_ < 0) return Status::Ok();
        const int rc = close(fd_);
        fd_ = -1;
        if (rc != 0) return StatusFromErrno(errno, "cannot write " + path_.string());
        return Status::Ok();
    }

  private:
    int fd_;
    fs::path path_;
};

class PosixFileSystem : public FileSystem {
  public:
    Result<std::unique_ptr<WritableFile>> NewWritableFile(const fs::path& path) override {
        const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) return StatusFromErrno(errno, "cannot create " + path.string());
        return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(fd, path));
    }
    Status Rename(const fs::path& from, const fs::path& to) override {
        if (rename(from.c_str(), to.c_str()) != 0) return StatusFromErrno(errno, "cannot rename into " + to.string());
        return Status::Ok();
    }
    Status Remove(const fs::path& path) override {
        if (unlink(path.c_str()) != 0 && errno != ENOENT)
            return StatusFromErrno(errno, "cannot remove " + path.string());
        return Status::Ok();
    }
    Result<std::string> ReadFile(const fs::path& path) override {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            std::error_code ec;
            if (!fs::exists(path, ec)) return Status::NotFound(path.string() + ": no such file");
            return Status::IoError("cannot read " + path.string());
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in.bad()) return Status::IoError("cannot read " + path.string());
        return ss.str();
    }
    DiskSpace Space(const fs::path& path) override {
        DiskSpace d;
        struct statvfs vfs {};
        if (statvfs(path.c_str(), &vfs) == 0) {
            d.free_bytes = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
            d.total_bytes = static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize);
        }
        return d;
    }
};

}  // namespace

FileSystem* DefaultFileSystem() {
    static PosixFileSystem* const fs = new PosixFileSystem();  // never destroyed: usable until the process ends
    return fs;
}

}  // namespace podpromo
