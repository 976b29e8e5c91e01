#include "podpromo/jobs/span_render.h"

#include <cmath>

#include "podpromo/files/atomic.h"
#include "podpromo/jobs/results.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"
#include "podpromo/scoring/platform.h"

namespace podpromo {
namespace fs = std::filesystem;
using nlohmann::json;

json SpanRequestToJson(const SpanRequest& r) {
    json j = {{"clip_id", r.clip_id},
              {"start_ms", r.start_ms},
              {"end_ms", r.end_ms},
              {"platform", r.platform},
              {"options", MediaOptionsToJson(r.media)}};
    if (r.replace) j["replace"] = true;
    if (!r.stem.empty()) j["stem"] = r.stem;
    return j;
}

Result<SpanRequest> SpanRequestFromJson(const json& p) {
    if (!p.is_object() || !p.contains("clip_id") || !p["clip_id"].is_string() || !p.contains("start_ms") ||
        !p["start_ms"].is_number_integer() || !p.contains("end_ms") || !p["end_ms"].is_number_integer() ||
        !p.contains("platform") || !p["platform"].is_string() || !p.contains("options")) {
        return Status::InvalidInput("the render job's payload is incomplete");
    }
    SpanRequest r;
    r.clip_id = p["clip_id"].get<std::string>();
    r.start_ms = p["start_ms"].get<Ms>();
    r.end_ms = p["end_ms"].get<Ms>();
    r.platform = p["platform"].get<std::string>();
    auto media = MediaOptionsFromJson(p["options"], r.platform);
    if (!media.ok()) return media.status();
    r.media = *media;
    r.replace = p.contains("replace") && p["replace"].is_boolean() && p["replace"].get<bool>();
    r.stem = p.contains("stem") && p["stem"].is_string() ? p["stem"].get<std::string>() : "";
    // A stem names files in the episode's folder: one plain name, never a path.
    if (r.stem.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
        std::string::npos) {
        return Status::InvalidInput("the render job's file stem is not a plain name");
    }
    return r;
}

Result<EpisodeResult> EpisodeForSpan(const EpisodeRow& episode, Transcript transcript, const std::string& platform) {
    auto p = PlatformByName(platform);
    if (!p.ok()) return p.status();
    EpisodeResult r;
    r.id = episode.id;
    r.title = episode.title;
    r.transcript = std::move(transcript);
    r.duration_ms = static_cast<Ms>(std::llround(episode.duration * 1000));
    r.genre = episode.genre == "auto" ? episode.detected_genre : episode.genre;
    r.platform = *p;
    r.chapters = EpisodeChapters(episode);
    return r;
}

std::optional<AudioFrames> LoadFrames(const Storage& storage, const std::string& episode_id) {
    auto bytes = ReadFileBytes(storage.EpisodeDir(episode_id) / "frames.bin", storage.fs());
    if (!bytes.ok()) return std::nullopt;
    auto frames = ParseFrames(*bytes);
    if (!frames.ok()) return std::nullopt;
    return std::move(*frames);
}

namespace {

// The episode's recording, probed, for drawing its clips.
Status AttachSource(const Storage& storage, const EpisodeRow& episode, EpisodeResult* r) {
    PODPROMO_ASSIGN_OR_RETURN(r->source, storage.Resolve(episode.audio_path));
    PODPROMO_ASSIGN_OR_RETURN(r->media, ProbeMedia(r->source));
    return Status::Ok();
}

}  // namespace

Result<std::string> SpanStill(const Storage& storage, const EpisodeRow& episode, Transcript transcript,
                              const SpanRequest& request) {
    PODPROMO_ASSIGN_OR_RETURN(EpisodeResult r, EpisodeForSpan(episode, std::move(transcript), request.platform));
    const std::optional<AudioFrames> frames = LoadFrames(storage, episode.id);
    PODPROMO_ASSIGN_OR_RETURN(const ScoredClip clip,
                              DescribeSpan(r, frames ? &*frames : nullptr, request.start_ms, request.end_ms));
    PODPROMO_RETURN_IF_ERROR(AttachSource(storage, episode, &r));
    MediaOptions media = request.media;
    AttachEpisodeImages(storage, episode, &media);
    PODPROMO_ASSIGN_OR_RETURN(const RenderRequest rq, RenderRequestFor(r, clip, media));
    // The moment the first words are on screen, a little into the first one.
    const Ms at = rq.words.empty() ? rq.start_ms + 500 : rq.words.front().start_ms + 150;
    return RenderStill(rq, at);
}

Result<ClipRow> RenderSpan(const Storage& storage, const EpisodeRow& episode, Transcript transcript,
                           const SpanRequest& request, const ProgressFn& progress, const CancelToken* cancel,
                           const SpanPublishFn& publish) {
    auto r = EpisodeForSpan(episode, std::move(transcript), request.platform);
    if (!r.ok()) return r.status();
    const std::optional<AudioFrames> frames = LoadFrames(storage, episode.id);
    auto clip = DescribeSpan(*r, frames ? &*frames : nullptr, request.start_ms, request.end_ms);
    if (!clip.ok()) return clip.status();
    PODPROMO_RETURN_IF_ERROR(AttachSource(storage, episode, &*r));
    const fs::path dir = storage.EpisodeDir(episode.id) / "out";
    std::error_code ec;
    fs::create_directories(dir, ec);
    // Staged first: another run of the same job (one whose lease passed on) writes the same names, and only the run
    // that stores the row may put them in place.
    auto staging = StagingDir::Create(dir, request.media.staging_prefix);
    if (!staging.ok()) return staging.status();
    Report(progress, Stage::kRender, 0);
    ClipFiles files;
    MediaOptions media = request.media;
    AttachEpisodeImages(storage, episode, &media);
    PODPROMO_RETURN_IF_ERROR(WriteClipFiles(*r, *clip, staging->path(),
                                            request.stem.empty() ? request.clip_id : request.stem, media, &files,
                                            cancel, storage.fs()));
    Report(progress, Stage::kRender, 1);
    r->clips = {*clip};
    r->files = {files};
    ClipRow row = ClipRowsFromResult(*r, fs::relative(dir, storage.root()).string()).at(0);
    row.id = request.clip_id;
    const auto move = [&]() -> Status {
        std::error_code gone;
        for (const auto& entry : fs::directory_iterator(staging->path(), gone)) {
            PODPROMO_RETURN_IF_ERROR(storage.fs()->Rename(entry.path(), dir / entry.path().filename()));
        }
        return Status::Ok();
    };
    PODPROMO_RETURN_IF_ERROR(publish ? publish(row, move) : move());
    return row;
}

void AttachEpisodeImages(const Storage& storage, const EpisodeRow& episode, MediaOptions* media) {
    const json options = json::parse(episode.render_options, nullptr, false);
    const auto file = [&](const char* key) -> std::optional<fs::path> {
        if (!options.is_object() || !options.contains(key) || !options[key].is_string()) return std::nullopt;
        auto path = storage.Resolve(options[key].get<std::string>());
        std::error_code ec;
        if (!path.ok() || !fs::is_regular_file(*path, ec)) return std::nullopt;
        return *path;
    };
    media->cover = file("cover");
    media->logo = file("logo");
}

void RemoveSpanFiles(const Storage& storage, const std::string& episode_id, const std::string& clip_id) {
    std::error_code ec;
    const fs::path dir = storage.EpisodeDir(episode_id) / "out";
    for (const char* ext : {".mp4", ".jpg", ".m4a", ".srt", ".vtt", ".txt"}) fs::remove(dir / (clip_id + ext), ec);
}

}  // namespace podpromo
