#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "access.h"
#include "documents.h"
#include "http_common.h"
#include "lean_server.h"
#include "page_cache.h"
#include "podpromo/api/server.h"
#include "podpromo/app/app.h"
#include "podpromo/asr/transcript_io.h"
#include "podpromo/core/utf8.h"
#include "podpromo/jobs/results.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/monitor/log.h"
#include "server_state.h"
#include "upload_body.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

namespace {

// POST /api/v1/episodes: the body streamed into tmp/ under the limits, then App::AcceptUpload. Every refusal is
// counted in podpromo_uploads_total by its code.
void Upload(App& app, const Storage& storage, Metrics& metrics, int64_t max_file_bytes, const Request& req,
            Response& res, const httplib::ContentReader& reader) {
    auto refuse = [&](const Status& st) {
        metrics.Increment("podpromo_uploads_total", {{"outcome", HttpErrorFor(st).code}});
        SendStatus(res, st);
    };
    const int64_t declared =
        req.has_header("Content-Length") ? ParseInt(req.get_header_value("Content-Length")).value_or(-1) : -1;
    // Refused before the body is stored: the body is dropped (see DrainBody), never written.
    auto refuse_early = [&](const Status& st) {
        DrainBody(req, reader, declared < 0 ? kDrainBytes : declared);
        if (declared < 0 || declared > kDrainBytes) res.set_header("Connection", "close");
        refuse(st);
    };
    // Cheap refusals first, before a byte of the body is stored.
    if (Status room = app.RoomInQueue(CurrentCaller().user_id); !room.ok()) {
        return room.code() == StatusCode::kResourceExhausted || room.code() == StatusCode::kRateLimited
                   ? refuse_early(room)
                   : SendStatus(res, room);
    }
    if (declared > max_file_bytes + (req.is_multipart_form_data() ? 64 * 1024 : 0)) {
        return refuse_early(
            Status::TooLarge(fmt::format("the upload is {} bytes; the limit is {}", declared, max_file_bytes)));
    }
    auto reservation = storage.Reserve(declared > 0 ? declared : UploadReceiver::kReserveStep);
    if (!reservation.ok()) return refuse_early(reservation.status());
    // The room stays held until the file is stored (the receiver lives past AcceptUpload), where the file counts.
    UploadReceiver receiver(storage, max_file_bytes, std::move(*reservation));
    const Status received = receiver.Receive(req, reader);
    if (receiver.close_connection()) res.set_header("Connection", "close");
    if (!received.ok()) return refuse(received);
    UploadRequest upload = receiver.TakeRequest(req);
    upload.owner_id = CurrentCaller().user_id;
    auto accepted = app.AcceptUpload(std::move(upload));
    if (!accepted.ok()) return refuse(accepted.status());
    res.set_header("Location", "/api/v1/episodes/" + accepted->episode.id);
    json body = {{"episode", EpisodeRowToJson(accepted->episode)}, {"job", JobRowToJson(accepted->job)}};
    if (accepted->repeated) {
        // A re-sent upload: 200, the upload it repeats, and nothing new.
        metrics.Increment("podpromo_uploads_total", {{"outcome", "repeated"}});
        body["repeated"] = true;
        return SendJson(res, 200, body);
    }
    metrics.Increment("podpromo_uploads_total", {{"outcome", "accepted"}});
    metrics.Increment("podpromo_upload_bytes_total", {}, static_cast<double>(accepted->episode.size_bytes));
    SendJson(res, 202, body);
}

// The Content-Type of an episode's recording, by its extension.
std::string RecordingType(const fs::path& path) {
    static const std::map<std::string, std::string> types = {
        {".opus", "audio/ogg"}, {".mp3", "audio/mpeg"},     {".wav", "audio/wav"}, {".m4a", "audio/mp4"},
        {".aac", "audio/mp4"},  {".flac", "audio/flac"},    {".ogg", "audio/ogg"}, {".webm", "video/webm"},
        {".mkv", "video/webm"}, {".mov", "video/quicktime"}};
    const auto it = types.find(path.extension().string());
    return it == types.end() ? "video/mp4" : it->second;
}

// The loudness envelope in `n` buckets, each the loudest 10 ms frame in it: -60 dBFS and below draw as silence,
// 0 dBFS as full height.
json Peaks(const AudioFrames& frames, int n) {
    json peaks = json::array();
    const size_t total = frames.size();
    for (int i = 0; i < n; ++i) {
        const size_t from = total * static_cast<size_t>(i) / static_cast<size_t>(n);
        const size_t to = std::max(from + 1, total * static_cast<size_t>(i + 1) / static_cast<size_t>(n));
        float loudest = -100;
        for (size_t f = from; f < to && f < total; ++f) loudest = std::max(loudest, frames.db[f]);
        peaks.push_back(std::round(std::clamp((loudest + 60.0) / 60.0, 0.0, 1.0) * 1000) / 1000);
    }
    return peaks;
}

json EpisodeDocument(const EpisodeBundle& b) {
    json clips = json::array();
    for (const auto& c : b.clips) clips.push_back(ClipRowToJson(c));
    return {{"episode", EpisodeRowToJson(b.episode)},
            {"job", b.job ? JobRowToJson(*b.job) : json(nullptr)},
            {"transcript", b.transcript ? TranscriptToJson(*b.transcript) : json(nullptr)},
            {"transcript_revision", b.transcript_revision},
            {"persons", ParseJsonOr(b.persons, json::array())},
            {"clips", clips}};
}

// POST /api/v1/episodes/{id}/clips's body: {"start": s, "end": s, "platform"?, and the render options}.
Result<SpanAsk> ParseSpanAsk(const Request& req) {
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("start") || !body.contains("end") ||
        !body["start"].is_number() || !body["end"].is_number()) {
        return Status::InvalidInput("send {\"start\": seconds, \"end\": seconds}");
    }
    SpanAsk ask;
    ask.start_s = body["start"].get<double>();
    ask.end_s = body["end"].get<double>();
    if (body.contains("platform") && body["platform"].is_string()) {
        ask.platform = body["platform"].get<std::string>();
    } else if (req.has_param("platform")) {
        ask.platform = req.get_param_value("platform");
    }
    ask.render = body;
    return ask;
}

