#include "podpromo/api/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <soci/soci.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "podpromo/api/lean_server.h"
#include "podpromo/asr/transcriber.h"
#include "podpromo/asr/transcript_io.h"
#include "podpromo/core/subprocess.h"
#include "podpromo/files/atomic.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/jobs/results.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/media/decode.h"
#include "podpromo/media/probe.h"
#include "podpromo/monitor/log.h"
#include "podpromo/scoring/genre.h"
#include "podpromo/scoring/platform.h"
#include "podpromo/store/repositories.h"

namespace podpromo {
namespace fs = std::filesystem;
using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

void SendJson(Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
}

void SendError(Response& res, int status, const std::string& code, const std::string& message) {
    SendJson(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

// One place maps a Status to its HTTP status and error code.
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
            return SendError(res, 500, "internal", st.message());
    }
}

int IntParam(const Request& req, const char* name, int fallback, int min, int max) {
    if (!req.has_param(name)) return fallback;
    try {
        return std::clamp(std::stoi(req.get_param_value(name)), min, max);
    } catch (...) {
        return fallback;
    }
}

std::string Param(const Request& req, const char* name, const std::string& fallback = "") {
    return req.has_param(name) ? req.get_param_value(name) : fallback;
}

// The route pattern a request matched, for metric labels (ids would explode the label set).
std::string RouteLabel(const std::string& path) {
    static const std::pair<const char*, const char*> kPrefixes[] = {{"/api/v1/episodes/", "/api/v1/episodes/{id}"},
                                                                    {"/api/v1/clips/", "/api/v1/clips/{id}"},
                                                                    {"/api/v1/jobs/", "/api/v1/jobs/{id}"}};
    for (const auto& [prefix, label] : kPrefixes) {
        if (path.rfind(prefix, 0) == 0) {
            const std::string rest = path.substr(std::string(prefix).size());
            const auto slash = rest.find('/');
            return std::string(label) + (slash == std::string::npos ? "" : rest.substr(slash));
        }
    }
    if (path.rfind("/assets/", 0) == 0) return "/assets/{file}";
    if (path == "/health" || path == "/livez" || path == "/readyz" || path == "/metrics" || path == "/queue/stats" ||
        path == "/storage/stats" || path == "/api/v1/episodes" || path == "/api/v1/events" || path == "/" ||
        path == "/api/v1/admin/cleanup" || path == "/api/v1/admin/errors") {
        return path;
    }
    return "other";
}

thread_local std::chrono::steady_clock::time_point t_request_start;

// The request's id: the caller's X-Request-Id when it is a short token, otherwise a new one (this process's
// random prefix and a counter, so it costs nothing on the hot path).
std::string RequestId(const Request& req) {
    std::string given = req.get_header_value("X-Request-Id");
    if (!given.empty() && given.size() <= 64 && std::all_of(given.begin(), given.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '-' || c == '_' || c == '.';
        })) {
        return given;
    }
    static const std::string prefix = NewId("req").substr(4, 8);
    static std::atomic<uint64_t> counter{0};
    return fmt::format("{}-{:x}", prefix, counter.fetch_add(1) + 1);
}

// A body a refused request may still be sending. Clients without "Expect: 100-continue" only read the
// answer once they have sent everything, so bodies up to this size are read and dropped before answering;
// larger ones get the answer and a closed connection.
constexpr int64_t kDrainBytes = 64 * 1024 * 1024;
constexpr int64_t kMaxCoverBytes = 10 * 1024 * 1024;  // an audiogram background image

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

// Answers with the file at `path` (Range requests are handled by httplib over the provider). `cache` is the
// Cache-Control value; `download_name`, when given, names the file for a browser's download.
void SendFile(Response& res, const fs::path& path, const std::string& content_type, const std::string& cache,
              const std::string& download_name = "") {
    std::error_code ec;
    const auto size = static_cast<size_t>(fs::file_size(path, ec));
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

// The Content-Type of a file of the browser app, by its extension.
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

// An episode with what hangs off it, read in one session.
struct EpisodeBundle {
    std::optional<EpisodeRow> episode;
    std::optional<JobRow> job;
    std::optional<Transcript> transcript;  // only with `content`
    std::vector<ClipRow> clips;            // only with `content`
};

// `content` false reads the episode and its latest job only (a transcript can be megabytes).
Status LoadEpisodeBundle(Database* db, const std::string& id, EpisodeBundle* b, bool content = true) {
    return db->With([&](soci::session& s) {
        b->episode = GetEpisode(s, id);
        if (!b->episode) return;
        b->job = LatestJobForEpisode(s, id);
        if (!content) return;
        b->transcript = LoadTranscript(s, id);
        b->clips = ListClips(s, id);
    });
}

// A media error for an upload, named by the client's file name: the message from probe or decode names the
// temporary file ("upload-XXXXXX: reason"), so its first part is replaced.
std::string UploadReason(const std::string& safe_name, const Status& st) {
    std::string why = st.message();
    const auto colon = why.find(": ");
    if (colon != std::string::npos) why = why.substr(colon + 2);
    return safe_name + ": " + why;
}

// cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it and the kernel
// drops SYNs (retried after a second, which shows as 1 s latencies). Listening again on the same socket
// raises the backlog; the socket is found by its port since httplib keeps its descriptor private.
void RaiseListenBacklog(int port) {
    for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
        const int fd = std::atoi(entry.path().filename().c_str());
        int listening = 0;
        socklen_t len = sizeof(listening);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
        sockaddr_storage addr{};
        socklen_t alen = sizeof(addr);
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
        int bound = 0;
        if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
        if (addr.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
        if (bound == port) listen(fd, SOMAXCONN);
    }
}

}  // namespace

ApiServer::ApiServer(const ServiceConfig& config, Database* db, Storage* storage, WorkerPool* workers, EventBus* events,
                     Metrics* metrics, Housekeeper* housekeeper, ErrorAggregator* errors)
    : config_(config),
      db_(db),
      storage_(storage),
      workers_(workers),
      events_(events),
      metrics_(metrics),
      housekeeper_(housekeeper),
      errors_(errors),
      server_(std::make_unique<LeanServer>()) {
    metrics_->Describe("podpromo_http_requests_total", "counter", "HTTP requests by route, method and status.");
    metrics_->Describe("podpromo_http_request_duration_seconds", "histogram", "HTTP request latency by route.");
    metrics_->Describe("podpromo_jobs", "gauge", "Jobs in the queue by state.");
    metrics_->Describe("podpromo_stage_duration_seconds", "histogram", "Time each pipeline stage took.");
    metrics_->Describe("podpromo_jobs_finished_total", "counter", "Jobs that ended, by outcome.");
    metrics_->Describe("podpromo_uploads_total", "counter", "Uploads by outcome.");
    metrics_->Describe("podpromo_upload_bytes_total", "counter", "Bytes of accepted uploads.");
    metrics_->Describe("podpromo_feedback_total", "counter", "Feedback received on clips, by kind.");
    metrics_->Describe("podpromo_episodes", "gauge", "Episodes in the database, by status.");
    metrics_->Describe("podpromo_clips", "gauge", "Clips in the database.");
    metrics_->Describe("podpromo_queue_depth", "gauge", "Queued jobs by priority.");
    metrics_->Describe("podpromo_workers_busy", "gauge", "Workers running a job.");
    metrics_->Describe("podpromo_event_streams_open", "gauge", "Open /api/v1/events streams.");
    Routes();
}

