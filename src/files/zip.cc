#include "podpromo/files/zip.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <ctime>
#include <set>

#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"

namespace podpromo {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kMax32 = 0xFFFFFFFFu;
constexpr size_t kMaxEntries = 0xFFFF;
constexpr uint16_t kUtf8Names = 0x0800, kVersion = 20;

void Put16(std::string* out, uint16_t v) {
    out->push_back(static_cast<char>(v & 0xFF));
    out->push_back(static_cast<char>(v >> 8));
}
void Put32(std::string* out, uint32_t v) {
    Put16(out, static_cast<uint16_t>(v & 0xFFFF));
    Put16(out, static_cast<uint16_t>(v >> 16));
}

Status CheckName(const std::string& name) {
    if (name.empty() || name == "." || name == ".." || !IsValidUtf8(name) || name.size() > 0xFFFF) {
        return Status::InvalidInput("not a file name for an archive: \"" + TruncateUtf8(name, 80) + "\"");
    }
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7F || c == '/' || c == '\\') {
            return Status::InvalidInput("an archive's file name holds a folder or control character");
        }
    }
    return Status::Ok();
}

// The file's CRC-32 and size, read through once.
Status Checksum(const fs::path& path, uint64_t* size, uint32_t* crc, time_t* mtime) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return StatusFromErrno(errno, "cannot read " + path.filename().string());
    struct stat st {};
    fstat(fd, &st);
    *mtime = st.st_mtime;
    uLong c = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    char buf[64 * 1024];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) != 0;) {
        if (n < 0) {
            const int err = errno;
            close(fd);
            return StatusFromErrno(err, "cannot read " + path.filename().string());
        }
        c = crc32(c, reinterpret_cast<const Bytef*>(buf), static_cast<uInt>(n));
        total += static_cast<uint64_t>(n);
    }
    close(fd);
    *size = total;
    *crc = static_cast<uint32_t>(c);
    return Status::Ok();
}

// MS-DOS time and date (UTC; 1980 at the earliest), as ZIP headers carry them.
void DosTime(time_t t, uint16_t* time, uint16_t* date) {
    struct tm tm {};
    gmtime_r(&t, &tm);
    if (tm.tm_year < 80) {
        tm = {};
        tm.tm_mday = 1;
        tm.tm_year = 80;
    }
    *time = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
    *date = static_cast<uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
}

}  // namespace

Result<std::unique_ptr<ZipStream>> ZipStream::Create(std::vector<Entry> entries) {
    if (entries.size() > kMaxEntries) return Status::InvalidInput("too many files for one archive");
    std::unique_ptr<ZipStream> z(new ZipStream());
    std::set<std::string> names;
    for (Entry& e : entries) {
        PODPROMO_RETURN_IF_ERROR(CheckName(e.name));
        if (!names.insert(e.name).second) return Status::InvalidInput("two files named " + e.name + " in one archive");
        Sized s{std::move(e)};
        time_t mtime = 0;
        PODPROMO_RETURN_IF_ERROR(Checksum(s.entry.path, &s.size, &s.crc, &mtime));
        if (s.size >= kMax32) return Status::InvalidInput(s.entry.name + " is too large for the archive");
        DosTime(mtime, &s.dos_time, &s.dos_date);
        z->files_.push_back(std::move(s));
    }
    z->Lay();
    if (z->size_ >= kMax32) return Status::InvalidInput("the files are too large for one archive (4 GiB)");
    return z;
}

