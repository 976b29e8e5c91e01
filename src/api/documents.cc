#include "documents.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "podpromo/core/utf8.h"
#include "podpromo/jobs/results.h"
#include "podpromo/scoring/platform.h"

namespace podpromo::http {
using nlohmann::json;

namespace {

// What the clip's files say, as a short stamp (FNV-1a of its words and title): a clip rendered again after a word fix
// gets new file URLs, so a browser does not show the copy it cached (the files are cached for a minute).
std::string FilesStamp(const ClipRow& c) {
    uint64_t h = 14695981039346656037ULL;
    for (const std::string* s : {&c.text, &c.title, &c.file_path}) {
        for (const unsigned char ch : *s) h = (h ^ ch) * 1099511628211ULL;
    }
    return fmt::format("{:08x}", static_cast<uint32_t>(h ^ (h >> 32)));
}

}  // namespace

// The clip's post text for every platform (scoring/platform.h's PostTextFor), with each one's limit.
json PostTexts(const ClipRow& c) {
    std::vector<std::string> tags;
    for (const auto& t : ParseJsonOr(c.hashtags, json::array())) {
        if (t.is_string()) tags.push_back(t.get<std::string>());
    }
    json out = json::object();
    for (const auto& p : AllPlatforms()) {
        const PostText post = PostTextFor(p, c.title, c.text, tags);
        out[p.name] = {{"text", post.text}, {"limit", post.limit}};
    }
    return out;
}

json ClipRowToJson(const ClipRow& c) {
    json files = json::object();
    const json stored = ParseJsonOr(c.file_path, json::object());
    const std::string stamp = FilesStamp(c);
    for (const char* kind : {"video", "audio", "thumbnail", "srt", "vtt", "post"}) {
        const bool made = stored.contains(kind) && stored[kind].is_string();
        files[kind] = made ? json(fmt::format("/api/v1/clips/{}/media/{}?v={}", c.id, kind, stamp)) : json(nullptr);
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
            {"confidence", Name(c.confidence)},
            {"platform", c.platform},
            {"genre", c.genre},
            {"title", c.title},
            {"hashtags", ParseJsonOr(c.hashtags, json::array())},
            {"text", c.text},
            {"features", ParseJsonOr(c.features, json::object())},
            {"explanation", ParseJsonOr(c.explanation, json::array())},
            {"files", files},
            {"posts", PostTexts(c)}};
}

namespace {

// Seconds to the millisecond, without trailing zeros: 12.5, 31.25, 60.
std::string Seconds(double s) {
    std::string out = fmt::format("{:.3f}", std::max(0.0, s));
    out.erase(out.find_last_not_of('0') + 1);
    if (out.back() == '.') out.pop_back();
    return out;
}

}  // namespace

std::string SoundbiteXml(const ClipRow& c) {
    return fmt::format(R"(<podcast:soundbite startTime="{}" duration="{}">{}</podcast:soundbite>)",
                       Seconds(c.start_time), Seconds(c.end_time - c.start_time),
                       EscapeXml(TruncateUtf8(c.title, 128)));
}

json SoundbitesToJson(const std::vector<ClipRow>& clips) {
    json list = json::array();
    std::string all;
    for (const ClipRow& c : clips) {
        const std::string xml = SoundbiteXml(c);
        list.push_back({{"clip_id", c.id},
                        {"start", c.start_time},
                        {"duration", c.end_time - c.start_time},
                        {"title", c.title},
                        {"xml", xml}});
        all += xml + "\n";
    }
    return {{"soundbites", list}, {"xml", all}};
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
              {"render_options", ParseJsonOr(e.render_options, json::object())},
              {"duration", e.duration > 0 ? json(e.duration) : json(nullptr)},
              {"genre", e.genre},
              {"detected_genre", e.detected_genre.empty() ? json(nullptr) : json(e.detected_genre)},
              {"platform", e.platform},
              {"clips_requested", e.clip_count},
              {"error", e.error.empty() ? json(nullptr) : json(e.error)},
              {"created_at", e.created_at},
              {"updated_at", e.updated_at}};
    const json analysis = ParseJsonOr(e.analysis, json::object());
    for (const auto& [k, v] : analysis.items()) {
        if (k != "requested_genre") j[k] = v;
    }
    return j;
}

json JobRowToJson(const JobRow& j) {
    const json payload = ParseJsonOr(j.payload, json::object());
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
            {"stage_ms", ParseJsonOr(j.stage_ms, json::object())},
            {"cancel_requested", j.cancel_requested != 0},
            {"created_at", j.created_at},
            {"started_at", j.started_at > 0 ? json(j.started_at) : json(nullptr)},
            {"finished_at", j.finished_at > 0 ? json(j.finished_at) : json(nullptr)}};
}

json RescoredClipToJson(const ClipRow& clip) {
    json j = ClipRowToJson(clip);
    if (clip.id.empty()) j["id"] = nullptr;
    return j;
}

json ShowRowToJson(const ShowRow& s) {
    return {{"id", s.id},
            {"feed_url", s.feed_url},
            {"title", s.title},
            {"image_url", s.image_url.empty() ? json(nullptr) : json(s.image_url)},
            {"auto_process", s.auto_process != 0},
            {"poll_every_seconds", s.poll_every_ms / 1000},
            {"last_polled_at", s.last_polled_at != 0 ? json(s.last_polled_at) : json(nullptr)},
            {"next_poll_at", s.next_poll_at},
            {"last_status", s.last_status},
            {"last_error", s.last_error.empty() ? json(nullptr) : json(s.last_error)},
            {"persons", ParseJsonOr(s.persons, json::array())},
            {"settings", ParseJsonOr(s.settings, json::object())},
            {"created_at", s.created_at}};
}

json FeedItemRowToJson(const FeedItemRow& i) {
    return {{"guid", i.guid},
            {"title", i.title},
            {"published_at", i.published_at != 0 ? json(i.published_at) : json(nullptr)},
            {"duration", i.duration > 0 ? json(i.duration) : json(nullptr)},
            {"enclosure_url", i.enclosure_url.empty() ? json(nullptr) : json(i.enclosure_url)},
            {"enclosure_type", i.enclosure_type},
            {"transcript_url", i.transcript_url.empty() ? json(nullptr) : json(i.transcript_url)},
            {"chapters_url", i.chapters_url.empty() ? json(nullptr) : json(i.chapters_url)},
            {"persons", ParseJsonOr(i.persons, json::array())},
            {"episode_id", i.episode_id.empty() ? json(nullptr) : json(i.episode_id)},
            {"first_seen_at", i.first_seen_at},
            {"waiting", i.auto_pending != 0 && i.episode_id.empty()}};
}

}  // namespace podpromo::http
