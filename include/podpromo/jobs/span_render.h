// A clip over a span a person chose: checked and queued by the API, rendered by a worker as a "render" job.
// Threads: the functions keep no state and may run beside each other. Errors as each says; RenderSpan leaves no
// file on failure.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/files/storage.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

struct SpanRequest {
    std::string clip_id;
    Ms start_ms = 0, end_ms = 0;
    std::string platform;
    MediaOptions media;
    // Renders an existing clip again (its words were fixed) instead of adding one: its files are written under `stem`
    // (the names they have; clip_id when empty) and its row is updated, keeping its rank, star and feedback.
    bool replace = false;
    std::string stem;
};

// The job payload. FromJson: InvalidInput when a field is missing or wrong.
nlohmann::json SpanRequestToJson(const SpanRequest& request);
Result<SpanRequest> SpanRequestFromJson(const nlohmann::json& payload);

// The stored episode as DescribeSpan wants it (id, title, transcript, duration, genre) for `platform`.
// InvalidInput for an unknown platform.
Result<EpisodeResult> EpisodeForSpan(const EpisodeRow& episode, Transcript transcript, const std::string& platform);

// The audio features a finished job kept for rescoring; nullopt when missing or unreadable (text only then).
std::optional<AudioFrames> LoadFrames(const Storage& storage, const std::string& episode_id);

// Stores a rendered span: `row` is its clip (its `clip_rank` for the caller to set), `move_into_place` puts its staged
// files beside the episode's clips (as PublishFn's).
using SpanPublishFn = std::function<Status(ClipRow& row, const std::function<Status()>& move_into_place)>;

// Scores the span and writes its files (video, thumbnail, audio, captions, post text), staged, then has `publish` store
// the row and move the files into place (at once when it is empty). Returns the row. Progress stage "render". On
// failure nothing staged is left (what `publish` moved before failing is its caller's to remove: RemoveSpanFiles).
Result<ClipRow> RenderSpan(const Storage& storage, const EpisodeRow& episode, Transcript transcript,
                           const SpanRequest& request, const ProgressFn& progress = {},
                           const CancelToken* cancel = nullptr, const SpanPublishFn& publish = {});

// A preview of the span as it would be rendered with `request`'s platform and media options, before any render: the
// frame its first words are spoken in, as a JPEG (media/render.h's RenderStill). The same refusals as RenderSpan's
// scoring; Unavailable without ffmpeg.
Result<std::string> SpanStill(const Storage& storage, const EpisodeRow& episode, Transcript transcript,
                              const SpanRequest& request);

// The episode's pictures, from its render options' storage keys: its cover ("cover") and its show's logo ("logo"),
// each left unset when the key is absent or its file is gone.
void AttachEpisodeImages(const Storage& storage, const EpisodeRow& episode, MediaOptions* media);

// Removes what RenderSpan wrote for `clip_id` (when storing its row failed).
void RemoveSpanFiles(const Storage& storage, const std::string& episode_id, const std::string& clip_id);

}  // namespace podpromo