std::optional<std::string> OptionalParam(const Request& req, const char* name) {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
}

// The same, once per frame when the body names several: {"aspects": ["9:16", "1:1", ...]} (at most four, each
// once), each render with its own "aspect".
Result<std::vector<SpanAsk>> ParseSpanAsks(const Request& req) {
    PODPROMO_ASSIGN_OR_RETURN(SpanAsk ask, ParseSpanAsk(req));
    if (!ask.render.contains("aspects")) return std::vector<SpanAsk>{ask};
    const json& aspects = ask.render["aspects"];
    if (!aspects.is_array() || aspects.empty() || aspects.size() > 4) {
        return Status::InvalidInput("aspects must list one to four frames, such as [\"9:16\", \"1:1\"]");
    }
    std::vector<SpanAsk> asks;
    std::set<std::string> seen;
    for (const auto& a : aspects) {
        if (!a.is_string() || !seen.insert(a.get<std::string>()).second) {
            return Status::InvalidInput("aspects must name each frame once, as text");
        }
        SpanAsk one = ask;
        one.render.erase("aspects");
        one.render["aspect"] = a;
        asks.push_back(std::move(one));
    }
    return asks;
}

// How a span scores (before it is rendered).
json SpanPreview(const ScoredClip& clip) {
    return {{"start", static_cast<double>(clip.candidate.start_ms) / 1000.0},
            {"end", static_cast<double>(clip.candidate.end_ms) / 1000.0},
            {"duration", static_cast<double>(clip.candidate.DurationMs()) / 1000.0},
            {"display_score", clip.display_score},
            {"confidence", Name(clip.confidence)},
            {"title", clip.title},
            {"explanation", clip.explanation}};
}

