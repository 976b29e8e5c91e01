#include "podpromo/jobs/results.h"

#include <fmt/format.h>

#include <cmath>

#include "podpromo/core/clock.h"
#include "podpromo/core/utf8.h"
#include "podpromo/scoring/platform.h"

namespace podpromo {
using nlohmann::json;

namespace {

double Round3(double v) { return std::round(v * 1000) / 1000; }

json ParseOr(const std::string& text, const json& fallback) {
    json j = json::parse(text, nullptr, false);
    return j.is_discarded() ? fallback : j;
}

}  // namespace

void FillEpisodeAnalysis(const EpisodeResult& r, EpisodeRow* row) {
    const json doc = ResultToJson(r);
    const json& ep = doc["episode"];
    row->duration = ep["duration"].get<double>();
    row->genre = r.genre;
    row->detected_genre = r.detection.genre;
    row->analysis = DumpJson(json{{"genre_scores", ep["genre_scores"]},
                                  {"ad_spans", ep["ad_spans"]},
                                  {"stage_seconds", ep["stage_seconds"]},
                                  {"engine", r.transcript.engine},
                                  {"requested_genre", row->genre}});
}

std::vector<ClipRow> ClipRowsFromResult(const EpisodeResult& r, const std::string& files_dir) {
    const json doc = ResultToJson(r);
    std::vector<ClipRow> rows;
    const DbInt now = NowEpochMs();
    for (const auto& c : doc["clips"]) {
        ClipRow row;
        row.id = c["id"];
        row.episode_id = r.id;
        row.clip_rank = c["rank"];
        row.start_time = c["start"];
        row.end_time = c["end"];
        row.duration = c["duration"];
        row.score = c["score"];
        row.display_score = c["display_score"];
        row.confidence = c["confidence"];
        row.genre = c["genre"];
        row.platform = c["platform"];
        row.title = c["title"];
        row.text = c["text"];
        row.features = DumpJson(c["features"]);
        row.explanation = DumpJson(c["explanation"]);
        row.hashtags = DumpJson(c["hashtags"]);
        json files = json::object();
        for (const auto& [kind, name] : c["files"].items()) {
            files[kind] = name.is_string() ? json(files_dir + "/" + name.get<std::string>()) : json(nullptr);
        }
        row.file_path = DumpJson(files);
        row.created_at = now;
        rows.push_back(std::move(row));
    }
    return rows;
}

json ClipRowToJson(const ClipRow& c) {
    json files = json::object();
    const json stored = ParseOr(c.file_path, json::object());
    for (const char* kind : {"video", "audio", "thumbnail", "srt", "vtt", "post"}) {
        const bool made = stored.contains(kind) && stored[kind].is_string();
        files[kind] = made ? json(fmt::format("/api/v1/clips/{}/media/{}", c.id, kind)) : json(nullptr);
    }
    return {{"id", c.id},
            {"starred", c.starred != 0},
            {"expired", c.expired_at != 0},
            {"episode_id", c.episode_id},
            {"rank", c.clip_rank},
            {"start", c.start_time},
            {"end", c.end_time},
            {"duration", c.duration},
            {"score", c.score},
            {"display_score", c.display_score},
            {"confidence", c.confidence},
            {"platform", c.platform},
            {"genre", c.genre},
            {"title", c.title},
            {"hashtags", ParseOr(c.hashtags, json::array())},
            {"text", c.text},
            {"features", ParseOr(c.features, json::object())},
            {"explanation", ParseOr(c.explanation, json::array())},
            {"files", files}};
}

json EpisodeRowToJson(const EpisodeRow& e) {
    json j = {{"id", e.id},
              {"title", e.title},
              {"filename", e.filename},
              {"status", Name(e.status)},
              {"size_bytes", e.size_bytes},
              {"checksum", e.checksum},
              {"format", e.format},
              {"has_video", e.has_video != 0},
              {"archived", e.archived_at != 0},
              {"archived_at", e.archived_at != 0 ? json(e.archived_at) : json(nullptr)},
              {"render_options", ParseOr(e.render_options, json::object())},
              {"duration", e.duration > 0 ? json(e.duration) : json(nullptr)},
              {"genre", e.genre},
              {"detected_genre", e.detected_genre.empty() ? json(nullptr) : json(e.detected_genre)},
              {"platform", e.platform},
              {"clips_requested", e.clip_count},
              {"error", e.error.empty() ? json(nullptr) : json(e.error)},
              {"created_at", e.created_at},
              {"updated_at", e.updated_at}};
    const json analysis = ParseOr(e.analysis, json::object());
    for (const auto& [k, v] : analysis.items()) {
        if (k != "requested_genre") j[k] = v;
    }
    return j;
}

json JobVocabularyToPayload(const JobVocabulary& v) {
    json payload = json::object();
    if (v.show) payload["show"] = *v.show;
    if (v.terms) payload["terms"] = *v.terms;
    return payload;
}

JobVocabulary JobVocabularyOf(const JobRow& job) {
    JobVocabulary v;
    if (job.kind != JobKind::kProcess) return v;
    const json payload = ParseOr(job.payload, json::object());
    if (!payload.is_object()) return v;
    if (payload.contains("show") && payload["show"].is_string()) v.show = payload["show"].get<std::string>();
    if (payload.contains("terms") && payload["terms"].is_array()) {
        v.terms.emplace();
        for (const auto& t : payload["terms"]) {
            if (t.is_string()) v.terms->push_back(t.get<std::string>());
        }
    }
    return v;
}

json JobRowToJson(const JobRow& j) {
    const json payload = ParseOr(j.payload, json::object());
    const bool render = j.kind == JobKind::kRender && payload.contains("clip_id");
    // A process job's own vocabulary hint (null when the upload gave none: SHOW_NAME and ASR_TERMS apply).
    json vocabulary = nullptr;
    if (const JobVocabulary v = JobVocabularyOf(j); v.show || v.terms) {
        vocabulary = {{"show", v.show.value_or("")}, {"terms", v.terms.value_or(std::vector<std::string>{})}};
    }
    return {{"id", j.id},
            {"episode_id", j.episode_id},
            {"kind", Name(j.kind)},
            {"clip_id", render ? payload["clip_id"] : json(nullptr)},
            {"vocabulary", vocabulary},
            {"state", Name(j.state)},
            {"priority", PriorityName(j.priority)},
            {"stage", j.stage},
            {"progress", Round3(j.progress)},
            {"checkpoint", j.checkpoint == Checkpoint::kNone ? json(nullptr) : json(Name(j.checkpoint))},
            {"attempts", j.attempts},
            {"max_attempts", j.max_attempts},
            {"error", j.error.empty() ? json(nullptr) : json(j.error)},
            {"stage_ms", ParseOr(j.stage_ms, json::object())},
            {"cancel_requested", j.cancel_requested != 0},
            {"created_at", j.created_at},
            {"started_at", j.started_at > 0 ? json(j.started_at) : json(nullptr)},
            {"finished_at", j.finished_at > 0 ? json(j.finished_at) : json(nullptr)}};
}

Result<json> RescoreClips(const EpisodeRow& episode, const Transcript& transcript, const AudioFrames* frames,
                          const std::string& platform, const std::string& genre, int limit,
                          const std::vector<ClipRow>& stored) {
    auto p = PlatformByName(platform);
    if (!p.ok()) return p.status();
    EpisodeResult r;
    r.id = episode.id;
    r.title = episode.title;
    r.source = episode.filename;
    r.platform = *p;
    r.transcript = transcript;
    r.duration_ms = static_cast<Ms>(std::llround(episode.duration * 1000));
    PODPROMO_RETURN_IF_ERROR(ScoreEpisode(&r, frames, genre, limit));
    json clips = ResultToJson(r)["clips"];
    json out = json::array();
    for (auto& c : clips) {
        const double start = c["start"], end = c["end"];
        // A span not rendered before has no id (nothing stored to give feedback on) and no files yet.
        c["id"] = nullptr;
        json files = {{"video", nullptr}, {"audio", nullptr}, {"srt", nullptr}, {"vtt", nullptr}};
        for (const auto& s : stored) {
            if (std::fabs(s.start_time - start) < 0.001 && std::fabs(s.end_time - end) < 0.001) {
                c["id"] = s.id;
                files = ClipRowToJson(s)["files"];
            }
        }
        c["files"] = files;
        c["episode_id"] = episode.id;
        c.erase("scoring_path");
        out.push_back(c);
    }
    return out;
}

}  // namespace podpromo