// The archive's layout: each file's local header and content, then the central directory and its end record.
void ZipStream::Lay() {
    auto add = [this](std::string bytes, int file, uint64_t length) {
        if (file < 0) length = bytes.size();
        pieces_.push_back({size_, length, std::move(bytes), file});
        size_ += length;
    };
    std::string central;
    for (size_t i = 0; i < files_.size(); ++i) {
        const Sized& f = files_[i];
        const auto local_at = static_cast<uint32_t>(size_);
        std::string h;
        Put32(&h, 0x04034b50);
        for (uint16_t v : {kVersion, kUtf8Names, uint16_t{0}, f.dos_time, f.dos_date}) Put16(&h, v);
        for (uint32_t v : {f.crc, static_cast<uint32_t>(f.size), static_cast<uint32_t>(f.size)}) Put32(&h, v);
        Put16(&h, static_cast<uint16_t>(f.entry.name.size()));
        Put16(&h, 0);
        add(h + f.entry.name, -1, 0);
        add("", static_cast<int>(i), f.size);
        Put32(&central, 0x02014b50);
        for (uint16_t v : {uint16_t{0x031E}, kVersion, kUtf8Names, uint16_t{0}, f.dos_time, f.dos_date}) {
            Put16(&central, v);
        }
        for (uint32_t v : {f.crc, static_cast<uint32_t>(f.size), static_cast<uint32_t>(f.size)}) Put32(&central, v);
        for (uint16_t v :
             {static_cast<uint16_t>(f.entry.name.size()), uint16_t{0}, uint16_t{0}, uint16_t{0}, uint16_t{0}}) {
            Put16(&central, v);
        }
        Put32(&central, 0100644u << 16);  // a regular file, rw-r--r--
        Put32(&central, local_at);
        central += f.entry.name;
    }
    const auto central_at = static_cast<uint32_t>(size_);
    std::string end;
    Put32(&end, 0x06054b50);
    for (uint16_t v :
         {uint16_t{0}, uint16_t{0}, static_cast<uint16_t>(files_.size()), static_cast<uint16_t>(files_.size())}) {
        Put16(&end, v);
    }
    Put32(&end, static_cast<uint32_t>(central.size()));
    Put32(&end, central_at);
    Put16(&end, 0);
    add(central + end, -1, 0);
}

ZipStream::~ZipStream() {
    if (fd_ >= 0) close(fd_);
}

Status ZipStream::Read(uint64_t offset, size_t max, std::string* out) {
    if (offset != next_) return Status::InvalidInput("an archive is read in order");
    while (max > 0 && at_ < pieces_.size()) {
        const Piece& p = pieces_[at_];
        const uint64_t from = offset - p.offset;
        const size_t n = static_cast<size_t>(std::min<uint64_t>(max, p.length - from));
        if (p.file < 0) {
            out->append(p.bytes, static_cast<size_t>(from), n);
        } else {
            PODPROMO_RETURN_IF_ERROR(ReadFile(p, from, n, out));
        }
        offset += n;
        max -= n;
        next_ = offset;
        if (offset == p.offset + p.length) ++at_;
    }
    return Status::Ok();
}

Status ZipStream::ReadFile(const Piece& p, uint64_t from, size_t n, std::string* out) {
    const Sized& f = files_[static_cast<size_t>(p.file)];
    if (open_ != p.file) {
        if (fd_ >= 0) close(fd_);
        fd_ = open(f.entry.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) return StatusFromErrno(errno, "cannot read " + f.entry.name);
        struct stat st {};
        if (fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) != f.size) {
            return Status::IoError(f.entry.name + " changed while it was being archived");
        }
        open_ = p.file;
        running_crc_ = static_cast<uint32_t>(crc32(0L, Z_NULL, 0));
    }
    const size_t was = out->size();
    out->resize(was + n);
    size_t done = 0;
    while (done < n) {
        const ssize_t got = pread(fd_, out->data() + was + done, n - done, static_cast<off_t>(from + done));
        if (got <= 0) return Status::IoError(f.entry.name + " changed while it was being archived");
        done += static_cast<size_t>(got);
    }
    running_crc_ = static_cast<uint32_t>(
        crc32(running_crc_, reinterpret_cast<const Bytef*>(out->data() + was), static_cast<uInt>(n)));
    if (from + n == f.size && running_crc_ != f.crc) {
        return Status::IoError(f.entry.name + " changed while it was being archived");
    }
    return Status::Ok();
}

}  // namespace podpromo
