#include <fmt/format.h>
#include <httplib.h>

#include <map>
#include <string>

#include "access.h"
#include "documents.h"
#include "http_common.h"
#include "lean_server.h"
#include "podpromo/api/server.h"
#include "podpromo/app/app.h"
#include "podpromo/jobs/results.h"
#include "podpromo/store/repositories.h"
#include "server_state.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

// Jobs (read, cancelled) and the server-sent event stream of their progress.
void ApiServer::JobRoutes() {
    auto& svr = *server_;

    svr.Get(R"(/api/v1/jobs/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        auto job = app_->GetJob(CurrentCaller(), req.matches[1]);
        if (!job.ok()) return SendStatus(res, job.status());
        SendJson(res, 200, JobRowToJson(*job));
    });

    svr.Post(R"(/api/v1/jobs/([A-Za-z0-9_]+)/cancel)", [this](const Request& req, Response& res) {
        auto cancelled = app_->CancelJob(CurrentCaller(), req.matches[1]);
        if (!cancelled.ok()) return SendStatus(res, cancelled.status());
        SendJson(res, 202, JobRowToJson(cancelled->job));
    });

    svr.Get("/api/v1/events", [this](const Request& req, Response& res) { ServeEvents(req, res); });
}

// The caller's jobs' progress as server-sent events, within the per-address and total stream limits.
void ApiServer::ServeEvents(const Request& req, Response& res) {
    const std::string client = req.remote_addr;
    if (!state_->streams_per_client.TryAcquire(client)) {
        return SendStatus(res, Status::RateLimited(fmt::format("at most {} event streams may be open from one "
                                                               "address",
                                                               config_.event_streams_per_client))
                                   .WithSlug("too_many_streams")
                                   .WithRetryAfter(10));
    }
    if (state_->open_streams.fetch_add(1) >= config_.max_event_streams) {
        --state_->open_streams;
        state_->streams_per_client.Release(client);
        return SendStatus(res, Status::ResourceExhausted(
                                   fmt::format("at most {} event streams may be open", config_.max_event_streams))
                                   .WithSlug("too_many_streams")
                                   .WithRetryAfter(10));
    }
    const std::string only_episode = Param(req, "episode_id");
    // Only the caller's jobs: whether each episode is theirs is read once per stream (episodes do not change
    // hands), at most kSeenMost at a time.
    constexpr size_t kSeenMost = 4096;
    auto visible = [this, who = CurrentCaller(),
                    seen = std::map<std::string, bool>()](const std::string& event) mutable {
        if (who.sees_all) return true;
        const json e = json::parse(event, nullptr, false);
        if (!e.is_object() || !e.contains("episode_id") || !e["episode_id"].is_string()) return false;
        const std::string episode = e["episode_id"].get<std::string>();
        if (const auto it = seen.find(episode); it != seen.end()) return it->second;
        auto mine = app_->EpisodeVisible(who, episode);
        if (!mine.ok()) return false;
        if (seen.size() >= kSeenMost) seen.clear();
        return seen[episode] = *mine;
    };
    auto sub = events_->Subscribe();
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, sub, only_episode, visible, first = true](size_t, httplib::DataSink& sink) mutable {
            if (first) {
                first = false;
                const std::string hello = "retry: 2000\n: connected\n\n";
                return sink.write(hello.data(), hello.size());
            }
            if (state_->stopping) {
                sink.done();
                return true;
            }
            auto e = sub->Next(10000);
            std::string chunk;
            if (!e) {
                if (state_->stopping) {
                    sink.done();
                    return true;
                }
                chunk = ": keep-alive\n\n";
            } else {
                if ((!only_episode.empty() &&
                     e->find("\"episode_id\":\"" + only_episode + "\"") == std::string::npos) ||
                    !visible(*e)) {
                    return true;
                }
                chunk = "event: job\ndata: " + *e + "\n\n";
            }
            return sink.write(chunk.data(), chunk.size());
        },
        [this, sub, client](bool) {
            events_->Unsubscribe(sub);
            --state_->open_streams;
            state_->streams_per_client.Release(client);
        });
}

}  // namespace podpromo
