#include "podpromo/jobs/results.h"

#include <fmt/format.h>

#include <cmath>

#include "podpromo/core/clock.h"
#include "podpromo/core/utf8.h"
#include "podpromo/scoring/platform.h"

namespace podpromo {
using nlohmann::json;

namespace {

// The i-th chosen clip as its row.
ClipRow ClipRowOf(const EpisodeResult& r, size_t i, const std::string& files_dir, DbInt now) {
    const ScoredClip& c = r.clips[i];
    ClipRow row;
    row.id = fmt::format("{}_c{}", r.id, i + 1);
    row.episode_id = r.id;
    row.clip_rank = static_cast<int>(i + 1);
    row.start_time = Sec(c.candidate.start_ms);
    row.end_time = Sec(c.candidate.end_ms);
    row.duration = Sec(c.candidate.DurationMs());
    row.score = Round3(c.score);
    row.display_score = c.display_score;
    row.confidence = c.confidence;
    row.genre = r.genre;
    row.platform = r.platform.name;
    row.title = c.title;
    row.text = c.text;
    json features = json::object();
    for (const auto& [k, v] : c.features.values) features[k] = Round3(v);
    row.features = DumpJson(features);
    row.explanation = DumpJson(json(c.explanation));
    row.hashtags = DumpJson(json(c.hashtags));
    const ClipFiles f = i < r.files.size() ? r.files[i] : ClipFiles{};
    json files = json::object();
    for (const auto& [kind, name] :
         {std::pair{"video", f.video}, std::pair{"audio", f.audio}, std::pair{"thumbnail", f.thumbnail},
          std::pair{"post", f.post}, std::pair{"srt", f.srt}, std::pair{"vtt", f.vtt}}) {
        files[kind] = name.empty() ? json(nullptr) : json(fmt::format("{}/{}", files_dir, name));
    }
    row.file_path = DumpJson(files);
    row.created_at = now;
    return row;
}

}  // namespace

void FillEpisodeAnalysis(const EpisodeResult& r, EpisodeRow* row) {
    row->duration = Sec(r.duration_ms);
    row->genre = r.genre;
    row->detected_genre = r.detection.genre;
    json analysis = AnalysisSummaryJson(r);
    analysis["engine"] = r.transcript.engine;
    analysis["requested_genre"] = row->genre;
    row->analysis = DumpJson(analysis);
}

std::vector<ClipRow> ClipRowsFromResult(const EpisodeResult& r, const std::string& files_dir) {
    std::vector<ClipRow> rows;
    const DbInt now = NowEpochMs();
    for (size_t i = 0; i < r.clips.size(); ++i) rows.push_back(ClipRowOf(r, i, files_dir, now));
    return rows;
}

std::vector<Chapter> EpisodeChapters(const EpisodeRow& episode) {
    const json analysis = ParseJsonOr(episode.analysis, json::object());
    return analysis.is_object() && analysis.contains("chapters") ? ChaptersFromJson(analysis["chapters"])
                                                                 : std::vector<Chapter>{};
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
    const json payload = ParseJsonOr(job.payload, json::object());
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

Result<std::vector<ClipRow>> RescoreClips(const EpisodeRow& episode, const Transcript& transcript,
                                          const AudioFrames* frames, const std::string& platform,
                                          const std::string& genre, int limit, const std::vector<ClipRow>& stored) {
    auto p = PlatformByName(platform);
    if (!p.ok()) return p.status();
    EpisodeResult r;
    r.id = episode.id;
    r.title = episode.title;
    r.source = episode.filename;
    r.platform = *p;
    r.transcript = transcript;
    r.duration_ms = static_cast<Ms>(std::llround(episode.duration * 1000));
    r.chapters = EpisodeChapters(episode);
    PODPROMO_RETURN_IF_ERROR(ScoreEpisode(&r, frames, genre, limit));
    std::vector<ClipRow> rows = ClipRowsFromResult(r, "");
    for (ClipRow& row : rows) {
        // A span not rendered before has no id (nothing stored to give feedback on) and no files yet; one that
        // coincides with a stored clip is that clip.
        row.id.clear();
        row.file_path = "{}";
        for (const auto& s : stored) {
            if (std::fabs(s.start_time - row.start_time) < 0.001 && std::fabs(s.end_time - row.end_time) < 0.001) {
                row.id = s.id;
                row.file_path = s.file_path;
                row.starred = s.starred;
                row.expired_at = s.expired_at;
            }
        }
    }
    return rows;
}

}  // namespace podpromo
