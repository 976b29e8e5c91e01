#include <fmt/format.h>
#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "http_common.h"
#include "podpromo/api/lean_server.h"
#include "podpromo/api/server.h"
#include "podpromo/core/utf8.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/jobs/results.h"
#include "podpromo/store/repositories.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

// One clip, its media files, its star and its feedback.
// (Too long while the handlers hold their use cases: issue 17 moves those into app/.)
// NOLINTNEXTLINE(readability-function-size)
void ApiServer::ClipRoutes() {
    auto& svr = *server_;

    svr.Get(R"(/api/v1/clips/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        std::optional<ClipRow> clip;
        std::map<std::string, DbInt> counts;
        const Status st = db_->With([&](Tx& s) {
            clip = GetClip(s, id);
            if (clip) counts = FeedbackCounts(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!clip) return SendError(res, 404, "not_found", "no clip " + id);
        json j = ClipRowToJson(*clip);
        j["feedback"] = counts;
        SendJson(res, 200, j);
    });

    svr.Get(R"(/api/v1/clips/([A-Za-z0-9_]+)/media/(video|audio|thumbnail|srt|vtt|post))", [this](const Request& req,
                                                                                                  Response& res) {
        const std::string id = req.matches[1], kind = req.matches[2];
        std::optional<ClipRow> clip;
        const Status st = db_->With([&](Tx& s) { clip = GetClip(s, id); });
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
        SendFile(req, res, *path, ContentTypeFor(kind, *path), "private, max-age=60", path->filename().string());
    });

    // A starred clip is kept past CLIP_RETENTION_DAYS.
    auto star = [this](const Request& req, Response& res, bool starred) {
        const std::string id = req.matches[1];
        bool found = false;
        std::optional<ClipRow> clip;
        const Status st = db_->InTransaction([&](Tx& s) {
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
        f.kind = body.contains("kind") && body["kind"].is_string() ? body["kind"].get<std::string>() : "";
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
            f.comment = TruncateUtf8(body["comment"].get<std::string>(), 4000);
        }
        if (f.kind == "comment" && f.comment.empty()) {
            return SendError(res, 400, "invalid_input", "a comment needs its text in \"comment\"");
        }
        f.created_at = NowEpochMs();
        std::optional<ClipRow> clip;
        std::map<std::string, DbInt> counts;
        const Status st = db_->InTransaction([&](Tx& s) {
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
}

}  // namespace podpromo
