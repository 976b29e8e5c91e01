#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "access.h"
#include "http_common.h"
#include "lean_server.h"
#include "podpromo/api/server.h"
#include "podpromo/app/app.h"
#include "podpromo/store/repositories.h"
#include "server_state.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

namespace {

// The gauges read from the database: jobs by state, episodes by status, clips, and the queue by priority.
void SetTotals(Metrics& metrics, const ServiceTotals& t) {
    for (const auto& [state, n] : t.queue.by_state)
        metrics.Set("podpromo_jobs", {{"state", state}}, static_cast<double>(n));
    auto count = [](const std::map<std::string, DbInt>& m, const char* key) {
        const auto it = m.find(key);
        return it == m.end() ? 0.0 : static_cast<double>(it->second);
    };
    for (const char* status : {"queued", "processing", "ready", "failed", "cancelled"}) {
        metrics.Set("podpromo_episodes", {{"status", status}}, count(t.episodes_by_status, status));
    }
    metrics.Set("podpromo_clips", {}, static_cast<double>(t.clips));
    for (const char* p : {"high", "normal", "low"}) {
        metrics.Set("podpromo_queue_depth", {{"priority", p}}, count(t.queue.queued_by_priority, p));
    }
}

}  // namespace

void ApiServer::ServeMetrics(const Request&, Response& res) {
    // (Gauges keep their last values while the database cannot be read; /health reports that.)
    auto totals = app_->Totals();
    if (totals.ok()) SetTotals(*metrics_, *totals);
    // Whether this instance could read the database just now (the alert rules' "database unreachable").
    metrics_->Set("podpromo_database_up", {}, totals.ok() ? 1 : 0);
    metrics_->Set("podpromo_workers_busy", {}, workers_->running());
    metrics_->Set("podpromo_event_streams_open", {}, state_->open_streams.load());
    res.set_content(metrics_->Render(), "text/plain; version=0.0.4; charset=utf-8");
}

// /health, /livez, /readyz, /queue/stats, /storage/stats, /metrics and the administration endpoints.
void ApiServer::OperatorRoutes() {
    auto& svr = *server_;

    // The answer the health thread made last (see Bind): monitors poll this often, so it must cost nothing.
    // Open to all, with the checks' details for administrators only.
    svr.Get("/health", [this](const Request&, Response& res) {
        const Principal* who = CurrentPrincipal();
        const bool details = who && CallerOf(*who).sees_all;
        std::lock_guard<std::mutex> lock(state_->health_mu);
        res.status = state_->health_status;
        res.set_content(details ? state_->health_body : state_->health_summary, "application/json");
    });

    // For orchestrators: alive while the process answers; ready while the health checks that matter pass
    // (database, storage, ffmpeg, model) and the server is not shutting down.
    svr.Get("/livez", [](const Request&, Response& res) { SendJson(res, 200, {{"status", "alive"}}); });
    svr.Get("/readyz", [this](const Request&, Response& res) {
        int health = 0;
        {
            std::lock_guard<std::mutex> lock(state_->health_mu);
            health = state_->health_status;
        }
        const bool ready = health == 200 && !state_->stopping;
        SendJson(res, ready ? 200 : 503,
                 {{"status", ready ? "ready" : "not_ready"},
                  {"reason", ready ? "" : (state_->stopping ? "shutting down" : "a health check fails: see /health")}});
    });

    svr.Get("/queue/stats", [this](const Request&, Response& res) {
        auto counts = app_->QueueStats();
        if (!counts.ok()) return SendStatus(res, counts.status());
        QueueCounts& q = *counts;
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

    svr.Get("/metrics", [this](const Request& req, Response& res) { ServeMetrics(req, res); });
}

// /storage/stats and the administration endpoints.
void ApiServer::AdminRoutes() {
    auto& svr = *server_;

    // Each answer walks the data directory and plans a cleanup; monitors polling at once share one walk.
    svr.Get("/storage/stats", [this](const Request&, Response& res) {
        SendJson(res, 200, state_->storage_stats_flight.Run([this] {
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
            return json(
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
        }));
    });

    // Administration.
    // {"dry_run": true|false (default true), "remove_orphans": false|true}: one cleanup pass, its report.
    svr.Post("/api/v1/admin/cleanup", [this](const Request& req, Response& res) {
        json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || (body.contains("dry_run") && !body["dry_run"].is_boolean()) ||
            (body.contains("remove_orphans") && !body["remove_orphans"].is_boolean())) {
            return SendStatus(
                res,
                Status::InvalidInput("send {\"dry_run\": true|false, \"remove_orphans\": true|false} (both optional)"));
        }
        auto report = housekeeper_->Cleanup(body.value("dry_run", true), body.value("remove_orphans", false),
                                            ActorOf(CurrentPrincipal()));
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
}

}  // namespace podpromo