json SpanAccepted(const SpanRenderAccepted& a) {
    return {{"clip_id", a.clip_id},
            {"clip_url", "/api/v1/clips/" + a.clip_id},
            {"clip", SpanPreview(a.preview)},
            {"job", JobRowToJson(a.job)}};
}

// GET .../clips/score's query: start and end in seconds, and the platform.
Result<SpanAsk> ParseScoreAsk(const Request& req) {
    SpanAsk ask;
    const auto number = [&](const char* name) -> std::optional<double> {
        if (!req.has_param(name)) return std::nullopt;
        const std::string v = req.get_param_value(name);
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        if (v.empty() || v.size() > 32 || end != v.c_str() + v.size()) return std::nullopt;
        return d;
    };
    const auto start = number("start"), end = number("end");
    if (!start || !end) return Status::InvalidInput("send ?start=seconds&end=seconds");
    ask.start_s = *start;
    ask.end_s = *end;
    ask.platform = OptionalParam(req, "platform");
    return ask;
}

}  // namespace

// GET /api/v1/episodes: a page of the caller's episodes, each with the clips it has; cached per caller until the
// database changes.
void ApiServer::ListEpisodes(const Request& req, Response& res) {
    const int limit = IntParam(req, "limit", 20, 1, 100);
    const int offset = IntParam(req, "offset", 0, 0, 1 << 30);
    const uint64_t version = db_->write_version();
    const Caller who = CurrentCaller();
    const std::string whose = who.sees_all ? "*" : who.user_id;
    if (auto cached = state_->episode_list.Find(version, whose, limit, offset)) {
        return res.set_content(*cached, "application/json");
    }
    auto page = app_->ListEpisodes(who, limit, offset);
    if (!page.ok()) return SendStatus(res, page.status());
    json items = json::array();
    for (const auto& e : page->episodes) {
        json item = EpisodeRowToJson(e);
        item["clips_made"] = page->clips_made[e.id];
        items.push_back(std::move(item));
    }
    std::string body = DumpJson(json{{"items", items}, {"total", page->total}, {"limit", limit}, {"offset", offset}});
    state_->episode_list.Store(version, whose, limit, offset, body);
    res.set_content(body, "application/json");
}

// Uploads, episodes, their audio and peaks. Each handler here and in EpisodeContentRoutes parses the request, calls
// one use case of App and maps its result.
void ApiServer::EpisodeRoutes() {
    auto& svr = *server_;

    svr.Post("/api/v1/episodes", [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
        Upload(*app_, *storage_, *metrics_, config_.max_file_size_bytes, req, res, reader);
    });

    svr.Get("/api/v1/episodes", [this](const Request& req, Response& res) { ListEpisodes(req, res); });

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        auto b = app_->GetEpisode(CurrentCaller(), req.matches[1], /*with_content=*/true);
        if (!b.ok()) return SendStatus(res, b.status());
        SendJson(res, 200, EpisodeDocument(*b));
    });

    // {"title": "..."}: the episode renamed.
    svr.Patch(R"(/api/v1/episodes/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        const json body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("title") || !body["title"].is_string()) {
            return SendStatus(res, Status::InvalidInput("send {\"title\": \"the episode's title\"}"));
        }
        auto renamed = app_->RenameEpisode(CurrentCaller(), req.matches[1], body["title"].get<std::string>());
        if (!renamed.ok()) return SendStatus(res, renamed.status());
        SendJson(res, 200, {{"episode", EpisodeRowToJson(*renamed)}});
    });

    svr.Delete(R"(/api/v1/episodes/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        if (Status st = app_->DeleteEpisode(CurrentCaller(), req.matches[1]); !st.ok()) return SendStatus(res, st);
        res.status = 204;
    });

    // The episode's own recording (or its archived Opus copy), for the browser's player; Range supported.
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/audio)", [this](const Request& req, Response& res) {
        auto b = app_->GetEpisode(CurrentCaller(), req.matches[1], /*with_content=*/false);
        if (!b.ok()) return SendStatus(res, b.status());
        auto path = storage_->Resolve(b->episode.audio_path);
        std::error_code ec;
        if (!path.ok() || !fs::is_regular_file(*path, ec)) {
            return SendStatus(res, Status::NotFound("the episode's recording is missing"));
        }
        SendFile(req, res, *path, RecordingType(*path), "private, max-age=3600", b->episode.filename);
    });

    // The episode's loudness envelope for drawing its waveform without decoding it in the browser:
    // {"duration": s, "peaks": [n values in 0..1]} from the stored audio features (10 ms frames).
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/peaks)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        if (auto b = app_->GetEpisode(CurrentCaller(), id, /*with_content=*/false); !b.ok())
            return SendStatus(res, b.status());
        const std::optional<AudioFrames> frames = LoadFrames(*storage_, id);
        if (!frames || frames->size() == 0) {
            return SendStatus(
                res, Status::FailedPrecondition("the episode has not been analysed yet").WithSlug("not_ready"));
        }
        res.set_header("Cache-Control", "private, max-age=3600");
        SendJson(res, 200,
                 {{"duration", static_cast<double>(frames->DurationMs()) / 1000.0},
                  {"peaks", Peaks(*frames, IntParam(req, "n", 1000, 10, 20000))}});
    });
}