ApiServer::~ApiServer() { StopHealthThread(); }

Status ApiServer::Bind() {
    const int threads = config_.http_threads + config_.max_event_streams;
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    server_->set_tcp_nodelay(true);
    server_->set_keep_alive_timeout(2);
    server_->set_keep_alive_max_count(10000);  // the default (5) makes clients reconnect constantly
    server_->set_read_timeout(30);
    server_->set_write_timeout(30);
    // Whole-body limit for what httplib itself reads; uploads are also counted while they stream.
    server_->set_payload_max_length(static_cast<size_t>(config_.max_file_size_bytes + kDrainBytes));
    if (config_.port == 0) {
        port_ = server_->bind_to_any_port(config_.host);
        if (port_ <= 0) return Status::Unavailable("cannot listen on " + config_.host);
    } else {
        if (!server_->bind_to_port(config_.host, config_.port)) {
            return Status::Unavailable(fmt::format("cannot listen on {}:{} (in use?)", config_.host, config_.port));
        }
        port_ = config_.port;
    }
    RaiseListenBacklog(port_);
    // /health answers from checks made here and then once a second by a thread of their own, so no request
    // ever waits on the disk or the database for it.
    RefreshHealth();
    health_thread_ = std::thread([this] {
        std::unique_lock<std::mutex> lock(health_thread_mu_);
        while (!health_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return health_stop_; })) {
            lock.unlock();
            RefreshHealth();
            lock.lock();
        }
    });
    return Status::Ok();
}

void ApiServer::Serve() { server_->listen_after_bind(); }

void ApiServer::RefreshHealth() {
    auto [code, doc] = RunHealthChecks();
    std::string body = doc.dump();
    std::lock_guard<std::mutex> lock(health_mu_);
    health_status_ = code;
    health_body_ = std::move(body);
}

void ApiServer::StopHealthThread() {
    {
        std::lock_guard<std::mutex> lock(health_thread_mu_);
        health_stop_ = true;
    }
    health_cv_.notify_all();
    if (health_thread_.joinable()) health_thread_.join();
}

void ApiServer::Stop() {
    StopHealthThread();
    stopping_ = true;
    events_->CloseAll();
    server_->stop();
}

std::pair<int, json> ApiServer::RunHealthChecks() {
    json checks = json::object();
    bool critical_ok = true, all_ok = true;
    auto check = [&](const std::string& name, bool ok, const std::string& detail, bool critical) {
        checks[name] = {{"ok", ok}, {"detail", detail}};
        if (!ok) {
            all_ok = false;
            if (critical) critical_ok = false;
        }
    };
    const Status db = db_->Ping();
    check("database", db.ok(), db.ok() ? "reachable" : db.message(), true);
    {
        // A small write (no fsync: a busy disk must not stall the check) and its removal.
        const fs::path probe = storage_->tmp_dir() / ".health";
        bool writable = false;
        {
            std::ofstream out(probe, std::ios::trunc);
            writable = static_cast<bool>(out << "ok");
        }
        std::error_code ec;
        writable = writable && fs::remove(probe, ec);
        check("storage", writable,
              writable ? storage_->root().string() + " writable" : "cannot write in " + storage_->tmp_dir().string(),
              true);
    }
    const bool ffmpeg = ProgramExists("ffmpeg");
    check("ffmpeg", ffmpeg, ffmpeg ? "found" : "ffmpeg is not installed", true);
    if (config_.asr.engine == "pocketsphinx") {
        const Status model = CheckPocketsphinxModel(PocketsphinxConfig{});
        check("speech_model", model.ok(), model.ok() ? "pocketsphinx en-us present" : model.message(), true);
    } else {
        // A remote engine is not called here (each call may cost money): its errors show on the jobs.
        check("speech_model", true,
              fmt::format("{} at {} (model {}; not probed)", config_.asr.engine, config_.asr.url, config_.asr.model),
              true);
    }
    const DiskSpace disk = storage_->Disk();
    const double free_ratio =
        disk.total_bytes > 0 ? static_cast<double>(disk.free_bytes) / static_cast<double>(disk.total_bytes) : 1.0;
    // A write that failed for lack of space keeps the disk check failing for 10 minutes, even when removing
    // the partial files gave some space back: the next job would likely fill it again.
    const int64_t no_space_ago_ms = storage_->last_no_space_ms() > 0 ? NowEpochMs() - storage_->last_no_space_ms() : -1;
    const bool recent_no_space = no_space_ago_ms >= 0 && no_space_ago_ms < 10 * 60 * 1000;
    std::string disk_detail =
        fmt::format("{:.2f} GB free ({:.1f}%; degraded under {}%)", static_cast<double>(disk.free_bytes) / 1e9,
                    free_ratio * 100, config_.health_min_free_disk_percent);
    if (recent_no_space) {
        disk_detail += fmt::format("; a write failed for lack of space {} s ago", no_space_ago_ms / 1000);
    }
    check("disk", free_ratio * 100 >= config_.health_min_free_disk_percent && !recent_no_space, disk_detail,
          free_ratio < 0.01);
    const auto sample = housekeeper_->latest();
    if (sample.valid && sample.system.memory_total_bytes > 0) {
        const double used = 100.0 * (1.0 - static_cast<double>(sample.system.memory_available_bytes) /
                                               static_cast<double>(sample.system.memory_total_bytes));
        check("memory", used <= config_.health_max_memory_percent,
              fmt::format("{:.1f}% of {:.1f} GB in use (degraded over {}%); this process {:.0f} MB", used,
                          static_cast<double>(sample.system.memory_total_bytes) / 1e9,
                          config_.health_max_memory_percent, static_cast<double>(sample.process.resident_bytes) / 1e6),
              false);
    }
    DbInt queued = 0, running = 0, oldest = 0;
    const DbInt now = NowEpochMs();
    (void)db_->With([&](soci::session& s) {
        queued = CountJobsInState(s, "queued");
        running = CountJobsInState(s, "running");
        oldest = OldestRunnableQueuedJob(s, now);
    });
    const double wait_s = oldest > 0 ? static_cast<double>(now - oldest) / 1000.0 : 0.0;
    check("queue", queued < config_.max_queue_size && wait_s <= config_.health_max_queue_age_seconds,
          fmt::format("{} queued of {}, {} running; the oldest has waited {:.0f} s (degraded over {} s)", queued,
                      config_.max_queue_size, running, wait_s, config_.health_max_queue_age_seconds),
          false);
    const std::string status = !critical_ok ? "unhealthy" : (all_ok ? "healthy" : "degraded");
    const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return {critical_ok ? 200 : 503, json{{"status", status}, {"checks", checks}, {"uptime_s", uptime}}};
}

