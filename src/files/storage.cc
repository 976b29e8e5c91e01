#include "podpromo/files/storage.h"

#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <utility>

#include "podpromo/files/atomic.h"

namespace podpromo {
namespace fs = std::filesystem;

std::string SanitizeFileName(const std::string& name) {
    // Last component, whichever separator the client used.
    std::string base = name;
    const auto slash = base.find_last_of("/\\");
    if (slash != std::string::npos) base = base.substr(slash + 1);
    std::string out;
    for (unsigned char ch : base) {
        if (std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_' || ch == ' ') {
            out.push_back(static_cast<char>(ch));
        } else if (ch >= 0x80 || ch > 0x20) {
            out.push_back('_');
        }
    }
    while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(out.begin());
    while (!out.empty() && (out.back() == ' ' || out.back() == '.')) out.pop_back();
    if (out.size() > 120) {
        const auto dot = out.rfind('.');
        std::string ext = dot != std::string::npos && out.size() - dot <= 10 ? out.substr(dot) : "";
        out = out.substr(0, 120 - ext.size()) + ext;
    }
    if (out.empty()) out = "upload";
    return out;
}

namespace {
// A failed write of an upload, as the client hears it: the kind of failure, never the server's paths.
Status UploadWriteFailed(const Status& st) {
    if (st.code() == StatusCode::kNoSpace) return Status::NoSpace("cannot write the upload: no space left on device");
    return Status(st.code(), "cannot write the upload");
}
}  // namespace

struct UploadFile::Hash {
    crypto_hash_sha256_state state;
};

Result<std::unique_ptr<UploadFile>> UploadFile::Create(const fs::path& tmp_dir, FileSystem* disk) {
    if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
    std::error_code ec;
    fs::create_directories(tmp_dir, ec);
    const fs::path path = tmp_dir / (WorkScratchPrefix("upload") + RandomNameSuffix());
    auto file = disk->NewWritableFile(path);
    if (!file.ok()) return UploadWriteFailed(file.status());
    std::unique_ptr<UploadFile> f(new UploadFile());
    f->fs_ = disk;
    f->file_ = std::move(*file);
    f->path_ = path;
    f->hash_ = std::make_unique<Hash>();
    crypto_hash_sha256_init(&f->hash_->state);
    return f;
}

UploadFile::~UploadFile() {
    file_.reset();
    if (!committed_ && !path_.empty()) fs_->Remove(path_).IgnoreError("an upload that failed: best effort");
}

Status UploadFile::Write(const char* data, size_t size) {
    if (!file_) return Status::Internal("the upload was already finished");
    crypto_hash_sha256_update(&hash_->state, reinterpret_cast<const unsigned char*>(data), size);
    const Status st = file_->Append(std::string_view(data, size));
    if (!st.ok()) return UploadWriteFailed(st);
    size_ += static_cast<int64_t>(size);
    return Status::Ok();
}

Status UploadFile::Finish() {
    if (!file_) return Status::Ok();
    Status st = file_->Sync();
    const Status closed = file_->Close();
    file_.reset();
    if (st.ok()) st = closed;
    if (!st.ok()) return UploadWriteFailed(st);
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&hash_->state, out);
    static const char* hex = "0123456789abcdef";
    digest_.clear();
    for (unsigned char b : out) {
        digest_.push_back(hex[b >> 4]);
        digest_.push_back(hex[b & 15]);
    }
    return Status::Ok();
}

Status UploadFile::Commit(const fs::path& dest) {
    PODPROMO_RETURN_IF_ERROR(Finish());
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return StatusFromErrno(ec.value(), "cannot create " + dest.parent_path().string());
    const Status moved = fs_->Rename(path_, dest);
    if (!moved.ok()) return UploadWriteFailed(moved);
    committed_ = true;
    return Status::Ok();
}

Result<Storage> Storage::Open(const fs::path& root, int64_t quota_bytes, FileSystem* disk) {
    Storage s;
    s.fs_ = disk;
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) return StatusFromErrno(ec.value(), "cannot create the data directory " + root.string());
    s.root_ = fs::weakly_canonical(root, ec);
    if (ec) s.root_ = root;
    for (const char* sub : {"uploads", "episodes", "archive", "work", "tmp"}) {
        fs::create_directories(s.root_ / sub, ec);
        if (ec) return StatusFromErrno(ec.value(), "cannot create " + (s.root_ / sub).string());
    }
    s.quota_bytes_ = quota_bytes;
    s.reserved_ = std::make_shared<Reservation::Book>();
    return s;
}