// An episode's transcript: read (as it is, or at a revision: ?revision=0 is the transcript as made), replaced by an
// import, and its words fixed by hand (PATCH, stored as the next revision; the clips holding a fixed word render
// again).
void ApiServer::TranscriptRoutes() {
    auto& svr = *server_;

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/transcript)", [this](const Request& req, Response& res) {
        const std::string format = Param(req, "format", "json");
        if (format != "json" && format != "srt" && format != "vtt") {
            return SendStatus(res, Status::InvalidInput("format must be json, srt or vtt"));
        }
        std::optional<int> revision;
        if (req.has_param("revision")) {
            const auto n = ParseInt(req.get_param_value("revision"));
            if (!n || *n < 0 || *n > 1000000) return SendStatus(res, Status::InvalidInput("revision must be a number"));
            revision = static_cast<int>(*n);
        }
        auto t = app_->GetTranscript(CurrentCaller(), req.matches[1], revision);
        if (!t.ok()) return SendStatus(res, t.status());
        if (format == "json") {
            json doc = TranscriptToJson(t->transcript);
            doc["revision"] = t->revision;
            doc["latest_revision"] = t->latest;
            return SendJson(res, 200, doc);
        }
        const auto cues = TranscriptCues(t->transcript);
        if (format == "srt") return res.set_content(FormatSrt(cues), "application/x-subrip; charset=utf-8");
        res.set_content(FormatVtt(cues), "text/vtt; charset=utf-8");
    });

    svr.Put(R"(/api/v1/episodes/([A-Za-z0-9_]+)/transcript)", [this](const Request& req, Response& res) {
        auto imported = app_->ImportTranscript(CurrentCaller(), req.matches[1], req.body);
        if (!imported.ok()) return SendStatus(res, imported.status());
        SendJson(res, 202, {{"job", JobRowToJson(imported->job)}, {"words", imported->words}});
    });

    // {"revision": the one the editor saw, "edits": [{"segment", "word", "count"?, "text"}]}
    svr.Patch(R"(/api/v1/episodes/([A-Za-z0-9_]+)/transcript)", [this](const Request& req, Response& res) {
        const json body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("revision") || !body["revision"].is_number_unsigned() ||
            body["revision"].get<uint64_t>() > 1000000 || !body.contains("edits")) {
            return SendStatus(res, Status::InvalidInput("send {\"revision\": the transcript's revision, \"edits\": "
                                                        "[{\"segment\", \"word\", \"count\", \"text\"}]}"));
        }
        auto edits = WordEditsFromJson(body["edits"]);
        if (!edits.ok()) return SendStatus(res, edits.status());
        auto fixed = app_->FixWords(CurrentCaller(), req.matches[1], body["revision"].get<int>(), *edits);
        if (!fixed.ok()) return SendStatus(res, fixed.status());
        json jobs = json::array();
        for (const auto& j : fixed->jobs) jobs.push_back(JobRowToJson(j));
        SendJson(res, 200,
                 {{"revision", fixed->revision},
                  {"transcript", TranscriptToJson(fixed->transcript)},
                  {"clips", fixed->clips},
                  {"jobs", jobs}});
    });

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/transcript/revisions)", [this](const Request& req, Response& res) {
        auto revisions = app_->TranscriptRevisions(CurrentCaller(), req.matches[1]);
        if (!revisions.ok()) return SendStatus(res, revisions.status());
        json items = json::array();
        for (const auto& r : *revisions) {
            items.push_back({{"revision", r.revision},
                             {"created_at", r.created_at},
                             {"by", r.actor},
                             {"edits", json::parse(r.edits, nullptr, false)}});
        }
        SendJson(res, 200, {{"items", items}});
    });
}

