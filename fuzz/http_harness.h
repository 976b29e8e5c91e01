// The HTTP layer as a stranger reaches it, served over a socket pair on the calling thread: a LeanServer with the
// API's own guards (the head limits, the pre-routing body guard, the payload cap) and handlers that read what a
// client sends the way the API's do: an upload's body through ReadUploadBody, a JSON body, and a file served with
// Range requests through SendFile. For the fuzz targets; each call is independent of the last.
#pragma once

#include <string>
#include <string_view>

namespace podpromo::fuzz {

// The server's answer(s) to `bytes` sent on one connection (which is then closed for writing). Aborts when the
// answer breaks what any client may rely on (it is not HTTP/1.1, or a 206 names a range outside the file).
// At most kMaxInput bytes are sent. Not thread-safe: one caller at a time.
inline constexpr size_t kMaxInput = 64 * 1024;
std::string Serve(std::string_view bytes);

// The size of the file GET /file serves.
inline constexpr size_t kFileBytes = 4096;

}  // namespace podpromo::fuzz
