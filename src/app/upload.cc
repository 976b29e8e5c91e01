// AcceptUpload: an upload stored in tmp/ becomes an episode with its process job, or is refused with its
// reason, leaving nothing behind.
#include <fmt/format.h>

#include <utility>

#include "podpromo/app/app.h"
#include "podpromo/asr/vocabulary.h"
#include "podpromo/core/secrets.h"
#include "podpromo/core/utf8.h"
#include "podpromo/jobs/results.h"
#include "podpromo/media/decode.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"
#include "podpromo/monitor/log.h"
#include "podpromo/scoring/platform.h"
#include "upload_options.h"

namespace podpromo {

namespace fs = std::filesystem;

namespace {

std::string Field(const std::map<std::string, std::string>& fields, const char* name, const std::string& fallback) {
    const auto it = fields.find(name);
    return it == fields.end() || it->second.empty() ? fallback : it->second;
}

// A media error named by the client's file name: probe and decode name the temporary file ("upload-XXXXXX:
// reason"), so that part is replaced.
std::string UploadReason(const std::string& safe_name, const Status& st) {
    std::string why = st.message();
    const auto colon = why.find(": ");
    if (colon != std::string::npos) why = why.substr(colon + 2);
    return safe_name + ": " + why;
}

}  // namespace

Result<UploadOptions> ParseUploadOptions(const std::map<std::string, std::string>& fields) {
    // Every text field is UTF-8 (it is stored, logged and sent back as JSON).
    for (const auto& [name, value] : fields) {
        if (!IsValidUtf8(value)) return Status::InvalidInput("the field '" + name + "' is not UTF-8 text");
    }
    UploadOptions o;
    o.pipeline.genre = Field(fields, "genre", "auto");
    o.pipeline.platform = Field(fields, "platform", "tiktok");
    if (const std::string clips = Field(fields, "clips", ""); !clips.empty()) {
        const auto n = ParseInt(clips);
        o.pipeline.clips = n && *n > 0 && *n <= 1000 ? static_cast<int>(*n) : -1;
    }
    PODPROMO_RETURN_IF_ERROR(ValidateOptions(o.pipeline));
    o.priority = PriorityFromName(Field(fields, "priority", ""));
    if (o.priority < 0) return Status::InvalidInput("priority must be high, normal or low");
    nlohmann::json render = nlohmann::json::object();
    for (const char* k : kRenderOptionKeys) {
        if (const std::string v = Field(fields, k, ""); !v.empty()) render[k] = v;
    }
    PODPROMO_ASSIGN_OR_RETURN(o.media, MediaOptionsFromJson(render, o.pipeline.platform));
    return o;
}

namespace {

// The vocabulary hint of this upload (the worker falls back to SHOW_NAME and ASR_TERMS).
std::string VocabularyPayload(const std::map<std::string, std::string>& fields) {
    JobVocabulary vocabulary;
    if (const std::string show = Field(fields, "show", ""); !show.empty()) vocabulary.show = TruncateUtf8(show, 200);
    if (auto terms = ParseTerms(Field(fields, "terms", "")); !terms.empty()) vocabulary.terms = std::move(terms);
    return DumpJson(JobVocabularyToPayload(vocabulary));
}

}  // namespace

Status App::CheckPicture(UploadFile* picture, const std::string& what,
                         Status (*normalize)(const fs::path&, const CancelToken*)) {
    if (!picture) return Status::Ok();
    PODPROMO_RETURN_IF_ERROR(picture->Finish());
    if (auto image = ProbeImage(picture->path()); !image.ok()) {
        return Status::Unsupported(what + ": " + image.status().message()).WithSlug("unsupported_media");
    }
    // Once, here: every render then reads a small picture of known shape, not what was sent.
    if (Status norm = normalize(picture->path(), nullptr); !norm.ok()) {
        if (norm.code() != StatusCode::kInvalidInput) return norm;
        return Status::Unsupported(what + ": " + norm.message()).WithSlug("unsupported_media");
    }
    return Status::Ok();
}

// Everything about the upload that can be refused, checked before anything is stored; the rows it becomes.
Result<AcceptedUpload> App::CheckUpload(UploadRequest& upload) {
    PODPROMO_RETURN_IF_ERROR(upload.file->Finish());
    PODPROMO_ASSIGN_OR_RETURN(UploadOptions options, ParseUploadOptions(upload.fields));
    PODPROMO_RETURN_IF_ERROR(CheckPicture(upload.cover.get(), "the cover", NormalizeImage));
    const std::string safe_name = SanitizeFileName(upload.filename.empty() ? "episode" : upload.filename);
    const fs::path& path = upload.file->path();
    auto info = ProbeMedia(path);
    if (!info.ok()) return Status::Unsupported(UploadReason(safe_name, info.status())).WithSlug("unsupported_media");
    // Decoded once through (no PCM kept) so a corrupt, truncated, silent or too short file is refused now, with
    // its reason, instead of failing later as a job.
    auto check = CheckDecodable(path, *info, nullptr, Ms{limits_.max_episode_seconds} * 1000);
    if (!check.ok()) {
        return Status::Unsupported(UploadReason(safe_name, check.status())).WithSlug("unsupported_media");
    }
    if (!check->audible) {
        return Status::Unprocessable(safe_name + ": the audio is silent (no sound above -45 dBFS)")
            .WithSlug("unusable_media");
    }
    if (check->duration_ms < kMinClipMs) {
        return Status::Unprocessable(fmt::format("{}: the episode is {:.1f} s long; the shortest clip is {} s",
                                                 safe_name, static_cast<double>(check->duration_ms) / 1000.0,
                                                 kMinClipMs / 1000))
            .WithSlug("unusable_media");
    }
    AcceptedUpload rows;
    EpisodeRow& ep = rows.episode;
    ep.id = NewId("ep");
    ep.owner_id = upload.owner_id;
    const std::string title = Field(upload.fields, "title", "");
    ep.title = title.empty() ? fs::path(safe_name).stem().string() : TruncateUtf8(title, 200);
    ep.filename = safe_name;
    ep.audio_path = fs::relative(deps_.storage->UploadPath(ep.id, safe_name), deps_.storage->root()).string();
    ep.size_bytes = upload.file->size_bytes();
    ep.checksum = "sha256:" + upload.file->sha256_hex();
    ep.duration = static_cast<double>(check->duration_ms) / 1000.0;  // as decoded; the analysis sets it again
    ep.format = info->format;
    ep.has_video = info->has_video ? 1 : 0;
    ep.genre = options.pipeline.genre;
    ep.platform = options.pipeline.platform;
    ep.clip_count = options.pipeline.clips;
    nlohmann::json render_options = MediaOptionsToJson(options.media);
    if (upload.cover) {
        render_options["cover"] = fs::relative(deps_.storage->EpisodeDir(ep.id) / "cover", deps_.storage->root());
    }
    ep.render_options = DumpJson(render_options);
    ep.created_at = ep.updated_at = deps_.clock->NowMs();
    rows.job = NewJob(ep.id, JobKind::kProcess, options.priority, ep.created_at);
    rows.job.payload = VocabularyPayload(upload.fields);
    if (!upload.cover) {
        // Everything that makes the episode what it is; not the priority, which only says when.
        rows.upload_key = Sha256Hex(DumpJson({ep.owner_id, ep.checksum, ep.filename, ep.title, ep.genre, ep.platform,
                                              ep.clip_count, ep.render_options, rows.job.payload}));
    }
    return rows;
}

// Moves the files into place and releases the job held for them.
Status App::StoreUpload(UploadRequest& upload, const AcceptedUpload& rows) {
    const std::string& id = rows.episode.id;
    PODPROMO_RETURN_IF_ERROR(upload.file->Commit(deps_.storage->UploadPath(id, rows.episode.filename)));
    if (upload.cover) PODPROMO_RETURN_IF_ERROR(upload.cover->Commit(deps_.storage->EpisodeDir(id) / "cover"));
    return deps_.db->InTransaction(
        [&](Tx& tx) { RequeueJob(tx, rows.job.id, "", rows.job.created_at, /*count_attempt=*/true); });
}

Result<AcceptedUpload> App::RepeatedUpload(const std::string& episode_id) {
    AcceptedUpload out;
    out.repeated = true;
    bool found = false;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        auto episode = podpromo::GetEpisode(tx, episode_id);
        auto job = LatestJobForEpisode(tx, episode_id);
        found = episode && job;
        if (found) out.episode = std::move(*episode), out.job = std::move(*job);
    }));
    if (!found) return Status::Unavailable("the upload this one repeats was removed meanwhile; send it again");
    Log(LogLevel::kInfo, "a re-sent upload is the upload it repeats", {{"episode_id", episode_id}});
    return out;
}

