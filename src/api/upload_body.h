// Reading an upload's body: multipart/form-data (the episode as part "file", an optional "cover" image and short
// option fields) or the episode as the raw body. The streamed parts go to the caller's sinks as they arrive; only
// the fields are held in memory, and they are bounded here.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>

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

}  // namespace podpromo::http
