#include "http_common.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "podpromo/core/types.h"
#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"
#include "podpromo/files/storage.h"

namespace podpromo::http {

void SendJson(Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(DumpJson(body), "application/json");
}

void SendError(Response& res, int status, const std::string& code, const std::string& message) {
    SendJson(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

HttpError HttpErrorFor(const Status& st) {
    struct Row {
        StatusCode code;
        int status;
        const char* default_slug;  // the body's code when the Status has no slug of its own
        int retry_after_s;
    };
    static constexpr Row kRows[] = {
        {StatusCode::kInvalidInput, 400, nullptr, 0},
        {StatusCode::kNotFound, 404, nullptr, 0},
        {StatusCode::kNoSpace, 507, "insufficient_storage", 0},
        {StatusCode::kUnavailable, 503, nullptr, 5},
        {StatusCode::kCancelled, 409, nullptr, 0},
        {StatusCode::kResourceExhausted, 503, nullptr, 30},
        {StatusCode::kFailedPrecondition, 409, nullptr, 0},
        {StatusCode::kUnsupported, 415, nullptr, 0},
        {StatusCode::kTooLarge, 413, nullptr, 0},
        {StatusCode::kGone, 410, nullptr, 0},
        {StatusCode::kRateLimited, 429, nullptr, 30},
        {StatusCode::kUnprocessable, 422, nullptr, 0},
        {StatusCode::kUnauthenticated, 401, nullptr, 0},
        {StatusCode::kPermissionDenied, 403, nullptr, 0},
    };
    for (const Row& row : kRows) {
        if (row.code != st.code()) continue;
        HttpError e;
        e.status = row.status;
        e.code = row.default_slug && st.slug() == StatusCodeKind(st.code()) ? row.default_slug : st.slug();
        e.retry_after_s = st.retry_after_s() > 0 ? st.retry_after_s() : row.retry_after_s;
        return e;
    }
    return {500, "internal", 0};  // kInternal, kIoError: the detail stays in the log
}

void SendStatus(Response& res, const Status& st) {
    const HttpError e = HttpErrorFor(st);
    if (e.status == 500) return SendInternalError(res, st.message());
    if (e.retry_after_s > 0) res.set_header("Retry-After", std::to_string(e.retry_after_s));
    SendError(res, e.status, e.code, st.message());
}

namespace {
thread_local std::string t_internal_detail;
}

void SendInternalError(Response& res, const std::string& detail) {
    t_internal_detail = detail;
    SendError(res, 500, "internal",
              "an internal error occurred; quote request " + res.get_header_value("X-Request-Id") +
                  " to the operator (the detail is in the server's log)");
}

std::string TakeInternalDetail() { return std::exchange(t_internal_detail, std::string()); }

int IntParam(const Request& req, const char* name, int fallback, int min, int max) {
    const std::optional<int64_t> v = req.has_param(name) ? ParseInt(req.get_param_value(name)) : std::nullopt;
    return v ? static_cast<int>(std::clamp<int64_t>(*v, min, max)) : fallback;
}

std::string Param(const Request& req, const char* name, const std::string& fallback) {
    return req.has_param(name) ? req.get_param_value(name) : fallback;
}

void DrainBody(const Request& req, const httplib::ContentReader& reader, int64_t declared) {
    if (declared > kDrainBytes) return;
    int64_t seen = 0;
    auto drop = [&](const char*, size_t len) {
        seen += static_cast<int64_t>(len);
        return seen <= kDrainBytes;
    };
    if (req.is_multipart_form_data()) {
        reader([](const httplib::MultipartFormData&) { return true; }, drop);
    } else {
        reader(drop);
    }
}

std::string ContentTypeFor(const std::string& kind, const fs::path& p) {
    if (kind == "srt") return "application/x-subrip; charset=utf-8";
    if (kind == "vtt") return "text/vtt; charset=utf-8";
    if (kind == "video") return "video/mp4";
    if (kind == "thumbnail") return "image/jpeg";
    if (kind == "post") return "text/plain; charset=utf-8";
    if (p.extension() == ".m4a") return "audio/mp4";
    return "application/octet-stream";
}

bool RefuseUnwantedBody(const Request& req, Response& res) {
    const std::string encoding = req.get_header_value("Content-Encoding");
    if (!encoding.empty() && encoding != "identity") {
        res.set_header("Connection", "close");
        SendError(res, 415, "unsupported_encoding", "compressed request bodies are not accepted");
        return true;
    }
    // Only uploads may be large, and they are counted while they stream; every other body is read into memory, so
    // it is capped before reading: by its Content-Length, which a chunked body would not have.
    const bool upload = req.method == "POST" && req.path == "/api/v1/episodes";
    if (!upload && req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos) {
        res.set_header("Connection", "close");
        SendError(res, 411, "length_required", "send this request's body with a Content-Length");
        return true;
    }
    if (!upload && req.has_header("Content-Length")) {
        const std::string value = req.get_header_value("Content-Length");
        int64_t length = -1;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (ec != std::errc() || end != value.data() + value.size() || length < 0) {
            res.set_header("Connection", "close");
            SendError(res, 400, "bad_request", "Content-Length is not a number");
            return true;
        }
        if (length > kDrainBytes) {
            res.set_header("Connection", "close");
            SendError(res, 413, "too_large", "request bodies other than uploads are at most 64 MB");
            return true;
        }
    }
    return false;
}

namespace {

// A decimal of at most 18 digits (no sign, no spaces), or nullopt.
std::optional<size_t> Decimal(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    size_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<size_t>(c - '0');
    }
    return v;
}

}  // namespace

ByteRange ParseByteRange(std::string_view header, size_t size) {
    constexpr std::string_view kUnit = "bytes=";
    if (header.substr(0, kUnit.size()) != kUnit) return {};
    const std::string_view spec = header.substr(kUnit.size());
    const size_t dash = spec.find('-');
    if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return {};
    const auto to = Decimal(spec.substr(dash + 1));
    if (dash == 0) {  // the last *to bytes
        if (!to) return {};
        if (*to == 0 || size == 0) return {ByteRange::kUnsatisfiable};
        return {ByteRange::kPart, size - std::min(*to, size), size - 1};
    }
    const auto from = Decimal(spec.substr(0, dash));
    if (!from || (dash + 1 < spec.size() && !to) || (to && *to < *from)) return {};
    if (*from >= size) return {ByteRange::kUnsatisfiable};
    return {ByteRange::kPart, *from, to ? std::min(*to, size - 1) : size - 1};
}

std::string ContentDisposition(const std::string& name, const char* disposition) {
    // RFC 6266: an ASCII stand-in for old clients, and the name itself in UTF-8 (RFC 8187) for the rest.
    return fmt::format("{}; filename=\"{}\"; filename*=UTF-8''{}", disposition, SanitizeFileName(name),
                       PercentEncode(name, "!#$&+-.^_`|~"));
}

void SendFile(const Request& req, Response& res, const fs::path& path, const std::string& content_type,
              const std::string& cache, const std::string& download_name) {
    std::error_code ec;
    const auto size = static_cast<size_t>(fs::file_size(path, ec));
    const ByteRange range = ec ? ByteRange{} : ParseByteRange(req.get_header_value("Range"), size);
    if (range.kind == ByteRange::kUnsatisfiable) {
        res.set_header("Content-Range", fmt::format("bytes */{}", size));
        return SendError(res, 416, "range_not_satisfiable", fmt::format("the file is {} bytes long", size));
    }
    auto fd = std::make_shared<int>(ec ? -1 : open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (*fd < 0) return SendStatus(res, StatusFromErrno(ec ? ec.value() : errno, "cannot open the file"));
    if (!download_name.empty()) res.set_header("Content-Disposition", ContentDisposition(download_name));
    res.set_header("Cache-Control", cache);
    size_t base = 0, length = size;
    if (range.kind == ByteRange::kPart) {
        res.status = 206;
        res.set_header("Content-Range", fmt::format("bytes {}-{}/{}", range.first, range.last, size));
        base = range.first;
        length = range.last - range.first + 1;
    }
    res.set_content_provider(
        length, content_type,
        [fd, base](size_t offset, size_t length, httplib::DataSink& sink) {
            char buf[64 * 1024];
            const size_t n = std::min(length, sizeof(buf));
            const ssize_t got = pread(*fd, buf, n, static_cast<off_t>(base + offset));
            if (got <= 0) return false;
            return sink.write(buf, static_cast<size_t>(got));
        },
        [fd](bool) { close(*fd); });
}

std::string WebContentType(const fs::path& p) {
    static const std::map<std::string, std::string> types = {{".html", "text/html; charset=utf-8"},
                                                             {".js", "text/javascript; charset=utf-8"},
                                                             {".css", "text/css; charset=utf-8"},
                                                             {".svg", "image/svg+xml"},
                                                             {".png", "image/png"},
                                                             {".ico", "image/x-icon"},
                                                             {".json", "application/json"},
                                                             {".woff2", "font/woff2"},
                                                             {".map", "application/json"}};
    const auto it = types.find(p.extension().string());
    return it == types.end() ? "application/octet-stream" : it->second;
}

}  // namespace podpromo::http