void ApiServer::Routes() {
    auto& svr = *server_;

    svr.set_pre_routing_handler([](const Request& req, Response& res) {
        t_request_start = std::chrono::steady_clock::now();
        res.set_header("X-Request-Id", RequestId(req));
        // Only uploads may be large; every other body is read into memory, so it is capped before reading.
        const bool upload = req.method == "POST" && req.path == "/api/v1/episodes";
        if (!upload && req.has_header("Content-Length")) {
            try {
                if (std::stoll(req.get_header_value("Content-Length")) > kDrainBytes) {
                    res.set_header("Connection", "close");
                    SendError(res, 413, "too_large", "request bodies other than uploads are at most 64 MB");
                    return httplib::Server::HandlerResponse::Handled;
                }
            } catch (...) {
                SendError(res, 400, "bad_request", "Content-Length is not a number");
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    svr.set_logger([this](const Request& req, const Response& res) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count();
        const std::string route = RouteLabel(req.path);
        metrics_->Increment("podpromo_http_requests_total",
                            {{"route", route}, {"method", req.method}, {"status", std::to_string(res.status)}});
        metrics_->Observe("podpromo_http_request_duration_seconds", {{"route", route}, {"method", req.method}}, seconds,
                          Metrics::LatencyBuckets());
        // Access log: failures and slow requests at info (5xx also as aggregated errors), the rest at debug,
        // so a busy service does not spend its time logging successes.
        const LogLevel level = res.status >= 400 || seconds > 1.0 ? LogLevel::kInfo : LogLevel::kDebug;
        if (res.status >= 500 && res.status != 503 && res.status != 507) {
            const json body = json::parse(res.body, nullptr, false);
            std::string message = "HTTP " + std::to_string(res.status);
            if (body.is_object() && body.contains("error") && body["error"].is_object()) {
                message = body["error"].value("message", message);
            }
            errors_->Report("http_" + std::to_string(res.status), route, message,
                            {{"request_id", res.get_header_value("X-Request-Id")}, {"path", req.path}});
        }
        if (LogEnabled(level)) {
            Log(level, "request",
                {{"request_id", res.get_header_value("X-Request-Id")},
                 {"method", req.method},
                 {"path", req.path},
                 {"status", res.status},
                 {"duration_ms", std::llround(seconds * 1e4) / 10.0}});
        }
    });
    svr.set_error_handler([](const Request&, Response& res) {
        if (!res.body.empty()) return;
        if (res.status == 404) return SendError(res, 404, "not_found", "no such endpoint");
        if (res.status == 413) return SendError(res, 413, "too_large", "the upload is larger than MAX_FILE_SIZE");
        SendError(res, res.status, "http_" + std::to_string(res.status), "request refused");
    });
    svr.set_exception_handler([](const Request&, Response& res, const std::exception_ptr& ep) {
        std::string what = "unexpected error";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        SendError(res, 500, "internal", what);
    });

    // ---- operator endpoints
    // The answer the health thread made last (see Bind): monitors poll this often, so it must cost nothing.
    svr.Get("/health", [this](const Request&, Response& res) {
        std::lock_guard<std::mutex> lock(health_mu_);
        res.status = health_status_;
        res.set_content(health_body_, "application/json");
    });

    // For orchestrators: alive while the process answers; ready while the health checks that matter pass
    // (database, storage, ffmpeg, model) and the server is not shutting down.
    svr.Get("/livez", [](const Request&, Response& res) { SendJson(res, 200, {{"status", "alive"}}); });
    svr.Get("/readyz", [this](const Request&, Response& res) {
        int health = 0;
        {
            std::lock_guard<std::mutex> lock(health_mu_);
            health = health_status_;
        }
        const bool ready = health == 200 && !stopping_;
        SendJson(res, ready ? 200 : 503,
                 {{"status", ready ? "ready" : "not_ready"},
                  {"reason", ready ? "" : (stopping_ ? "shutting down" : "a health check fails: see /health")}});
    });

    svr.Get("/queue/stats", [this](const Request&, Response& res) {
        QueueCounts q;
        const Status st = db_->With([&](soci::session& s) { q = GetQueueCounts(s, NowEpochMs()); });
        if (!st.ok()) return SendStatus(res, st);
        SendJson(res, 200,
                 {{"by_state", q.by_state},
                  {"queued_by_priority", q.queued_by_priority},
                  {"running", q.by_state["running"]},
                  {"workers", config_.max_concurrent_jobs},
                  {"max_queue_size", config_.max_queue_size},
                  {"throughput_per_hour", q.finished_last_hour},
                  {"avg_wait_s", q.avg_wait_s},
                  {"avg_run_s", q.avg_run_s}});
    });

    svr.Get("/storage/stats", [this](const Request&, Response& res) {
        const StorageStats st = storage_->Stats();
        json oldest = json::array();
        for (const auto& f : st.oldest) {
            oldest.push_back({{"path", f.path}, {"bytes", f.bytes}, {"modified", f.modified_ms}});
        }
        // What the next scheduled cleanup would do, planned now (a dry run: nothing changes).
        json next = {{"at", nullptr}, {"bytes_freed", nullptr}, {"archive_bytes", nullptr}, {"actions", nullptr}};
        if (auto at = housekeeper_->next_cleanup_ms()) next["at"] = *at;
        if (auto plan = RunCleanup(db_, *storage_, PolicyFromConfig(config_, false), /*dry_run=*/true); plan.ok()) {
            next["bytes_freed"] = plan->bytes_freed;
            next["archive_bytes"] = plan->archive_bytes;
            next["actions"] = plan->ToJson()["counts"];
        }
        SendJson(res, 200,
                 {{"areas", {{"bytes", st.bytes_by_area}, {"files", st.files_by_area}}},
                  {"oldest_files", oldest},
                  {"next_cleanup", next},
                  {"used_bytes", st.used_bytes},
                  {"quota_bytes", st.quota_bytes},
                  {"quota_used_ratio",
                   st.quota_bytes > 0 ? static_cast<double>(st.used_bytes) / static_cast<double>(st.quota_bytes) : 0},
                  {"disk_free_bytes", st.disk_free_bytes},
                  {"disk_total_bytes", st.disk_total_bytes},
                  {"files_by_kind", st.files_by_kind},
                  {"bytes_by_kind", st.bytes_by_kind}});
    });

    svr.Get("/metrics", [this](const Request&, Response& res) {
        QueueCounts q;
        if (db_->With([&](soci::session& s) { q = GetQueueCounts(s, NowEpochMs()); }).ok()) {
            for (const auto& [state, n] : q.by_state) {
                metrics_->Set("podpromo_jobs", {{"state", state}}, static_cast<double>(n));
            }
        }
        std::map<std::string, DbInt> episodes, feedback;
        DbInt clips = 0;
        if (db_->With([&](soci::session& s) {
                   episodes = CountEpisodesByStatus(s);
                   clips = CountClips(s);
               })
                .ok()) {
            for (const char* status : {"queued", "processing", "ready", "failed", "cancelled"}) {
                metrics_->Set("podpromo_episodes", {{"status", status}},
                              episodes.count(status) ? static_cast<double>(episodes[status]) : 0.0);
            }
            metrics_->Set("podpromo_clips", {}, static_cast<double>(clips));
        }
        for (const char* p : {"high", "normal", "low"}) {
            metrics_->Set("podpromo_queue_depth", {{"priority", p}},
                          q.queued_by_priority.count(p) ? static_cast<double>(q.queued_by_priority[p]) : 0.0);
        }
        metrics_->Set("podpromo_workers_busy", {}, workers_->running());
        metrics_->Set("podpromo_event_streams_open", {}, open_streams_.load());
        res.set_content(metrics_->Render(), "text/plain; version=0.0.4; charset=utf-8");
    });

    // ---- episodes
    svr.Post("/api/v1/episodes", [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
        auto refuse = [&](int status, const std::string& code, const std::string& message) {
            metrics_->Increment("podpromo_uploads_total", {{"outcome", code}});
            SendError(res, status, code, message);
        };
        int64_t declared = -1;
        try {
            if (req.has_header("Content-Length")) declared = std::stoll(req.get_header_value("Content-Length"));
        } catch (...) {
            declared = -1;
        }
        // Refused before the body is stored: the body is dropped (see DrainBody), never written.
        auto refuse_early = [&](int status, const std::string& code, const std::string& message) {
            DrainBody(req, reader, declared < 0 ? kDrainBytes : declared);
            if (declared < 0 || declared > kDrainBytes) res.set_header("Connection", "close");
            refuse(status, code, message);
        };
        // Cheap refusals first, before a byte of the body is stored.
        DbInt queued = 0;
        if (Status st = db_->With([&](soci::session& s) { queued = CountJobsInState(s, "queued"); }); !st.ok()) {
            return SendStatus(res, st);
        }
        if (queued >= config_.max_queue_size) {
            res.set_header("Retry-After", "30");
            return refuse_early(503, "queue_full",
                                fmt::format("the queue is full ({} waiting); try again later", queued));
        }
        if (declared > config_.max_file_size_bytes + (req.is_multipart_form_data() ? 64 * 1024 : 0)) {
            return refuse_early(
                413, "too_large",
                fmt::format("the upload is {} bytes; the limit is {}", declared, config_.max_file_size_bytes));
        }
        if (Status room = storage_->CheckRoom(std::max<int64_t>(0, declared)); !room.ok()) {
            return refuse_early(507, "insufficient_storage", room.message());
        }

        auto file = UploadFile::Create(storage_->tmp_dir());
        if (!file.ok()) return SendStatus(res, file.status());
        std::map<std::string, std::string> fields;
        for (const char* k : {"genre", "platform", "title", "show", "terms", "priority", "clips", "aspect", "style",
                              "font", "color", "highlight", "size"}) {
            if (req.has_param(k)) fields[k] = req.get_param_value(k);
        }
        std::string filename = req.get_header_value("X-Filename");
        // An optional "cover" part: the audiogram background image, streamed to tmp/ like the episode.
        std::unique_ptr<UploadFile> cover;
        Status cover_status;
        bool cover_too_large = false;
        Status write_status;
        bool too_large = false, got_file = false;
        int64_t dropped = 0;
        auto append = [&](const char* data, size_t len) {
            if (too_large || (*file)->size_bytes() + static_cast<int64_t>(len) > config_.max_file_size_bytes) {
                too_large = true;  // stop storing; keep reading (and dropping) a while so the client hears why
                dropped += static_cast<int64_t>(len);
                return dropped <= kDrainBytes;
            }
            write_status = (*file)->Write(data, len);
            return write_status.ok();
        };
        bool read_ok = true;
        if (req.is_multipart_form_data()) {
            std::string current_field;
            std::string field_value;
            read_ok = reader(
                [&](const httplib::MultipartFormData& part) {
                    if (!current_field.empty() && current_field != "file" && current_field != "cover") {
                        fields[current_field] = field_value;
                    }
                    current_field = part.name;
                    field_value.clear();
                    if (part.name == "file") {
                        got_file = true;
                        if (filename.empty()) filename = part.filename;
                    }
                    if (part.name == "cover" && !cover) {
                        auto c = UploadFile::Create(storage_->tmp_dir());
                        if (!c.ok()) {
                            cover_status = c.status();
                            return false;
                        }
                        cover = std::move(*c);
                    }
                    return true;
                },
                [&](const char* data, size_t len) {
                    if (current_field == "file") return append(data, len);
                    if (current_field == "cover") {
                        if (cover->size_bytes() + static_cast<int64_t>(len) > kMaxCoverBytes) {
                            cover_too_large = true;
                            return false;
                        }
                        cover_status = cover->Write(data, len);
                        return cover_status.ok();
                    }
                    if (field_value.size() + len > 4096) return false;  // form fields are short
                    field_value.append(data, len);
                    return true;
                });
            if (!current_field.empty() && current_field != "file" && current_field != "cover") {
                fields[current_field] = field_value;
            }
        } else {
            got_file = true;
            read_ok = reader(append);
        }
        if (too_large) {
            if (dropped > kDrainBytes) res.set_header("Connection", "close");
            return refuse(413, "too_large",
                          fmt::format("the upload is larger than {} bytes", config_.max_file_size_bytes));
        }
        if (cover_too_large) {
            return refuse(413, "too_large", fmt::format("the cover image is larger than {} bytes", kMaxCoverBytes));
        }
        if (!cover_status.ok()) return SendStatus(res, cover_status);
        if (!write_status.ok()) {
            if (write_status.code() == StatusCode::kNoSpace) {
                storage_->NoteNoSpace();
                return refuse(507, "insufficient_storage", "the disk is full");
            }
            return SendStatus(res, write_status);
        }
        if (!read_ok) return refuse(400, "bad_upload", "the upload was interrupted or malformed");
        if (!got_file || (*file)->size_bytes() == 0) {
            return refuse(400, "no_file", "send the episode as multipart field 'file' or as the raw body");
        }
        if (Status fin = (*file)->Finish(); !fin.ok()) return SendStatus(res, fin);

        // Options, checked before anything is stored.
        PipelineOptions options;
        options.genre = fields.count("genre") && !fields["genre"].empty() ? fields["genre"] : "auto";
        options.platform = fields.count("platform") && !fields["platform"].empty() ? fields["platform"] : "tiktok";
        if (fields.count("clips") && !fields["clips"].empty()) {
            try {
                options.clips = std::stoi(fields["clips"]);
            } catch (...) {
                options.clips = -1;
            }
        }
        if (Status v = ValidateOptions(options); !v.ok()) return refuse(400, "invalid_input", v.message());
        const int priority = PriorityFromName(fields.count("priority") ? fields["priority"] : "");
        if (priority < 0) return refuse(400, "invalid_input", "priority must be high, normal or low");
        json render_fields = json::object();
        for (const char* k : {"aspect", "style", "font", "color", "highlight", "size"}) {
            if (fields.count(k) && !fields[k].empty()) render_fields[k] = fields[k];
        }
        auto media = MediaOptionsFromJson(render_fields, options.platform);
        if (!media.ok()) return refuse(400, "invalid_input", media.status().message());
        if (cover) {
            if (Status fin = cover->Finish(); !fin.ok()) return SendStatus(res, fin);
            if (!ProbeImage(cover->path()).ok()) {
                return refuse(415, "unsupported_media", "the cover is not an image (send a PNG or JPEG)");
            }
        }

        const std::string safe_name = SanitizeFileName(filename.empty() ? "episode" : filename);
        auto info = ProbeMedia((*file)->path());
        if (!info.ok()) return refuse(415, "unsupported_media", UploadReason(safe_name, info.status()));
        // Decoded once through (no PCM kept) so a corrupt, truncated, silent or too short file is refused now,
        // with its reason, instead of failing later as a job.
        auto check = CheckDecodable((*file)->path(), *info);
        if (!check.ok()) return refuse(415, "unsupported_media", UploadReason(safe_name, check.status()));
        if (!check->audible) {
            return refuse(422, "unusable_media", safe_name + ": the audio is silent (no sound above -45 dBFS)");
        }
        if (check->duration_ms < kMinClipMs) {
            return refuse(422, "unusable_media",
                          fmt::format("{}: the episode is {:.1f} s long; the shortest clip is {} s", safe_name,
                                      static_cast<double>(check->duration_ms) / 1000.0, kMinClipMs / 1000));
        }
        // The finished upload already sits in tmp/, so it is counted in the storage used.
        if (Status room = storage_->CheckRoom(0); !room.ok()) {
            return refuse(507, "insufficient_storage", room.message());
        }

        EpisodeRow ep;
        ep.id = NewId("ep");
        ep.title = fields.count("title") && !fields["title"].empty() ? fields["title"].substr(0, 200)
                                                                     : fs::path(safe_name).stem().string();
        ep.filename = safe_name;
        const fs::path dest = storage_->UploadPath(ep.id, safe_name);
        ep.audio_path = fs::relative(dest, storage_->root()).string();
        ep.size_bytes = (*file)->size_bytes();
        ep.checksum = "sha256:" + (*file)->sha256_hex();
        ep.format = info->format;
        ep.has_video = info->has_video ? 1 : 0;
        ep.status = "queued";
        ep.genre = options.genre;
        ep.platform = options.platform;
        ep.clip_count = options.clips;
        json render_options = MediaOptionsToJson(*media);
        const fs::path cover_dest = storage_->EpisodeDir(ep.id) / "cover";
        if (cover) render_options["cover"] = fs::relative(cover_dest, storage_->root()).string();
        ep.render_options = render_options.dump();
        ep.created_at = ep.updated_at = NowEpochMs();
        JobRow job;
        job.id = NewId("job");
        job.episode_id = ep.id;
        job.priority = priority;
        job.max_attempts = config_.job_max_attempts;
        job.created_at = ep.created_at;
        {
            // The vocabulary hint of this upload (the worker falls back to SHOW_NAME and ASR_TERMS).
            JobVocabulary vocabulary;
            if (fields.count("show") && !fields["show"].empty()) vocabulary.show = fields["show"].substr(0, 200);
            if (auto terms = ParseTerms(fields.count("terms") ? fields["terms"] : ""); !terms.empty()) {
                vocabulary.terms = std::move(terms);
            }
            job.payload = JobVocabularyToPayload(vocabulary).dump();
        }
        if (Status st = (*file)->Commit(dest); !st.ok()) return SendStatus(res, st);
        if (cover) {
            if (Status st = cover->Commit(cover_dest); !st.ok()) {
                storage_->RemoveEpisode(ep.id);
                return SendStatus(res, st);
            }
        }
        auto announce = [&](const std::string& state, const std::string& error) {
            events_->Publish(JobEvent(job.id, ep.id, state, state, 0, error));
        };
        bool full = false, announced = false;
        const Status st = db_->InTransaction([&](soci::session& s) {
            full = CountJobsInState(s, "queued") >= config_.max_queue_size;
            if (full) return;
            InsertEpisode(s, ep);
            InsertJob(s, job);
            // Announced before the commit, so no worker can report the job running before it is queued.
            if (!announced) announce("queued", "");
            announced = true;
        });
        if (!st.ok() || full) {
            if (announced) announce("failed", "the upload could not be stored");
            storage_->RemoveEpisode(ep.id);
            if (full) {
                res.set_header("Retry-After", "30");
                return refuse(503, "queue_full", "the queue is full; try again later");
            }
            return SendStatus(res, st);
        }
        metrics_->Increment("podpromo_uploads_total", {{"outcome", "accepted"}});
        metrics_->Increment("podpromo_upload_bytes_total", {}, static_cast<double>(ep.size_bytes));
        workers_->Wake();
        res.set_header("Location", "/api/v1/episodes/" + ep.id);
        SendJson(res, 202, {{"episode", EpisodeRowToJson(ep)}, {"job", JobRowToJson(job)}});
    });

    svr.Get("/api/v1/episodes", [this](const Request& req, Response& res) {
        const int limit = IntParam(req, "limit", 20, 1, 100);
        const int offset = IntParam(req, "offset", 0, 0, 1 << 30);
        const uint64_t version = db_->write_version();
        const auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard<std::mutex> lock(list_mu_);
            if (list_version_ != version || now - list_at_ > std::chrono::seconds(1)) {
                list_cache_.clear();
                list_version_ = version;
                list_at_ = now;
            }
            const auto it = list_cache_.find({limit, offset});
            if (it != list_cache_.end()) return res.set_content(it->second, "application/json");
        }
        std::vector<EpisodeRow> rows;
        DbInt total = 0;
        const Status st = db_->With([&](soci::session& s) {
            rows = ListEpisodes(s, limit, offset);
            total = CountEpisodes(s);
        });
        if (!st.ok()) return SendStatus(res, st);
        json items = json::array();
        for (const auto& e : rows) items.push_back(EpisodeRowToJson(e));
        std::string body = json{{"items", items}, {"total", total}, {"limit", limit}, {"offset", offset}}.dump();
        {
            std::lock_guard<std::mutex> lock(list_mu_);
            if (list_version_ == version && list_cache_.size() < 256) list_cache_[{limit, offset}] = body;
        }
        res.set_content(body, "application/json");
    });

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        EpisodeBundle b;
        const Status st = LoadEpisodeBundle(db_, id, &b);
        if (!st.ok()) return SendStatus(res, st);
        if (!b.episode) return SendError(res, 404, "not_found", "no episode " + id);
        const auto& [ep, job, transcript, clips] = b;
        json clip_list = json::array();
        for (const auto& c : clips) clip_list.push_back(ClipRowToJson(c));
        SendJson(res, 200,
                 {{"episode", EpisodeRowToJson(*ep)},
                  {"job", job ? JobRowToJson(*job) : json(nullptr)},
                  {"transcript", transcript ? TranscriptToJson(*transcript) : json(nullptr)},
                  {"clips", clip_list}});
    });

    svr.Delete(R"(/api/v1/episodes/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        EpisodeBundle b;
        Status st = LoadEpisodeBundle(db_, id, &b, /*content=*/false);
        if (!st.ok()) return SendStatus(res, st);
        if (!b.episode) return SendError(res, 404, "not_found", "no episode " + id);
        // A running job (processing it, or rendering one of its clips) is asked to stop first.
        std::vector<std::string> running;
        st = db_->With([&](soci::session& s) {
            running = RunningJobsForEpisode(s, id);
            for (const auto& job_id : running) RequestCancel(s, job_id, NowEpochMs());
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!running.empty()) {
            return SendError(res, 409, "busy",
                             "the episode is being processed; its job was asked to stop, retry shortly");
        }
        st = db_->InTransaction([&](soci::session& s) { DeleteEpisode(s, id); });
        if (!st.ok()) return SendStatus(res, st);
        storage_->RemoveEpisode(id);
        res.status = 204;
    });

    // The episode's own recording (or its archived Opus copy), for the browser's player; Range supported.
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/audio)", [this](const Request& req, Response& res) {
        EpisodeBundle b;
        if (Status st = LoadEpisodeBundle(db_, req.matches[1], &b, /*content=*/false); !st.ok()) {
            return SendStatus(res, st);
        }
        if (!b.episode) return SendError(res, 404, "not_found", "no episode " + std::string(req.matches[1]));
        auto path = storage_->Resolve(b.episode->audio_path);
        std::error_code ec;
        if (!path.ok() || !fs::is_regular_file(*path, ec)) {
            return SendError(res, 404, "not_found", "the episode's recording is missing");
        }
        const std::string ext = path->extension().string();
        const std::string type = ext == ".opus"                    ? "audio/ogg"
                                 : ext == ".mp3"                   ? "audio/mpeg"
                                 : ext == ".wav"                   ? "audio/wav"
                                 : ext == ".m4a" || ext == ".aac"  ? "audio/mp4"
                                 : ext == ".flac"                  ? "audio/flac"
                                 : ext == ".ogg"                   ? "audio/ogg"
                                 : ext == ".webm" || ext == ".mkv" ? "video/webm"
                                 : ext == ".mov"                   ? "video/quicktime"
                                                                   : "video/mp4";
        SendFile(res, *path, type, "private, max-age=3600", b.episode->filename);
    });

    // The episode's loudness envelope for drawing its waveform without decoding it in the browser:
    // {"duration": s, "peaks": [n values in 0..1]} from the stored audio features (10 ms frames).
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/peaks)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        EpisodeBundle b;
        if (Status st = LoadEpisodeBundle(db_, id, &b, /*content=*/false); !st.ok()) return SendStatus(res, st);
        if (!b.episode) return SendError(res, 404, "not_found", "no episode " + id);
        const std::optional<AudioFrames> frames = LoadFrames(*storage_, id);
        if (!frames || frames->size() == 0) {
            return SendError(res, 409, "not_ready", "the episode has not been analysed yet");
        }
        const int n = IntParam(req, "n", 1000, 10, 20000);
        json peaks = json::array();
        const size_t total = frames->size();
        for (int i = 0; i < n; ++i) {
            const size_t from = total * static_cast<size_t>(i) / static_cast<size_t>(n);
            const size_t to = std::max(from + 1, total * static_cast<size_t>(i + 1) / static_cast<size_t>(n));
            float loudest = -100;
            for (size_t f = from; f < to && f < total; ++f) loudest = std::max(loudest, frames->db[f]);
            // -60 dBFS and below draw as silence; 0 dBFS as full height.
            peaks.push_back(std::round(std::clamp((loudest + 60.0) / 60.0, 0.0, 1.0) * 1000) / 1000);
        }
        res.set_header("Cache-Control", "private, max-age=3600");
        SendJson(res, 200, {{"duration", static_cast<double>(frames->DurationMs()) / 1000.0}, {"peaks", peaks}});
    });

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/transcript)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        std::optional<EpisodeRow> ep;
        std::optional<Transcript> t;
        const Status st = db_->With([&](soci::session& s) {
            ep = GetEpisode(s, id);
            if (ep) t = LoadTranscript(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!ep) return SendError(res, 404, "not_found", "no episode " + id);
        if (!t)
            return SendError(res, 404, "not_ready", "the episode has no transcript yet (status " + ep->status + ")");
        const std::string format = Param(req, "format", "json");
        if (format == "json") return SendJson(res, 200, TranscriptToJson(*t));
        const auto cues = CuesFromWords(t->AllWords());
        if (format == "srt") return res.set_content(FormatSrt(cues), "application/x-subrip; charset=utf-8");
        if (format == "vtt") return res.set_content(FormatVtt(cues), "text/vtt; charset=utf-8");
        SendError(res, 400, "invalid_input", "format must be json, srt or vtt");
    });

    svr.Put(R"(/api/v1/episodes/([A-Za-z0-9_]+)/transcript)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        if (req.body.size() > 50 * 1024 * 1024)
            return SendError(res, 413, "too_large", "transcripts are at most 50 MB");
        auto t = ParseTranscript(req.body);
        if (!t.ok()) return SendError(res, 400, "invalid_transcript", t.status().message());
        EpisodeBundle b;
        Status st = LoadEpisodeBundle(db_, id, &b, /*content=*/false);
        if (!st.ok()) return SendStatus(res, st);
        if (!b.episode) return SendError(res, 404, "not_found", "no episode " + id);
        const auto& job = b.job;
        if (job && (job->state == "running" || job->state == "queued")) {
            return SendError(res, 409, "busy", "the episode is being processed; import after it ends or cancel it");
        }
        // The imported transcript replaces the old one and the episode is scored and rendered again.
        JobRow next;
        next.id = NewId("job");
        next.episode_id = id;
        next.priority = 2;
        next.checkpoint = "transcribed";
        next.max_attempts = config_.job_max_attempts;
        next.created_at = NowEpochMs();
        st = db_->InTransaction([&](soci::session& s) {
            ReplaceTranscript(s, id, *t);
            InsertJob(s, next);
            SetEpisodeStatus(s, id, "queued", "");
        });
        if (!st.ok()) return SendStatus(res, st);
        workers_->Wake();
        SendJson(res, 202, {{"job", JobRowToJson(next)}, {"words", t->WordCount()}});
    });

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/clips)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        EpisodeBundle b;
        const Status st = LoadEpisodeBundle(db_, id, &b);
        if (!st.ok()) return SendStatus(res, st);
        if (!b.episode) return SendError(res, 404, "not_found", "no episode " + id);
        const auto& ep = b.episode;
        const auto& t = b.transcript;
        const auto& stored = b.clips;
        const std::string platform = Param(req, "platform", ep->platform);
        const std::string genre = Param(req, "genre", ep->genre);
        const int limit = IntParam(req, "limit", ep->clip_count, 1, 50);
        const bool same = platform == ep->platform && genre == ep->genre && limit == ep->clip_count;
        if (same || !t) {
            if (!t && !same) {
                return SendError(res, 409, "not_ready",
                                 "the episode has no transcript yet (status " + ep->status + ")");
            }
            json items = json::array();
            for (const auto& c : stored) items.push_back(ClipRowToJson(c));
            return SendJson(res, 200,
                            {{"items", items}, {"platform", platform}, {"genre", genre}, {"rescored", false}});
        }
        const auto started = std::chrono::steady_clock::now();
        const std::optional<AudioFrames> frames = LoadFrames(*storage_, id);
        auto clips = RescoreClips(*ep, *t, frames ? &*frames : nullptr, platform, genre, limit, stored);
        if (!clips.ok()) return SendStatus(res, clips.status());
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        SendJson(res, 200,
                 {{"items", *clips},
                  {"platform", platform},
                  {"genre", genre},
                  {"rescored", true},
                  {"rescore_ms", std::round(ms * 10) / 10}});
    });

    // A clip over a span the user chose: scored and explained at once (a bad span is refused here), then
    // rendered with the chosen frame and caption style by a worker as a high-priority "render" job; the clip
    // exists at /api/v1/clips/{clip_id} when the job succeeds.
    svr.Post(R"(/api/v1/episodes/([A-Za-z0-9_]+)/clips)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        const json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("start") || !body.contains("end") ||
            !body["start"].is_number() || !body["end"].is_number()) {
            return SendError(res, 400, "invalid_input", "send {\"start\": seconds, \"end\": seconds}");
        }
        EpisodeBundle b;
        if (Status st = LoadEpisodeBundle(db_, id, &b); !st.ok()) return SendStatus(res, st);
        if (!b.episode) return SendError(res, 404, "not_found", "no episode " + id);
        if (b.episode->status != "ready" || !b.transcript) {
            return SendError(res, 409, "not_ready", "the episode is " + b.episode->status + "; wait until it is ready");
        }
        auto text_field = [&](const char* key, const std::string& fallback) {
            return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : fallback;
        };
        SpanRequest span;
        span.platform = text_field("platform", Param(req, "platform", b.episode->platform));
        const auto to_ms = [](const json& v) { return static_cast<Ms>(std::llround(v.get<double>() * 1000)); };
        span.start_ms = to_ms(body["start"]);
        span.end_ms = to_ms(body["end"]);
        // How to render it: frame and caption style, each optional.
        auto media = MediaOptionsFromJson(body, span.platform);
        if (!media.ok()) return SendStatus(res, media.status());
        span.media = *media;
        // Scored now, so a span that cannot make a clip is refused at once; rendered by a worker.
        auto r = EpisodeForSpan(*b.episode, std::move(*b.transcript), span.platform);
        if (!r.ok()) return SendStatus(res, r.status());
        const std::optional<AudioFrames> frames = LoadFrames(*storage_, id);
        auto clip = DescribeSpan(*r, frames ? &*frames : nullptr, span.start_ms, span.end_ms);
        if (!clip.ok()) return SendStatus(res, clip.status());
        if (Status room = storage_->CheckRoom(0); !room.ok()) return SendStatus(res, room);
        span.clip_id = NewId(id + "_s");
        JobRow job;
        job.id = NewId("job");
        job.episode_id = id;
        job.kind = "render";
        job.payload = SpanRequestToJson(span).dump();
        job.priority = 2;  // a person is waiting for it
        job.max_attempts = config_.job_max_attempts;
        job.created_at = NowEpochMs();
        bool full = false;
        const Status st = db_->InTransaction([&](soci::session& s) {
            full = CountJobsInState(s, "queued") >= config_.max_queue_size;
            if (!full) InsertJob(s, job);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (full) {
            res.set_header("Retry-After", "30");
            return SendError(res, 503, "queue_full", "the queue is full; try again later");
        }
        events_->Publish(JobEvent(job.id, id, "queued", "queued", 0, ""));
        workers_->Wake();
        res.set_header("Location", "/api/v1/jobs/" + job.id);
        json preview = json::object();
        preview["start"] = static_cast<double>(clip->candidate.start_ms) / 1000.0;
        preview["end"] = static_cast<double>(clip->candidate.end_ms) / 1000.0;
        preview["duration"] = static_cast<double>(clip->candidate.DurationMs()) / 1000.0;
        preview["display_score"] = clip->display_score;
        preview["title"] = clip->title;
        preview["explanation"] = clip->explanation;
        SendJson(res, 202,
                 {{"clip_id", span.clip_id},
                  {"clip_url", "/api/v1/clips/" + span.clip_id},
                  {"clip", preview},
                  {"job", JobRowToJson(job)}});
    });

    // ---- clips
    svr.Get(R"(/api/v1/clips/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        std::optional<ClipRow> clip;
        std::map<std::string, DbInt> counts;
        const Status st = db_->With([&](soci::session& s) {
            clip = GetClip(s, id);
            if (clip) counts = FeedbackCounts(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!clip) return SendError(res, 404, "not_found", "no clip " + id);
        json j = ClipRowToJson(*clip);
        j["feedback"] = counts;
        SendJson(res, 200, j);
    });

    svr.Get(R"(/api/v1/clips/([A-Za-z0-9_]+)/media/(video|audio|thumbnail|srt|vtt|post))",
            [this](const Request& req, Response& res) {
                const std::string id = req.matches[1], kind = req.matches[2];
                std::optional<ClipRow> clip;
                const Status st = db_->With([&](soci::session& s) { clip = GetClip(s, id); });
                if (!st.ok()) return SendStatus(res, st);
                if (!clip) return SendError(res, 404, "not_found", "no clip " + id);
                if (clip->expired_at != 0) {
                    return SendError(res, 410, "expired",
                                     "clip " + id + "'s files were removed by cleanup (older than " +
                                         fmt::format("{}", config_.clip_retention_days) +
                                         " days and not starred); render its span again to get them back");
                }
                const json files = json::parse(clip->file_path, nullptr, false);
                if (files.is_discarded() || !files.contains(kind) || !files[kind].is_string()) {
                    return SendError(res, 404, "not_found", "clip " + id + " has no " + kind + " file");
                }
                auto path = storage_->Resolve(files[kind].get<std::string>());
                std::error_code ec;
                if (!path.ok() || !fs::is_regular_file(*path, ec)) {
                    return SendError(res, 404, "not_found", "the " + kind + " file of clip " + id + " is missing");
                }
                SendFile(res, *path, ContentTypeFor(kind, *path), "private, max-age=60", path->filename().string());
            });

    // A starred clip is kept past CLIP_RETENTION_DAYS.
    auto star = [this](const Request& req, Response& res, bool starred) {
        const std::string id = req.matches[1];
        bool found = false;
        std::optional<ClipRow> clip;
        const Status st = db_->InTransaction([&](soci::session& s) {
            found = SetClipStarred(s, id, starred);
            if (found) clip = GetClip(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!found || !clip) return SendError(res, 404, "not_found", "no clip " + id);
        SendJson(res, 200, ClipRowToJson(*clip));
    };
    svr.Post(R"(/api/v1/clips/([A-Za-z0-9_]+)/star)",
             [star](const Request& req, Response& res) { star(req, res, true); });
    svr.Delete(R"(/api/v1/clips/([A-Za-z0-9_]+)/star)",
               [star](const Request& req, Response& res) { star(req, res, false); });

    svr.Post(R"(/api/v1/clips/([A-Za-z0-9_]+)/feedback)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        const json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
            return SendError(res, 400, "invalid_input", "send a JSON object, e.g. {\"kind\":\"like\"}");
        }
        FeedbackRow f;
        f.id = NewId("fb");
        f.clip_id = id;
        f.kind = body.value("kind", "");
        static const std::set<std::string> kinds = {"like", "dislike", "flag", "comment", "rating"};
        if (!kinds.count(f.kind)) {
            return SendError(res, 400, "invalid_input", "kind must be like, dislike, flag, comment or rating");
        }
        if (f.kind == "rating") {
            if (!body.contains("rating") || !body["rating"].is_number_integer() || body["rating"] < 1 ||
                body["rating"] > 5) {
                return SendError(res, 400, "invalid_input", "rating must be a whole number from 1 to 5");
            }
            f.rating = body["rating"].get<int>();
        }
        if (body.contains("comment")) {
            if (!body["comment"].is_string()) return SendError(res, 400, "invalid_input", "comment must be text");
            f.comment = body["comment"].get<std::string>().substr(0, 4000);
        }
        if (f.kind == "comment" && f.comment.empty()) {
            return SendError(res, 400, "invalid_input", "a comment needs its text in \"comment\"");
        }
        f.created_at = NowEpochMs();
        std::optional<ClipRow> clip;
        std::map<std::string, DbInt> counts;
        const Status st = db_->InTransaction([&](soci::session& s) {
            clip = GetClip(s, id);
            if (!clip) return;
            f.episode_id = clip->episode_id;
            InsertFeedback(s, f);
            counts = FeedbackCounts(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!clip) return SendError(res, 404, "not_found", "no clip " + id);
        metrics_->Increment("podpromo_feedback_total", {{"kind", f.kind}});
        json j = {{"id", f.id}, {"clip_id", id}, {"kind", f.kind}, {"created_at", f.created_at}, {"totals", counts}};
        if (f.rating) j["rating"] = *f.rating;
        if (!f.comment.empty()) j["comment"] = f.comment;
        SendJson(res, 201, j);
    });

    // ---- administration
    // {"dry_run": true|false (default true), "remove_orphans": false|true}: one cleanup pass, its report.
    svr.Post("/api/v1/admin/cleanup", [this](const Request& req, Response& res) {
        json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || (body.contains("dry_run") && !body["dry_run"].is_boolean()) ||
            (body.contains("remove_orphans") && !body["remove_orphans"].is_boolean())) {
            return SendError(res, 400, "invalid_input",
                             "send {\"dry_run\": true|false, \"remove_orphans\": true|false} (both optional)");
        }
        auto report = housekeeper_->Cleanup(body.value("dry_run", true), body.value("remove_orphans", false));
        if (!report.ok()) return SendStatus(res, report.status());
        SendJson(res, 200, report->ToJson());
    });
    svr.Get("/api/v1/admin/errors", [this](const Request&, Response& res) {
        auto groups = errors_->Recent();
        if (!groups.ok()) return SendStatus(res, groups.status());
        json list = json::array();
        for (const auto& g : *groups) {
            list.push_back({{"kind", g.kind},
                            {"stage", g.stage},
                            {"count", g.count},
                            {"first_seen", g.first_seen},
                            {"last_seen", g.last_seen},
                            {"sample", g.sample}});
        }
        SendJson(res, 200, {{"errors", list}, {"retention_hours", errors_->retention_hours()}});
    });

    // ---- jobs
    svr.Get(R"(/api/v1/jobs/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        std::optional<JobRow> job;
        const Status st = db_->With([&](soci::session& s) { job = GetJob(s, req.matches[1]); });
        if (!st.ok()) return SendStatus(res, st);
        if (!job) return SendError(res, 404, "not_found", "no job " + std::string(req.matches[1]));
        SendJson(res, 200, JobRowToJson(*job));
    });

    svr.Post(R"(/api/v1/jobs/([A-Za-z0-9_]+)/cancel)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        std::optional<JobRow> job;
        bool cancelled_now = false;
        const Status st = db_->InTransaction([&](soci::session& s) {
            job = GetJob(s, id);
            if (!job || (job->state != "queued" && job->state != "running")) return;
            cancelled_now = RequestCancel(s, id, NowEpochMs());
            if (cancelled_now && job->kind != "render") {
                SetEpisodeStatus(s, job->episode_id, "cancelled", "cancelled by request");
            }
            job = GetJob(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!job) return SendError(res, 404, "not_found", "no job " + id);
        if (job->state != "queued" && job->state != "running" && !cancelled_now) {
            return SendError(res, 409, "finished", "job " + id + " already ended: " + job->state);
        }
        workers_->Wake();
        if (cancelled_now) {
            events_->Publish(JobEvent(id, job->episode_id, "cancelled", "cancelled", 0));
        }
        SendJson(res, 202, JobRowToJson(*job));
    });

    svr.Get("/api/v1/events", [this](const Request& req, Response& res) {
        if (open_streams_.fetch_add(1) >= config_.max_event_streams) {
            --open_streams_;
            res.set_header("Retry-After", "10");
            return SendError(res, 503, "too_many_streams",
                             fmt::format("at most {} event streams may be open", config_.max_event_streams));
        }
        const std::string only_episode = Param(req, "episode_id");
        auto sub = events_->Subscribe();
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, sub, only_episode, first = true](size_t, httplib::DataSink& sink) mutable {
                if (first) {
                    first = false;
                    const std::string hello = "retry: 2000\n: connected\n\n";
                    return sink.write(hello.data(), hello.size());
                }
                if (stopping_) {
                    sink.done();
                    return true;
                }
                auto e = sub->Next(10000);
                std::string chunk;
                if (!e) {
                    if (stopping_) {
                        sink.done();
                        return true;
                    }
                    chunk = ": keep-alive\n\n";
                } else {
                    if (!only_episode.empty() &&
                        e->find("\"episode_id\":\"" + only_episode + "\"") == std::string::npos) {
                        return true;
                    }
                    chunk = "event: job\ndata: " + *e + "\n\n";
                }
                return sink.write(chunk.data(), chunk.size());
            },
            [this, sub](bool) {
                events_->Unsubscribe(sub);
                --open_streams_;
            });
    });

    // ---- the browser app (WEB_DIR: the bundle `npm run build` made). Its hashed assets never change, so
    // browsers keep them for a year; index.html is revalidated every time so a new build is picked up.
    svr.Get("/", [this](const Request& req, Response& res) {
        const fs::path index = fs::path(config_.web_dir) / "index.html";
        std::error_code ec;
        if (config_.web_dir.empty() || !fs::is_regular_file(index, ec) ||
            req.get_header_value("Accept").find("text/html") == std::string::npos) {
            return SendJson(
                res, 200,
                {{"name", "PodPromo"},
                 {"api", "/api/v1"},
                 {"health", "/health"},
                 {"metrics", "/metrics"},
                 {"app", fs::is_regular_file(index, ec) ? "open / in a browser" : "not built (run scripts/build)"}});
        }
        SendFile(res, index, WebContentType(index), "no-cache");
    });
    svr.Get(R"(/(assets/[A-Za-z0-9._-]+|favicon\.svg))", [this](const Request& req, Response& res) {
        const fs::path file = fs::path(config_.web_dir) / std::string(req.matches[1]);
        std::error_code ec;
        if (config_.web_dir.empty() || !fs::is_regular_file(file, ec)) {
            return SendError(res, 404, "not_found", "no such file");
        }
        const bool hashed = std::string(req.matches[1]).rfind("assets/", 0) == 0;
        SendFile(res, file, WebContentType(file), hashed ? "public, max-age=31536000, immutable" : "no-cache");
    });
}

}  // namespace podpromo
