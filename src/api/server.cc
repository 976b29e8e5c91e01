#include "podpromo/api/server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "access.h"
#include "http_common.h"
#include "lean_server.h"
#include "page_cache.h"
#include "podpromo/app/app.h"
#include "podpromo/asr/pocketsphinx.h"
#include "podpromo/core/subprocess.h"
#include "podpromo/core/utf8.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/monitor/log.h"
#include "server_state.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

namespace {

// The route pattern a request matched, for metric labels (ids would explode the label set).
// The route a path belongs to, as a metric label: one of the routes below, never the raw path, so any number of
// made-up paths adds no series to /metrics (it grew to 22 MB under 300 random paths when labels were raw).
std::string RouteLabel(const std::string& path) {
    static const std::set<std::string> kExact = {"/health",
                                                 "/livez",
                                                 "/readyz",
                                                 "/metrics",
                                                 "/queue/stats",
                                                 "/storage/stats",
                                                 "/api/v1/episodes",
                                                 "/api/v1/shows",
                                                 "/api/v1/events",
                                                 "/",
                                                 "/api/v1/admin/cleanup",
                                                 "/api/v1/admin/errors",
                                                 "/api/v1/admin/audit",
                                                 "/api/v1/session",
                                                 "/api/v1/me",
                                                 "/api/v1/me/password",
                                                 "/api/v1/me/sign-out-everywhere",
                                                 "/api/v1/keys",
                                                 "/api/v1/users",
                                                 "/signin"};
    if (kExact.count(path)) return path;
    static const std::pair<const char*, std::set<std::string>> kResources[] = {
        {"/api/v1/episodes/",
         {"", "/audio", "/clips", "/clips/score", "/preview", "/peaks", "/transcript", "/transcript/revisions",
          "/soundbites", "/export", "/archive"}},
        {"/api/v1/clips/",
         {"", "/feedback", "/star", "/media/video", "/media/audio", "/media/thumbnail", "/media/srt", "/media/vtt",
          "/media/post"}},
        {"/api/v1/jobs/", {"", "/cancel"}},
        {"/api/v1/shows/", {"", "/poll", "/items/process", "/soundbites"}},
        {"/api/v1/keys/", {""}},
        {"/api/v1/users/", {"/disable", "/link"}}};
    for (const auto& [prefix, tails] : kResources) {
        if (!path.starts_with(prefix)) continue;
        const std::string rest = path.substr(std::string_view(prefix).size());
        const auto slash = rest.find('/');
        const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
        if (!tails.count(tail)) return "other";
        const std::string base = std::string(prefix) + "{id}";
        return tail.starts_with("/media/") ? base + "/media/{kind}" : base + tail;
    }
    if (path.starts_with("/assets/") || path == "/favicon.svg") return "/assets/{file}";
    return "other";
}

// The method as a metric label: httplib passes any token a client sends.
std::string MethodLabel(const std::string& method) {
    static const std::set<std::string> kKnown = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    return kKnown.count(method) ? method : "other";
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

// How many connections the server may hold open: its descriptor limit, raised to the hard limit first (Debian's
// soft limit is 1024), less some kept for files, the database and child processes. Every waiting connection costs
// one; past this number a new one is answered 503 instead of the process running out.
size_t ConnectionCapacity() {
    constexpr rlim_t kKept = 256, kMost = 16384, kLeast = 64;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return kLeast;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) getrlimit(RLIMIT_NOFILE, &limit);
    }
    return static_cast<size_t>(std::clamp(limit.rlim_cur > kKept ? limit.rlim_cur - kKept : 0, kLeast, kMost));
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
      server_(std::make_unique<LeanServer>()),
      state_(std::make_unique<State>(config, db)) {
    AppDeps deps;
    deps.db = db;
    deps.storage = storage;
    deps.events = events;
    deps.clock = &SystemClock();
    if (workers) deps.wake = [workers] { workers->Wake(); };
    app_ = std::make_unique<App>(std::move(deps), AppLimits::FromConfig(config));
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
    metrics_->Describe("podpromo_database_up", "gauge", "1 when this instance read the database at the last scrape.");
    metrics_->Describe("podpromo_workers_busy", "gauge", "Workers running a job.");
    metrics_->Describe("podpromo_event_streams_open", "gauge", "Open /api/v1/events streams.");
    metrics_->Describe("podpromo_rate_limited_total", "counter", "Requests refused 429 over their rate, by caller.");
    metrics_->Describe("podpromo_rate_limit_quota", "gauge",
                       "Requests allowed per RATE_LIMIT_WINDOW_SECONDS, by caller (0: no limit).");
    metrics_->Set("podpromo_rate_limit_quota", {{"caller", "signed_in"}}, config.rate_limit_requests);
    metrics_->Set("podpromo_rate_limit_quota", {{"caller", "anonymous"}}, config.rate_limit_anonymous_requests);
    Routes();
}

ApiServer::~ApiServer() { StopHealthThread(); }

Status ApiServer::Bind() {
    // Beyond the configured workers, a few kept for the probes: they answer however many clients hold the rest.
    constexpr int kProbeThreads = 4;
    server_->set_threads(static_cast<size_t>(config_.http_threads) + static_cast<size_t>(config_.max_event_streams),
                         kProbeThreads, {"/livez", "/readyz", "/health", "/metrics"});
    server_->set_max_connections(ConnectionCapacity());
    server_->set_tcp_nodelay(true);
    server_->set_keep_alive_timeout(2);
    server_->set_keep_alive_max_count(10000);  // the default (5) makes clients reconnect constantly
    server_->set_read_timeout(30);
    server_->set_write_timeout(30);
    server_->set_head_timeout_ms(config_.http_head_timeout_seconds * 1000);
    server_->set_client_min_rate(config_.http_head_timeout_seconds * 1000, config_.http_client_min_rate);
    server_->set_connections_per_client(config_.http_connections_per_client);
    server_->set_requests_per_client(static_cast<size_t>(config_.http_requests_per_client));
    state_->streams_per_client.set_max(config_.event_streams_per_client);
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
    server_->RaiseListenBacklog();
    if (!config_.alert_webhook_url.empty()) {
        state_->alert_webhook = std::make_unique<AlertWebhook>(config_.alert_webhook_url, config_.alert_webhook_secret,
                                                               fmt::format("{}:{}", config_.host, port_));
    }
    // /health answers from checks made here and then once a second by a thread of their own, so no request
    // ever waits on the disk or the database for it.
    RefreshHealth();
    state_->health_thread = std::thread([this] {
        std::unique_lock<std::mutex> lock(state_->health_thread_mu);
        while (!state_->health_cv.wait_for(lock, std::chrono::seconds(1), [this] { return state_->health_stop; })) {
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
    if (state_->alert_webhook) state_->alert_webhook->Observe(doc["status"].get<std::string>(), doc["checks"]);
    std::string body = DumpJson(doc);
    std::string summary = DumpJson(json{{"status", doc["status"]}});
    std::lock_guard<std::mutex> lock(state_->health_mu);
    state_->health_status = code;
    state_->health_body = std::move(body);
    state_->health_summary = std::move(summary);
}

void ApiServer::StopHealthThread() {
    {
        std::lock_guard<std::mutex> lock(state_->health_thread_mu);
        state_->health_stop = true;
    }
    state_->health_cv.notify_all();
    if (state_->health_thread.joinable()) state_->health_thread.join();
}

void ApiServer::Stop() {
    StopHealthThread();
    state_->stopping = true;
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
    if (config_.asr.engine == AsrEngine::kPocketsphinx) {
        const Status model = CheckPocketsphinxModel(PocketsphinxConfig{});
        check("speech_model", model.ok(), model.ok() ? "pocketsphinx en-us present" : model.message(), true);
    } else {
        // A remote engine is not called here (each call may cost money): its errors show on the jobs.
        check("speech_model", true,
              fmt::format("{} at {} (model {}; not probed)", Name(config_.asr.engine), config_.asr.url,
                          config_.asr.model),
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
    // (The database check reports an unreachable database; the queue then reads as empty.)
    auto read = app_->Load();
    const QueueLoad load = read.ok() ? *read : QueueLoad{};
    const double wait_s =
        load.oldest_runnable_ms > 0 ? static_cast<double>(load.now_ms - load.oldest_runnable_ms) / 1000.0 : 0.0;
    check("queue", load.queued < config_.max_queue_size && wait_s <= config_.health_max_queue_age_seconds,
          fmt::format("{} queued of {}, {} running; the oldest has waited {:.0f} s (degraded over {} s)", load.queued,
                      config_.max_queue_size, load.running, wait_s, config_.health_max_queue_age_seconds),
          false);
    const std::string status = !critical_ok ? "unhealthy" : (all_ok ? "healthy" : "degraded");
    const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - state_->started).count();
    return {critical_ok ? 200 : 503, json{{"status", status}, {"checks", checks}, {"uptime_s", uptime}}};
}

bool ApiServer::Guard(const Request& req, Response& res) {
    if (state_->browser.Apply(req, res) || RefuseUnwantedBody(req, res)) return true;
    // Who it is, then whether they are within their rate (a refused credential counts against its address).
    const bool refused = state_->access.Refuse(req, res);
    std::string limited_as;
    if (state_->rate_limiter.Refuse(req, res, refused ? nullptr : CurrentPrincipal(), &limited_as)) {
        metrics_->Increment("podpromo_rate_limited_total", {{"caller", limited_as}});
        return true;
    }
    return refused;
}

// Every answered request: its metrics, the 5xx among the aggregated errors, and the access log line.
void ApiServer::LogRequest(const Request& req, const Response& res) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count();
    const std::string route = RouteLabel(req.path);
    const std::string method = MethodLabel(req.method);
    metrics_->Increment("podpromo_http_requests_total",
                        {{"route", route}, {"method", method}, {"status", std::to_string(res.status)}});
    metrics_->Observe("podpromo_http_request_duration_seconds", {{"route", route}, {"method", method}}, seconds,
                      Metrics::LatencyBuckets());
    // Access log: failures and slow requests at info (5xx also as aggregated errors), the rest at debug,
    // so a busy service does not spend its time logging successes.
    const LogLevel level = res.status >= 400 || seconds > 1.0 ? LogLevel::kInfo : LogLevel::kDebug;
    const std::string detail = TakeInternalDetail();
    if (res.status >= 500 && res.status != 503 && res.status != 507) {
        const json body = json::parse(res.body, nullptr, false);
        std::string message = "HTTP " + std::to_string(res.status);
        if (!detail.empty()) {
            message = detail;
        } else if (body.is_object() && body.contains("error") && body["error"].is_object()) {
            message = body["error"].value("message", message);
        }
        errors_->Report("http_" + std::to_string(res.status), route, message,
                        {{"request_id", res.get_header_value("X-Request-Id")}, {"path", req.path}});
    }
    if (LogEnabled(level)) {
        json fields = {{"request_id", res.get_header_value("X-Request-Id")},
                       {"method", req.method},
                       {"path", req.path},
                       {"status", res.status},
                       {"duration_ms", std::llround(seconds * 1e4) / 10.0}};
        if (!detail.empty()) fields["error"] = detail;
        Log(level, "request", fields);
    }
}

void ApiServer::Routes() {
    auto& svr = *server_;

    svr.set_pre_routing_handler([this](const Request& req, Response& res) {
        t_request_start = std::chrono::steady_clock::now();
        res.set_header("X-Request-Id", RequestId(req));
        return Guard(req, res) ? httplib::Server::HandlerResponse::Handled
                               : httplib::Server::HandlerResponse::Unhandled;
    });
    svr.set_logger([this](const Request& req, const Response& res) { LogRequest(req, res); });
    svr.set_error_handler([](const Request& req, Response& res) {
        if (LeanServer::RequestClientTooSlow()) {
            res.set_header("Connection", "close");
            return SendError(res, 408, "body_too_slow",
                             "the request body came too slowly (HTTP_CLIENT_MIN_RATE bytes a second); send it again");
        }
        if (!res.body.empty()) return;
        if (res.status == 404) return SendError(res, 404, "not_found", "no such endpoint");
        if (res.status == 413 && req.path == "/api/v1/episodes") {
            return SendError(res, 413, "too_large", "the upload is larger than MAX_FILE_SIZE");
        }
        if (res.status == 413 &&
            req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
            return SendError(res, 413, "too_large", "form-encoded bodies are at most 8 KB; send JSON");
        }
        if (res.status == 413) return SendError(res, 413, "too_large", "the request body is too large");
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
        SendInternalError(res, what);
    });

    OperatorRoutes();
    AdminRoutes();
    EpisodeRoutes();
    EpisodeContentRoutes();
    TranscriptRoutes();
    SpeakerRoutes();
    EpisodeHandOffRoutes();
    ShowRoutes();
    LookRoutes();
    ClipRoutes();
    JobRoutes();
    WebRoutes();
    AccountRoutes();
    KeyRoutes();
    UserRoutes();
}

}  // namespace podpromo
