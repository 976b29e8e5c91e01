// Reading an upload's body: multipart/form-data (the episode as part "file", an optional "cover" image and short
// option fields) or the episode as the raw body. The streamed parts go to the caller's sinks as they arrive; only
// the fields are held in memory, and they are bounded here.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "podpromo/app/app.h"
#include "podpromo/files/storage.h"
#include "podpromo/media/render.h"

namespace podpromo::http {

// Where the streamed parts go. Each returns false to stop reading (the body then counts as not read whole).
struct UploadSinks {
    std::function<bool(const char* data, size_t len)> file;   // the episode's bytes
    std::function<bool()> open_cover;                         // once, at the start of the first "cover" part
    std::function<bool(const char* data, size_t len)> cover;  // the cover's bytes
};

// What the body held. Fields are the form's parts other than "file" and "cover", by name (the last of a name wins).
struct UploadBody {
    static constexpr int kMaxParts = 32;            // 13 options, the file and a cover, with room to spare
    static constexpr size_t kMaxFieldBytes = 4096;  // each field's value
    std::map<std::string, std::string> fields;
    std::string filename;  // the "file" part's file name (empty when none was given)
    bool got_file = false;
    bool read_whole = true;  // false when a sink, a limit above or the body itself stopped the reading
};

// Reads `req`'s body through `reader` (a handler's ContentReader), on the calling thread.
UploadBody ReadUploadBody(const httplib::Request& req, const httplib::ContentReader& reader, const UploadSinks& sinks);

// Streams an upload's body into tmp/ under the limits: the episode file at most `max_file_bytes`, the cover at
// most kMaxCoverBytes, and the room held in `reservation` grown as the file grows (so parallel uploads cannot each
// pass the quota check before any of them has written). Not thread-safe: one per request. The storage is borrowed
// and must outlive the receiver; the reservation is held until the receiver is destroyed.
class UploadReceiver {
  public:
    static constexpr int64_t kMaxCoverBytes = podpromo::kMaxCoverBytes;  // an audiogram background image
    // The room a body of unknown length holds at first, and grows by as it comes.
    static constexpr int64_t kReserveStep = 64 * 1024 * 1024;
    UploadReceiver(const Storage& storage, int64_t max_file_bytes, Storage::Reservation reservation);
    // Reads the whole body. The refusal when it cannot be taken: TooLarge, NoSpace ("insufficient_storage"),
    // InvalidInput "bad_upload" (interrupted or malformed) or "no_file", or the storage's failure.
    Status Receive(const httplib::Request& req, const httplib::ContentReader& reader);
    // True when the connection should close after the answer (a body was left unread).
    bool close_connection() const { return close_; }
    // The files and fields received, for App::AcceptUpload (query parameters fill fields the form lacks; the
    // X-Filename header names the file before the form does). Call once, after Receive succeeded.
    UploadRequest TakeRequest(const httplib::Request& req);

  private:
    bool OnFile(const char* data, size_t len);
    bool OnOpenCover();
    bool OnCover(const char* data, size_t len);
    Status Outcome(const UploadBody& body);
    const Storage& storage_;
    int64_t max_file_bytes_;
    Storage::Reservation reservation_;
    std::unique_ptr<UploadFile> file_, cover_;
    Status file_status_, cover_status_, room_status_;
    bool too_large_ = false, cover_too_large_ = false, close_ = false;
    int64_t dropped_ = 0;
    UploadBody body_;
};

}  // namespace podpromo::http