fs::path Storage::UploadPath(const std::string& episode_id, const std::string& safe_name) const {
    return root_ / "uploads" / SanitizeFileName(episode_id) / SanitizeFileName(safe_name);
}

fs::path Storage::EpisodeDir(const std::string& episode_id) const {
    return root_ / "episodes" / SanitizeFileName(episode_id);
}

fs::path Storage::ArchiveDir(const std::string& episode_id) const {
    return root_ / "archive" / SanitizeFileName(episode_id);
}

namespace {

const std::string& ScratchHost() {
    static const std::string host = [] {
        char name[256] = {0};
        gethostname(name, sizeof(name) - 1);
        return SanitizeFileName(name);
    }();
    return host;
}

}  // namespace

std::string WorkScratchPrefix(const std::string& kind) {
    return "podpromo-" + kind + "." + ScratchHost() + "." + std::to_string(getpid()) + ".";
}

Result<fs::path> Storage::Resolve(const std::string& relative) const {
    const fs::path rel(relative);
    // (An episode from a feed has no file until its job has downloaded it: its path is empty.)
    if (relative.empty() || rel.is_absolute()) return Status::NotFound("not a stored file");
    for (const auto& part : rel) {
        if (part == "..") return Status::NotFound("not a stored file");
    }
    return root_ / rel;
}

namespace {

std::string KindOf(const fs::path& p, const fs::path& root) {
    const auto rel = fs::relative(p, root);
    const std::string top = rel.empty() ? "" : rel.begin()->string();
    if (top == "uploads") return "upload";
    if (top == "archive") return "archive";
    const std::string ext = p.extension().string();
    if (ext == ".m4a" || ext == ".mp3" || ext == ".wav") return "audio";
    if (ext == ".mp4" || ext == ".mov" || ext == ".webm") return "video";
    if (ext == ".srt" || ext == ".vtt") return "captions";
    if (ext == ".json") return "transcript";
    if (ext == ".bin") return "data";
    return "other";
}

}  // namespace

namespace {

const char* const kAreas[][2] = {
    {"uploads", "uploads"}, {"episodes", "clips"}, {"archive", "archive"}, {"work", "work"}, {"tmp", "work"}};

// Calls fn(path, size, area, entry) for every file of the managed folders.
template <typename Fn>
void ForEachStoredFile(const fs::path& root, Fn fn) {
    for (const auto& [sub, area] : kAreas) {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(root / sub, ec); !ec && it != fs::end(it); it.increment(ec)) {
            std::error_code fec;
            if (it->is_regular_file(fec)) {
                const auto size = it->file_size(fec);
                if (!fec) fn(it->path(), static_cast<int64_t>(size), std::string(area), *it);
            }
        }
    }
}

}  // namespace

DiskSpace Storage::Disk() const { return fs_->Space(root_); }

int64_t Storage::UsedBytes() const {
    int64_t total = 0;
    ForEachStoredFile(
        root_, [&](const fs::path&, int64_t size, const std::string&, const fs::directory_entry&) { total += size; });
    return total;
}

struct Storage::Reservation::Book {
    std::mutex mu;
    int64_t bytes = 0;
};

Status Storage::CheckRoom(int64_t incoming) const {
    int64_t reserved = 0;
    {
        std::lock_guard<std::mutex> lock(reserved_->mu);
        reserved = reserved_->bytes;
    }
    return CheckRoomWith(incoming + reserved);
}

Result<Storage::Reservation> Storage::Reserve(int64_t bytes) const {
    std::lock_guard<std::mutex> lock(reserved_->mu);
    PODPROMO_RETURN_IF_ERROR(CheckRoomWith(reserved_->bytes + bytes));
    reserved_->bytes += bytes;
    Reservation r;
    r.storage_ = this;
    r.book_ = reserved_;
    r.bytes_ = bytes;
    return r;
}

Status Storage::Reservation::Grow(int64_t more) {
    if (!book_) return Status::Internal("an empty reservation cannot grow");
    std::lock_guard<std::mutex> lock(book_->mu);
    PODPROMO_RETURN_IF_ERROR(storage_->CheckRoomWith(book_->bytes + more));
    book_->bytes += more;
    bytes_ += more;
    return Status::Ok();
}

