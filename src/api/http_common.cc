#include "http_common.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

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

void SendStatus(Response& res, const Status& st) {
    switch (st.code()) {
        case StatusCode::kInvalidInput:
            return SendError(res, 400, "invalid_input", st.message());
        case StatusCode::kNotFound:
            return SendError(res, 404, "not_found", st.message());
        case StatusCode::kNoSpace:
            return SendError(res, 507, "insufficient_storage", st.message());
        case StatusCode::kUnavailable:
            res.set_header("Retry-After", "5");
            return SendError(res, 503, "unavailable", st.message());
        case StatusCode::kCancelled:
            return SendError(res, 409, "cancelled", st.message());
        default:
            return SendInternalError(res, st.message());
    }
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
    if (!req.has_param(name)) return fallback;
    try {
        return std::clamp(std::stoi(req.get_param_value(name)), min, max);
    } catch (...) {
        return fallback;
    }
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

namespace {

// RFC 9110 14.1.1: a range is satisfiable when it starts inside the file, a suffix range when it is not empty.
bool RangesSatisfiable(const httplib::Ranges& ranges, size_t size) {
    if (ranges.size() > kMaxRanges) return false;
    return std::any_of(ranges.begin(), ranges.end(), [&](const httplib::Range& r) {
        return r.first >= 0 ? static_cast<size_t>(r.first) < size : r.second > 0 && size > 0;
    });
}

}  // namespace

void SendFile(const Request& req, Response& res, const fs::path& path, const std::string& content_type,
              const std::string& cache, const std::string& download_name) {
    std::error_code ec;
    const auto size = static_cast<size_t>(fs::file_size(path, ec));
    if (!ec && !req.ranges.empty() && !RangesSatisfiable(req.ranges, size)) {
        res.set_header("Content-Range", fmt::format("bytes */{}", size));
        return SendError(res, 416, "range_not_satisfiable", fmt::format("the file is {} bytes long", size));
    }
    auto fd = std::make_shared<int>(ec ? -1 : open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (*fd < 0) return SendStatus(res, StatusFromErrno(ec ? ec.value() : errno, "cannot open the file"));
    if (!download_name.empty()) {
        res.set_header("Content-Disposition", fmt::format("inline; filename=\"{}\"", SanitizeFileName(download_name)));
    }
    res.set_header("Cache-Control", cache);
    res.set_content_provider(
        size, content_type,
        [fd](size_t offset, size_t length, httplib::DataSink& sink) {
            char buf[64 * 1024];
            const size_t n = std::min(length, sizeof(buf));
            const ssize_t got = pread(*fd, buf, n, static_cast<off_t>(offset));
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

bool FindEpisode(Database* db, const std::string& id, EpisodeBundle* b, Response& res, bool content) {
    const Status st = db->With([&](soci::session& s) {
        b->episode = GetEpisode(s, id);
        if (!b->episode) return;
        b->job = LatestJobForEpisode(s, id);
        if (!content) return;
        b->transcript = LoadTranscript(s, id);
        b->clips = ListClips(s, id);
    });
    if (!st.ok()) {
        SendStatus(res, st);
        return false;
    }
    if (!b->episode) {
        SendError(res, 404, "not_found", "no episode " + id);
        return false;
    }
    return true;
}

std::string UploadReason(const std::string& safe_name, const Status& st) {
    std::string why = st.message();
    const auto colon = why.find(": ");
    if (colon != std::string::npos) why = why.substr(colon + 2);
    return safe_name + ": " + why;
}

}  // namespace podpromo::http
