// A ZIP archive of files on disk, produced as a byte stream of known length: a download of many files starts at once
// and holds one read buffer, whatever their size. Entries are stored, not compressed (clips are compressed media
// already). No ZIP64: at most 65535 entries, each under 4 GiB, the whole archive under 4 GiB.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "podpromo/core/status.h"

namespace podpromo {

class ZipStream {
  public:
    struct Entry {
        std::string name;  // the file's name in the archive: UTF-8, no folder, no control character
        std::filesystem::path path;
    };

    // Sizes the archive and takes each file's CRC-32 (reading every file once). InvalidInput for a name that is
    // empty, not UTF-8, holds a '/', '\' or control character, or is "." or ".."; for two entries of one name; past
    // the limits above. NotFound or IoError for a file that cannot be read.
    static Result<std::unique_ptr<ZipStream>> Create(std::vector<Entry> entries);
    ~ZipStream();
    ZipStream(const ZipStream&) = delete;
    ZipStream& operator=(const ZipStream&) = delete;

    // The archive's length in bytes.
    uint64_t size() const { return size_; }

    // Appends the archive's bytes from `offset`, up to `max` of them, to `out`. Offsets must come in order, each where
    // the last read ended (as an HTTP response's body is written). IoError when a file changed since Create (its size
    // or content): the archive cannot be finished, and the download must be cut. Not thread-safe: one reader.
    Status Read(uint64_t offset, size_t max, std::string* out);

  private:
    // A stretch of the archive: literal bytes (headers), or the content of entry `file`.
    struct Piece {
        uint64_t offset = 0, length = 0;
        std::string bytes;
        int file = -1;
    };
    struct Sized {
        Entry entry;
        uint64_t size = 0;
        uint32_t crc = 0;
        uint16_t dos_time = 0, dos_date = 0;
    };
    ZipStream() = default;
    void Lay();
    Status ReadFile(const Piece& p, uint64_t from, size_t n, std::string* out);

    std::vector<Sized> files_;
    std::vector<Piece> pieces_;
    uint64_t size_ = 0;
    size_t at_ = 0;             // the piece the last read ended in
    int open_ = -1;             // the file being streamed (its index), or -1
    int fd_ = -1;               // its descriptor
    uint32_t running_crc_ = 0;  // its CRC-32 so far, checked against Create's at its end
    uint64_t next_ = 0;         // where the next read must start
};

}  // namespace podpromo