void Storage::Reservation::Release() {
    if (!book_) return;
    std::lock_guard<std::mutex> lock(book_->mu);
    book_->bytes -= bytes_;
    book_.reset();
    bytes_ = 0;
}

Storage::Reservation::Reservation(Reservation&& other) noexcept
    : storage_(other.storage_), book_(std::move(other.book_)), bytes_(std::exchange(other.bytes_, 0)) {}

Storage::Reservation& Storage::Reservation::operator=(Reservation&& other) noexcept {
    if (this != &other) {
        Release();
        storage_ = other.storage_;
        book_ = std::move(other.book_);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

Storage::Reservation::~Reservation() { Release(); }

Status Storage::CheckRoomWith(int64_t incoming) const {
    const int64_t used = UsedBytes();
    if (used + incoming > quota_bytes_) {
        return Status::NoSpace("storage quota exceeded: " + std::to_string(used) + " of " +
                               std::to_string(quota_bytes_) + " bytes used, " + std::to_string(incoming) +
                               " more requested");
    }
    const DiskSpace disk = Disk();
    if (disk.total_bytes > 0 && disk.free_bytes - incoming < disk.total_bytes / 100) {
        return Status::NoSpace("the disk is full");
    }
    return Status::Ok();
}

StorageStats Storage::Stats() const {
    StorageStats st;
    st.quota_bytes = quota_bytes_;
    for (const char* k : {"upload", "audio", "video", "captions", "transcript", "data", "other"}) {
        st.files_by_kind[k] = 0;
        st.bytes_by_kind[k] = 0;
    }
    for (const auto& [sub, area] : kAreas) {
        st.files_by_area[area] = 0;
        st.bytes_by_area[area] = 0;
    }
    st.files_by_kind["archive"] = 0;
    st.bytes_by_kind["archive"] = 0;
    ForEachStoredFile(root_,
                      [&](const fs::path& p, int64_t size, const std::string& area, const fs::directory_entry& entry) {
                          const std::string kind = KindOf(p, root_);
                          st.files_by_kind[kind] += 1;
                          st.bytes_by_kind[kind] += size;
                          st.files_by_area[area] += 1;
                          st.bytes_by_area[area] += size;
                          st.used_bytes += size;
                          std::error_code ec;
                          const auto mtime = entry.last_write_time(ec);
                          if (ec) return;
                          const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                                                 .count();
                          st.oldest.push_back({fs::relative(p, root_).string(), size, ms});
                          std::sort(st.oldest.begin(), st.oldest.end(),
                                    [](const auto& a, const auto& b) { return a.modified_ms < b.modified_ms; });
                          if (st.oldest.size() > 5) st.oldest.pop_back();
                      });
    const DiskSpace disk = Disk();
    st.disk_free_bytes = disk.free_bytes;
    st.disk_total_bytes = disk.total_bytes;
    return st;
}

void Storage::RemoveEpisode(const std::string& episode_id) const {
    std::error_code ec;
    fs::remove_all(root_ / "uploads" / SanitizeFileName(episode_id), ec);
    fs::remove_all(EpisodeDir(episode_id), ec);
    fs::remove_all(ArchiveDir(episode_id), ec);
}

bool ScratchOwnerGone(const std::string& name) {
    // podpromo-<kind>.<host>.<pid>.<random>
    const auto last = name.rfind('.');
    if (last == std::string::npos || last == 0) return false;
    const auto before = name.rfind('.', last - 1);
    if (before == std::string::npos) return false;
    const std::string pid_text = name.substr(before + 1, last - before - 1);
    const std::string head = name.substr(0, before);
    const std::string host_part = "." + ScratchHost();
    if (name.rfind("podpromo-", 0) != 0 || head.size() < host_part.size() ||
        head.compare(head.size() - host_part.size(), host_part.size(), host_part) != 0) {
        return false;  // another host's (or not a scratch name): only its age can tell
    }
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) return false;
    const pid_t pid = static_cast<pid_t>(std::atol(pid_text.c_str()));
    return pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH;
}

int Storage::CleanTmp() const {
    int n = 0;
    std::error_code ec;
    for (const fs::path& dir : {tmp_dir(), work_dir()}) {
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            if (!ScratchOwnerGone(e.path().filename().string())) continue;
            fs::remove_all(e.path(), ec);
            ++n;
        }
    }
    return n;
}

}  // namespace podpromo
