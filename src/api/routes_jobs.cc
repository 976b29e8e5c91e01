#include <fmt/format.h>
#include <httplib.h>

#include <string>

#include "http_common.h"
#include "podpromo/api/lean_server.h"
#include "podpromo/api/server.h"
#include "podpromo/jobs/results.h"
#include "podpromo/store/repositories.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

// Jobs (read, cancelled) and the server-sent event stream of their progress.
// (Too long while the handlers hold their use cases: issue 17 moves those into app/.)
// NOLINTNEXTLINE(readability-function-size)
void ApiServer::JobRoutes() {
    auto& svr = *server_;

    svr.Get(R"(/api/v1/jobs/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        std::optional<JobRow> job;
        const Status st = db_->With([&](Tx& s) { job = GetJob(s, req.matches[1]); });
        if (!st.ok()) return SendStatus(res, st);
        if (!job) return SendError(res, 404, "not_found", "no job " + std::string(req.matches[1]));
        SendJson(res, 200, JobRowToJson(*job));
    });

    svr.Post(R"(/api/v1/jobs/([A-Za-z0-9_]+)/cancel)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        std::optional<JobRow> job;
        bool cancelled_now = false;
        const Status st = db_->InTransaction([&](Tx& s) {
            job = GetJob(s, id);
            if (!job || (IsFinal(job->state))) return;
            cancelled_now = RequestCancel(s, id, NowEpochMs());
            if (cancelled_now && job->kind != JobKind::kRender) {
                SetEpisodeStatus(s, job->episode_id, EpisodeStatus::kCancelled, "cancelled by request");
            }
            job = GetJob(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!job) return SendError(res, 404, "not_found", "no job " + id);
        if (IsFinal(job->state) && !cancelled_now) {
            return SendError(res, 409, "finished", "job " + id + " already ended: " + std::string(Name(job->state)));
        }
        workers_->Wake();
        if (cancelled_now) {
            events_->Publish(JobEvent(id, job->episode_id, "cancelled", "cancelled", 0));
        }
        SendJson(res, 202, JobRowToJson(*job));
    });

    svr.Get("/api/v1/events", [this](const Request& req, Response& res) {
        const std::string client = req.remote_addr;
        if (!streams_per_client_->TryAcquire(client)) {
            res.set_header("Retry-After", "10");
            return SendError(
                res, 429, "too_many_streams",
                fmt::format("at most {} event streams may be open from one address", config_.event_streams_per_client));
        }
        if (open_streams_.fetch_add(1) >= config_.max_event_streams) {
            --open_streams_;
            streams_per_client_->Release(client);
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
            [this, sub, client](bool) {
                events_->Unsubscribe(sub);
                --open_streams_;
                streams_per_client_->Release(client);
            });
    });
}

}  // namespace podpromo
