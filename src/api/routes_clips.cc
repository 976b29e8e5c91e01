#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "access.h"
#include "documents.h"
#include "http_common.h"
#include "lean_server.h"
#include "podpromo/api/server.h"
#include "podpromo/app/app.h"
#include "podpromo/jobs/results.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

namespace {

// {"kind": ..., "rating"?: 1..5, "comment"?: text}: the types here, the values in App::RecordFeedback.
Result<FeedbackAsk> ParseFeedback(const std::string& text) {
    const json body = json::parse(text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        return Status::InvalidInput("send a JSON object, e.g. {\"kind\":\"like\"}");
    }
    FeedbackAsk ask;
    if (body.contains("kind") && body["kind"].is_string()) ask.kind = body["kind"].get<std::string>();
    if (body.contains("rating")) {
        // Out of range or not a whole number: 0, which RecordFeedback refuses for a rating (and ignores otherwise).
        const json& r = body["rating"];
        ask.rating = r.is_number_integer() ? static_cast<int>(std::clamp<int64_t>(r.get<int64_t>(), 0, 6)) : 0;
    }
    if (body.contains("comment")) {
        if (!body["comment"].is_string()) return Status::InvalidInput("comment must be text");
        ask.comment = body["comment"].get<std::string>();
    }
    return ask;
}

}  // namespace

// One clip, its media files, its star and its feedback.
void ApiServer::ClipRoutes() {
    auto& svr = *server_;

    svr.Get(R"(/api/v1/clips/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        auto clip = app_->GetClip(CurrentCaller(), req.matches[1]);
        if (!clip.ok()) return SendStatus(res, clip.status());
        json j = ClipRowToJson(clip->first);
        j["feedback"] = clip->second;
        SendJson(res, 200, j);
    });

    svr.Get(R"(/api/v1/clips/([A-Za-z0-9_]+)/media/(video|audio|thumbnail|srt|vtt|post))", [this](const Request& req,
                                                                                                  Response& res) {
        const std::string kind = req.matches[2];
        auto media = app_->ClipFile(CurrentCaller(), req.matches[1], kind);
        if (!media.ok()) return SendStatus(res, media.status());
        SendFile(req, res, media->path, ContentTypeFor(kind, media->path), "private, max-age=60", media->download_name);
    });

    // A starred clip is kept past CLIP_RETENTION_DAYS.
    auto star = [this](const Request& req, Response& res, bool starred) {
        auto clip = app_->StarClip(CurrentCaller(), req.matches[1], starred);
        if (!clip.ok()) return SendStatus(res, clip.status());
        SendJson(res, 200, ClipRowToJson(*clip));
    };
    svr.Post(R"(/api/v1/clips/([A-Za-z0-9_]+)/star)",
             [star](const Request& req, Response& res) { star(req, res, true); });
    svr.Delete(R"(/api/v1/clips/([A-Za-z0-9_]+)/star)",
               [star](const Request& req, Response& res) { star(req, res, false); });

    svr.Post(R"(/api/v1/clips/([A-Za-z0-9_]+)/feedback)", [this](const Request& req, Response& res) {
        auto ask = ParseFeedback(req.body);
        if (!ask.ok()) return SendStatus(res, ask.status());
        auto done = app_->RecordFeedback(CurrentCaller(), req.matches[1], *ask);
        if (!done.ok()) return SendStatus(res, done.status());
        const FeedbackRow& f = done->row;
        metrics_->Increment("podpromo_feedback_total", {{"kind", f.kind}});
        json j = {{"id", f.id},
                  {"clip_id", f.clip_id},
                  {"kind", f.kind},
                  {"created_at", f.created_at},
                  {"totals", done->totals}};
        if (f.rating) j["rating"] = *f.rating;
        if (!f.comment.empty()) j["comment"] = f.comment;
        SendJson(res, 201, j);
    });
}

}  // namespace podpromo