// The transcript's speakers, named.
void ApiServer::SpeakerRoutes() {
    auto& svr = *server_;

    // {"names": {"S1": "Ada Host", ...}}: the transcript's speakers named (the feed's <podcast:person>s, or others).
    svr.Patch(R"(/api/v1/episodes/([A-Za-z0-9_]+)/speakers)", [this](const Request& req, Response& res) {
        const json body = json::parse(req.body, nullptr, false);
        std::map<std::string, std::string> names;
        const bool shaped = body.is_object() && body.contains("names") && body["names"].is_object();
        if (shaped) {
            for (const auto& item : body["names"].items()) {
                if (item.value().is_string()) names[item.key()] = item.value().get<std::string>();
            }
        }
        if (!shaped || names.size() != body["names"].size()) {
            return SendStatus(res, Status::InvalidInput("send {\"names\": {\"S1\": \"a name\", ...}}"));
        }
        auto named = app_->NameSpeakers(CurrentCaller(), req.matches[1], names);
        if (!named.ok()) return SendStatus(res, named.status());
        SendJson(res, 200, {{"transcript", TranscriptToJson(*named)}});
    });
}

// An episode's clips (listed, rescored and re-cut).
void ApiServer::EpisodeContentRoutes() {
    auto& svr = *server_;

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/clips)", [this](const Request& req, Response& res) {
        RescoreAsk ask;
        ask.platform = OptionalParam(req, "platform");
        ask.genre = OptionalParam(req, "genre");
        if (auto limit = req.has_param("limit") ? ParseInt(req.get_param_value("limit")) : std::nullopt) {
            ask.limit = static_cast<int>(std::clamp<int64_t>(*limit, 1, 50));
        }
        auto r = app_->Rescore(CurrentCaller(), req.matches[1], ask);
        if (!r.ok()) return SendStatus(res, r.status());
        json out = {{"platform", r->platform}, {"genre", r->genre}, {"rescored", r->rescored}};
        out["items"] = json::array();
        for (const auto& c : r->clips) out["items"].push_back(r->rescored ? RescoredClipToJson(c) : ClipRowToJson(c));
        if (r->rescored) out["rescore_ms"] = std::round(r->ms * 10) / 10;
        SendJson(res, 200, out);
    });

    // A clip over a span the user chose: scored and explained at once (a bad span is refused here), then
    // rendered with the chosen frame and caption style by a worker as a high-priority "render" job; the clip
    // exists at /api/v1/clips/{clip_id} when the job succeeds.
    svr.Post(R"(/api/v1/episodes/([A-Za-z0-9_]+)/clips)", [this](const Request& req, Response& res) {
        auto asks = ParseSpanAsks(req);
        if (!asks.ok()) return SendStatus(res, asks.status());
        auto accepted = app_->RequestSpanRenders(CurrentCaller(), req.matches[1], *asks);
        if (!accepted.ok()) return SendStatus(res, accepted.status());
        res.set_header("Location", "/api/v1/jobs/" + accepted->front().job.id);
        // The first render's fields, as for one; every render in "renders".
        json out = SpanAccepted(accepted->front());
        out["renders"] = json::array();
        for (const auto& a : *accepted) out["renders"].push_back(SpanAccepted(a));
        SendJson(res, 202, out);
    });

    // A still of a span as its render would look (the frame, captions, title, waveform), before anything is rendered:
    // ?start&end&platform and the render options (aspect, style, font, color, highlight, size, outline, position,
    // uppercase, background).
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/preview)", [this](const Request& req, Response& res) {
        auto ask = ParseScoreAsk(req);
        if (!ask.ok()) return SendStatus(res, ask.status());
        for (const char* key : kRenderOptionKeys) {
            if (req.has_param(key)) ask->render[key] = req.get_param_value(key);
        }
        auto still = app_->PreviewSpan(CurrentCaller(), req.matches[1], *ask);
        if (!still.ok()) return SendStatus(res, still.status());
        res.set_header("Cache-Control", "private, max-age=60");
        res.set_content(*still, "image/jpeg");
    });

    // How a span would score, with nothing queued: the editor's score while a clip is trimmed.
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/clips/score)", [this](const Request& req, Response& res) {
        auto ask = ParseScoreAsk(req);
        if (!ask.ok()) return SendStatus(res, ask.status());
        auto scored = app_->ScoreSpan(CurrentCaller(), req.matches[1], *ask);
        if (!scored.ok()) return SendStatus(res, scored.status());
        SendJson(res, 200, {{"clip", SpanPreview(*scored)}});
    });
}

