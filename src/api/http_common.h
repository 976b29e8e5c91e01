// Helpers the API's handlers share: JSON answers and errors, query parameters, files and request bodies,
// and an episode read with what hangs off it.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/status.h"

namespace podpromo::http {

// The names every file of the API uses (they bring them in with `using namespace http`).
namespace fs = std::filesystem;
using httplib::Request;
using httplib::Response;
using nlohmann::json;

void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
// {"error": {"code", "message"}} with its status.
void SendError(httplib::Response& res, int status, const std::string& code, const std::string& message);
// How a failed Status is answered: the HTTP status, the error code of the body (the Status's slug; for a full disk
// "insufficient_storage") and the Retry-After seconds (0: none). The one map from Status to HTTP; pure.
struct HttpError {
    int status = 500;
    std::string code;
    int retry_after_s = 0;
};
HttpError HttpErrorFor(const Status& st);
// Answers `res` with `st` as HttpErrorFor maps it (a 500 through SendInternalError: the message is logged, not
// sent), with its Retry-After header when it has one.
void SendStatus(httplib::Response& res, const Status& st);
// A 500: the client is told only that it happened and the request's id (the X-Request-Id already set on `res`);
// `detail` (an exception's text, a path) is kept for this thread's access log line, see TakeInternalDetail.
void SendInternalError(httplib::Response& res, const std::string& detail);
// The detail of the 500 this thread last sent, once (empty when there was none).
std::string TakeInternalDetail();

// A query parameter as an integer clamped to [min, max]; `fallback` when absent or not a number.
int IntParam(const httplib::Request& req, const char* name, int fallback, int min, int max);
std::string Param(const httplib::Request& req, const char* name, const std::string& fallback = "");

// A body a refused request may still be sending. Clients without "Expect: 100-continue" only read the
// answer once they have sent everything, so bodies up to this size are read and dropped before answering;
// larger ones get the answer and a closed connection.
inline constexpr int64_t kDrainBytes = 64 * 1024 * 1024;
void DrainBody(const httplib::Request& req, const httplib::ContentReader& reader, int64_t declared);
// The guard run before routing, on the request's head: a compressed body (415: httplib would inflate it before any
// limit sees it), a chunked body anywhere but an upload (411), or a declared body other than an upload's over
// kDrainBytes (413) or not a number (400). True when it refused `req` and answered `res`.
bool RefuseUnwantedBody(const httplib::Request& req, httplib::Response& res);

// The Content-Type of a clip's file of the given kind (video, audio, thumbnail, srt, vtt, post).
std::string ContentTypeFor(const std::string& kind, const std::filesystem::path& p);
// One byte range of a Range header against a file of `size` bytes (RFC 9110 14.1.2). kWhole when there is none to
// honour: no header, another unit, a malformed value or several ranges (a server may ignore those and send the whole
// file). kUnsatisfiable when it starts past the end or is an empty suffix. Otherwise bytes [first, last]. Pure.
struct ByteRange {
    enum Kind { kWhole, kPart, kUnsatisfiable } kind = kWhole;
    size_t first = 0, last = 0;
};
ByteRange ParseByteRange(std::string_view header, size_t size);

// Answers `req` with the file at `path`: a single satisfiable range as 206 with its Content-Range, an unsatisfiable
// one as 416, anything else as the whole file. (LeanServer hides ranges from httplib, which would cut any answer's
// body to them, JSON included.) `cache` is the Cache-Control value; `download_name`, when given, names the file for a
// browser's download.
void SendFile(const httplib::Request& req, httplib::Response& res, const std::filesystem::path& path,
              const std::string& content_type, const std::string& cache, const std::string& download_name = "");
// Content-Disposition naming a download `name` (UTF-8) with an ASCII stand-in and the name itself (filename*,
// percent-encoded), so a browser saves it under its real name; `disposition` is "inline" (shown when the browser can)
// or "attachment" (saved).
std::string ContentDisposition(const std::string& name, const char* disposition = "inline");
// The Content-Type of a file of the browser app, by its extension.
std::string WebContentType(const std::filesystem::path& p);

}  // namespace podpromo::http