Result<AcceptedUpload> App::AcceptUpload(UploadRequest upload) {
    PODPROMO_ASSIGN_OR_RETURN(AcceptedUpload rows, CheckUpload(upload));
    // The rows come first, with the job held back until the file is in place: cleanup never finds a stored upload
    // without its row, and no worker takes the job before its file exists. (A crash in between leaves a job that
    // fails, once its hold ends, for want of its file.)
    constexpr Ms kHoldMs = 10 * 60 * 1000;
    constexpr Ms kRepeatWithinMs = 24LL * 3600 * 1000;
    JobRow held = rows.job;
    held.run_after = rows.job.created_at + kHoldMs;
    Status room;
    std::optional<std::string> repeats;
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) {
        // (Serializable: two copies sent at once to two instances make one episode.)
        repeats = rows.upload_key.empty() ? std::nullopt
                                          : EpisodeWithUploadKey(tx, rows.episode.owner_id, rows.upload_key,
                                                                 rows.episode.created_at - kRepeatWithinMs);
        if (repeats) return;
        room = RoomIn(tx, rows.episode.owner_id, {rows.episode.size_bytes, rows.episode.duration});
        if (!room.ok()) return;
        InsertEpisode(tx, rows.episode);  // the episode before its job
        SetUploadKey(tx, rows.episode.id, rows.upload_key);
        InsertJob(tx, held);
    }));
    if (repeats) return RepeatedUpload(*repeats);  // the new copy's file goes with `upload`
    PODPROMO_RETURN_IF_ERROR(room);
    const std::string& id = rows.episode.id;
    // Announced before the job is released, so no worker can report it running before it is queued.
    deps_.events->Publish(JobEvent(rows.job.id, id, "queued", "queued", 0, ""));
    if (Status stored = StoreUpload(upload, rows); !stored.ok()) {
        deps_.events->Publish(JobEvent(rows.job.id, id, "failed", "failed", 0, "the upload could not be stored"));
        LogIfFailed(deps_.db->InTransaction([&](Tx& tx) { podpromo::DeleteEpisode(tx, id); }),
                    "removing the rows of an upload that could not be stored", {{"episode_id", id}});
        deps_.storage->RemoveEpisode(id);
        return stored;
    }
    rows.job.run_after = rows.job.created_at;
    if (deps_.wake) deps_.wake();
    return rows;
}

}  // namespace podpromo