// What an episode's clips become outside PodPromo: soundbites for its feed, an edit decision list for a video editor,
// and all of their files in one archive.
void ApiServer::EpisodeHandOffRoutes() {
    auto& svr = *server_;

    // The episode's chosen clips as Podcasting 2.0 soundbites, to paste into its feed item (format=xml: the lines).
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/soundbites)", [this](const Request& req, Response& res) {
        const std::string format = Param(req, "format", "json");
        if (format != "json" && format != "xml")
            return SendStatus(res, Status::InvalidInput("format must be json or xml"));
        auto clips = app_->Soundbites(CurrentCaller(), req.matches[1]);
        if (!clips.ok()) return SendStatus(res, clips.status());
        json doc = SoundbitesToJson(*clips);
        if (format == "xml") return res.set_content(doc["xml"].get<std::string>(), "text/plain; charset=utf-8");
        doc["episode_id"] = req.matches[1];
        SendJson(res, 200, doc);
    });

    // The same clips as an edit decision list for a video editor: format=edl (CMX3600), fcpxml or otio.
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/export)", [this](const Request& req, Response& res) {
        const auto format = ParseExportFormat(Param(req, "format", ""));
        if (!format) return SendStatus(res, Status::InvalidInput("format must be edl, fcpxml or otio"));
        auto doc = app_->ExportClips(CurrentCaller(), req.matches[1], *format);
        if (!doc.ok()) return SendStatus(res, doc.status());
        res.set_header("Content-Disposition", ContentDisposition(doc->download_name, "attachment"));
        res.set_content(doc->body, doc->content_type);
    });

    // Every clip's files in one ZIP, streamed as it is read (a resumed download, with Range, is not offered).
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/archive)", [this](const Request& req, Response& res) {
        auto archive = app_->ArchiveClips(CurrentCaller(), req.matches[1]);
        if (!archive.ok()) return SendStatus(res, archive.status());
        std::shared_ptr<ZipStream> zip = std::move(archive->zip);
        res.set_header("Content-Disposition", ContentDisposition(archive->download_name, "attachment"));
        res.set_header("Cache-Control", "private, no-store");
        res.set_content_provider(zip->size(), "application/zip",
                                 [zip](size_t offset, size_t length, httplib::DataSink& sink) {
                                     std::string chunk;
                                     // (A file changed under it: the download is cut rather than finished damaged.)
                                     if (!zip->Read(offset, std::min<size_t>(length, 256 * 1024), &chunk).ok())
                                         return false;
                                     return sink.write(chunk.data(), chunk.size());
                                 });
    });
}

}  // namespace podpromo
