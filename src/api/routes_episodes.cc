#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http_common.h"
#include "podpromo/api/lean_server.h"
#include "podpromo/api/server.h"
#include "podpromo/asr/transcript_io.h"
#include "podpromo/core/utf8.h"
#include "podpromo/files/storage.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/jobs/results.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/media/decode.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"
#include "podpromo/monitor/log.h"
#include "podpromo/scoring/platform.h"
#include "podpromo/store/repositories.h"
#include "upload_body.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

// Uploads, episodes, their audio, peaks and transcript, and their clips (listed, rescored and re-cut).
// (Too long while the handlers hold their use cases: issue 17 moves those into app/.)
// NOLINTNEXTLINE(readability-function-size)
void ApiServer::EpisodeRoutes() {
    auto& svr = *server_;

    svr.Post("/api/v1/episodes", [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
        auto refuse = [&](int status, const std::string& code, const std::string& message) {
            metrics_->Increment("podpromo_uploads_total", {{"outcome", code}});
            SendError(res, status, code, message);
        };
        int64_t declared = -1;
        try {
            if (req.has_header("Content-Length")) declared = std::stoll(req.get_header_value("Content-Length"));
        } catch (...) {
            declared = -1;
        }
        // Refused before the body is stored: the body is dropped (see DrainBody), never written.
        auto refuse_early = [&](int status, const std::string& code, const std::string& message) {
            DrainBody(req, reader, declared < 0 ? kDrainBytes : declared);
            if (declared < 0 || declared > kDrainBytes) res.set_header("Connection", "close");
            refuse(status, code, message);
        };
        // Cheap refusals first, before a byte of the body is stored.
        DbInt queued = 0;
        if (Status st = db_->With([&](Tx& s) { queued = CountJobsInState(s, JobState::kQueued); });
            !st.ok()) {
            return SendStatus(res, st);
        }
        if (queued >= config_.max_queue_size) {
            res.set_header("Retry-After", "30");
            return refuse_early(503, "queue_full",
                                fmt::format("the queue is full ({} waiting); try again later", queued));
        }
        if (declared > config_.max_file_size_bytes + (req.is_multipart_form_data() ? 64 * 1024 : 0)) {
            return refuse_early(
                413, "too_large",
                fmt::format("the upload is {} bytes; the limit is {}", declared, config_.max_file_size_bytes));
        }
        // The room is held while the body streams (a body of unknown length holds it in steps as it comes), so
        // parallel uploads cannot each pass the check before any of them has written.
        constexpr int64_t kReserveStep = 64 * 1024 * 1024;
        auto reservation = storage_->Reserve(declared > 0 ? declared : kReserveStep);
        if (!reservation.ok()) return refuse_early(507, "insufficient_storage", reservation.status().message());

        auto file = UploadFile::Create(storage_->tmp_dir());
        if (!file.ok()) return SendStatus(res, file.status());
        // An optional "cover" part: the audiogram background image, streamed to tmp/ like the episode.
        std::unique_ptr<UploadFile> cover;
        Status cover_status;
        bool cover_too_large = false;
        Status write_status, room_status;
        bool too_large = false;
        int64_t dropped = 0;
        UploadSinks sinks;
        sinks.file = [&](const char* data, size_t len) {
            if (too_large || (*file)->size_bytes() + static_cast<int64_t>(len) > config_.max_file_size_bytes) {
                too_large = true;  // stop storing; keep reading (and dropping) a while so the client hears why
                dropped += static_cast<int64_t>(len);
                return dropped <= kDrainBytes;
            }
            const int64_t after = (*file)->size_bytes() + static_cast<int64_t>(len);
            if (after > reservation->bytes()) {
                room_status = reservation->Grow(std::max(kReserveStep, after - reservation->bytes()));
                if (!room_status.ok()) return false;
            }
            write_status = (*file)->Write(data, len);
            return write_status.ok();
        };
        sinks.open_cover = [&] {
            auto c = UploadFile::Create(storage_->tmp_dir());
            if (!c.ok()) {
                cover_status = c.status();
                return false;
            }
            cover = std::move(*c);
            return true;
        };
        sinks.cover = [&](const char* data, size_t len) {
            if (cover->size_bytes() + static_cast<int64_t>(len) > kMaxCoverBytes) {
                cover_too_large = true;
                return false;
            }
            cover_status = cover->Write(data, len);
            return cover_status.ok();
        };
        UploadBody body = ReadUploadBody(req, reader, sinks);
        std::map<std::string, std::string>& fields = body.fields;
        for (const char* k : {"genre", "platform", "title", "show", "terms", "priority", "clips", "aspect", "style",
                              "font", "color", "highlight", "size"}) {
            if (req.has_param(k) && !fields.count(k)) fields[k] = req.get_param_value(k);
        }
        std::string filename = req.get_header_value("X-Filename");
        if (filename.empty()) filename = body.filename;
        const bool read_ok = body.read_whole, got_file = body.got_file;
        if (too_large) {
            if (dropped > kDrainBytes) res.set_header("Connection", "close");
            return refuse(413, "too_large",
                          fmt::format("the upload is larger than {} bytes", config_.max_file_size_bytes));
        }
        if (cover_too_large) {
            return refuse(413, "too_large", fmt::format("the cover image is larger than {} bytes", kMaxCoverBytes));
        }
        if (!cover_status.ok()) return SendStatus(res, cover_status);
        if (!room_status.ok()) {
            res.set_header("Connection", "close");
            return refuse(507, "insufficient_storage", room_status.message());
        }
        if (!write_status.ok()) {
            if (write_status.code() == StatusCode::kNoSpace) {
                storage_->NoteNoSpace();
                return refuse(507, "insufficient_storage", "the disk is full");
            }
            return SendStatus(res, write_status);
        }
        if (!read_ok) return refuse(400, "bad_upload", "the upload was interrupted or malformed");
        if (!got_file || (*file)->size_bytes() == 0) {
            return refuse(400, "no_file", "send the episode as multipart field 'file' or as the raw body");
        }
        if (Status fin = (*file)->Finish(); !fin.ok()) return SendStatus(res, fin);

        // Options, checked before anything is stored. Every text field is UTF-8 (it is stored, logged and sent
        // back as JSON), and long ones are cut on code points.
        for (const auto& [name, value] : fields) {
            if (!IsValidUtf8(value)) return refuse(400, "invalid_input", "the field '" + name + "' is not UTF-8 text");
        }
        PipelineOptions options;
        options.genre = fields.count("genre") && !fields["genre"].empty() ? fields["genre"] : "auto";
        options.platform = fields.count("platform") && !fields["platform"].empty() ? fields["platform"] : "tiktok";
        if (fields.count("clips") && !fields["clips"].empty()) {
            try {
                options.clips = std::stoi(fields["clips"]);
            } catch (...) {
                options.clips = -1;
            }
        }
        if (Status v = ValidateOptions(options); !v.ok()) return refuse(400, "invalid_input", v.message());
        const int priority = PriorityFromName(fields.count("priority") ? fields["priority"] : "");
        if (priority < 0) return refuse(400, "invalid_input", "priority must be high, normal or low");
        json render_fields = json::object();
        for (const char* k : {"aspect", "style", "font", "color", "highlight", "size"}) {
            if (fields.count(k) && !fields[k].empty()) render_fields[k] = fields[k];
        }
        auto media = MediaOptionsFromJson(render_fields, options.platform);
        if (!media.ok()) return refuse(400, "invalid_input", media.status().message());
        if (cover) {
            if (Status fin = cover->Finish(); !fin.ok()) return SendStatus(res, fin);
            if (auto image = ProbeImage(cover->path()); !image.ok()) {
                return refuse(415, "unsupported_media", "the cover: " + image.status().message());
            }
            // Once, here: every render then reads a small JPEG of known shape, not what was sent.
            if (Status norm = NormalizeImage(cover->path()); !norm.ok()) {
                if (norm.code() != StatusCode::kInvalidInput) return SendStatus(res, norm);
                return refuse(415, "unsupported_media", "the cover: " + norm.message());
            }
        }

        const std::string safe_name = SanitizeFileName(filename.empty() ? "episode" : filename);
        auto info = ProbeMedia((*file)->path());
        if (!info.ok()) return refuse(415, "unsupported_media", UploadReason(safe_name, info.status()));
        // Decoded once through (no PCM kept) so a corrupt, truncated, silent or too short file is refused now,
        // with its reason, instead of failing later as a job.
        auto check = CheckDecodable((*file)->path(), *info, nullptr, Ms{config_.max_episode_seconds} * 1000);
        if (!check.ok()) return refuse(415, "unsupported_media", UploadReason(safe_name, check.status()));
        if (!check->audible) {
            return refuse(422, "unusable_media", safe_name + ": the audio is silent (no sound above -45 dBFS)");
        }
        if (check->duration_ms < kMinClipMs) {
            return refuse(422, "unusable_media",
                          fmt::format("{}: the episode is {:.1f} s long; the shortest clip is {} s", safe_name,
                                      static_cast<double>(check->duration_ms) / 1000.0, kMinClipMs / 1000));
        }
        // (The upload's room was held while it streamed; it is given back once the file is stored, below, where
        // the file itself counts.)

        EpisodeRow ep;
        ep.id = NewId("ep");
        ep.title = fields.count("title") && !fields["title"].empty() ? TruncateUtf8(fields["title"], 200)
                                                                     : fs::path(safe_name).stem().string();
        ep.filename = safe_name;
        const fs::path dest = storage_->UploadPath(ep.id, safe_name);
        ep.audio_path = fs::relative(dest, storage_->root()).string();
        ep.size_bytes = (*file)->size_bytes();
        ep.checksum = "sha256:" + (*file)->sha256_hex();
        ep.format = info->format;
        ep.has_video = info->has_video ? 1 : 0;
        ep.status = EpisodeStatus::kQueued;
        ep.genre = options.genre;
        ep.platform = options.platform;
        ep.clip_count = options.clips;
        json render_options = MediaOptionsToJson(*media);
        const fs::path cover_dest = storage_->EpisodeDir(ep.id) / "cover";
        if (cover) render_options["cover"] = fs::relative(cover_dest, storage_->root()).string();
        ep.render_options = DumpJson(render_options);
        ep.created_at = ep.updated_at = NowEpochMs();
        JobRow job;
        job.id = NewId("job");
        job.episode_id = ep.id;
        job.priority = priority;
        job.max_attempts = config_.job_max_attempts;
        job.created_at = ep.created_at;
        {
            // The vocabulary hint of this upload (the worker falls back to SHOW_NAME and ASR_TERMS).
            JobVocabulary vocabulary;
            if (fields.count("show") && !fields["show"].empty()) vocabulary.show = TruncateUtf8(fields["show"], 200);
            if (auto terms = ParseTerms(fields.count("terms") ? fields["terms"] : ""); !terms.empty()) {
                vocabulary.terms = std::move(terms);
            }
            job.payload = DumpJson(JobVocabularyToPayload(vocabulary));
        }
        // The rows come first, with the job held back until the file is in place: cleanup never finds a stored
        // upload without its row, and no worker takes the job before its file exists. (A crash in between leaves
        // a job that fails, once its hold ends, for want of its file.)
        constexpr Ms kHoldMs = 10 * 60 * 1000;
        job.run_after = ep.created_at + kHoldMs;
        bool full = false;
        const Status inserted = db_->InTransaction([&](Tx& s) {
            full = CountJobsInState(s, JobState::kQueued) >= config_.max_queue_size;
            if (full) return;
            InsertEpisode(s, ep);
            InsertJob(s, job);
        });
        if (!inserted.ok()) return SendStatus(res, inserted);
        if (full) {
            res.set_header("Retry-After", "30");
            return refuse(503, "queue_full", "the queue is full; try again later");
        }
        // Announced before the job is released, so no worker can report it running before it is queued.
        events_->Publish(JobEvent(job.id, ep.id, "queued", "queued", 0, ""));
        Status stored = (*file)->Commit(dest);
        if (stored.ok() && cover) stored = cover->Commit(cover_dest);
        job.run_after = ep.created_at;
        if (stored.ok()) {
            stored = db_->InTransaction(
                [&](Tx& s) { RequeueJob(s, job.id, "", job.run_after, /*count_attempt=*/true); });
        }
        if (!stored.ok()) {
            events_->Publish(JobEvent(job.id, ep.id, "failed", "failed", 0, "the upload could not be stored"));
            LogIfFailed(db_->InTransaction([&](Tx& s) { DeleteEpisode(s, ep.id); }),
                        "removing the rows of an upload that could not be stored", {{"episode_id", ep.id}});
            storage_->RemoveEpisode(ep.id);
            return SendStatus(res, stored);
        }
        metrics_->Increment("podpromo_uploads_total", {{"outcome", "accepted"}});
        metrics_->Increment("podpromo_upload_bytes_total", {}, static_cast<double>(ep.size_bytes));
        workers_->Wake();
        res.set_header("Location", "/api/v1/episodes/" + ep.id);
        SendJson(res, 202, {{"episode", EpisodeRowToJson(ep)}, {"job", JobRowToJson(job)}});
    });

    svr.Get("/api/v1/episodes", [this](const Request& req, Response& res) {
        const int limit = IntParam(req, "limit", 20, 1, 100);
        const int offset = IntParam(req, "offset", 0, 0, 1 << 30);
        const uint64_t version = db_->write_version();
        const auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard<std::mutex> lock(list_mu_);
            if (list_version_ != version || now - list_at_ > std::chrono::seconds(1)) {
                list_cache_.clear();
                list_version_ = version;
                list_at_ = now;
            }
            const auto it = list_cache_.find({limit, offset});
            if (it != list_cache_.end()) return res.set_content(it->second, "application/json");
        }
        std::vector<EpisodeRow> rows;
        DbInt total = 0;
        const Status st = db_->With([&](Tx& s) {
            rows = ListEpisodes(s, limit, offset);
            total = CountEpisodes(s);
        });
        if (!st.ok()) return SendStatus(res, st);
        json items = json::array();
        for (const auto& e : rows) items.push_back(EpisodeRowToJson(e));
        std::string body = DumpJson(json{{"items", items}, {"total", total}, {"limit", limit}, {"offset", offset}});
        {
            std::lock_guard<std::mutex> lock(list_mu_);
            if (list_version_ == version && list_cache_.size() < 256) list_cache_[{limit, offset}] = body;
        }
        res.set_content(body, "application/json");
    });

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        EpisodeBundle b;
        if (!FindEpisode(db_, id, &b, res)) return;
        const auto& [ep, job, transcript, clips] = b;
        json clip_list = json::array();
        for (const auto& c : clips) clip_list.push_back(ClipRowToJson(c));
        SendJson(res, 200,
                 {{"episode", EpisodeRowToJson(*ep)},
                  {"job", job ? JobRowToJson(*job) : json(nullptr)},
                  {"transcript", transcript ? TranscriptToJson(*transcript) : json(nullptr)},
                  {"clips", clip_list}});
    });

    svr.Delete(R"(/api/v1/episodes/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        EpisodeBundle b;
        if (!FindEpisode(db_, id, &b, res, /*content=*/false)) return;
        // A running job (processing it, or rendering one of its clips) is asked to stop first. The check and the
        // delete are one transaction, so no worker can take one of its queued jobs in between (a claim that
        // commits first makes this transaction retry and see the job running).
        std::vector<std::string> running;
        const Status st = db_->InTransaction([&](Tx& s) {
            running = RunningJobsForEpisode(s, id);
            for (const auto& job_id : running) RequestCancel(s, job_id, NowEpochMs());
            if (running.empty()) DeleteEpisode(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!running.empty()) {
            return SendError(res, 409, "busy",
                             "the episode is being processed; its job was asked to stop, retry shortly");
        }
        storage_->RemoveEpisode(id);
        res.status = 204;
    });

    // The episode's own recording (or its archived Opus copy), for the browser's player; Range supported.
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/audio)", [this](const Request& req, Response& res) {
        EpisodeBundle b;
        if (!FindEpisode(db_, req.matches[1], &b, res, /*content=*/false)) return;
        auto path = storage_->Resolve(b.episode->audio_path);
        std::error_code ec;
        if (!path.ok() || !fs::is_regular_file(*path, ec)) {
            return SendError(res, 404, "not_found", "the episode's recording is missing");
        }
        const std::string ext = path->extension().string();
        const std::string type = ext == ".opus"                    ? "audio/ogg"
                                 : ext == ".mp3"                   ? "audio/mpeg"
                                 : ext == ".wav"                   ? "audio/wav"
                                 : ext == ".m4a" || ext == ".aac"  ? "audio/mp4"
                                 : ext == ".flac"                  ? "audio/flac"
                                 : ext == ".ogg"                   ? "audio/ogg"
                                 : ext == ".webm" || ext == ".mkv" ? "video/webm"
                                 : ext == ".mov"                   ? "video/quicktime"
                                                                   : "video/mp4";
        SendFile(req, res, *path, type, "private, max-age=3600", b.episode->filename);
    });

    // The episode's loudness envelope for drawing its waveform without decoding it in the browser:
    // {"duration": s, "peaks": [n values in 0..1]} from the stored audio features (10 ms frames).
    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/peaks)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        EpisodeBundle b;
        if (!FindEpisode(db_, id, &b, res, /*content=*/false)) return;
        const std::optional<AudioFrames> frames = LoadFrames(*storage_, id);
        if (!frames || frames->size() == 0) {
            return SendError(res, 409, "not_ready", "the episode has not been analysed yet");
        }
        const int n = IntParam(req, "n", 1000, 10, 20000);
        json peaks = json::array();
        const size_t total = frames->size();
        for (int i = 0; i < n; ++i) {
            const size_t from = total * static_cast<size_t>(i) / static_cast<size_t>(n);
            const size_t to = std::max(from + 1, total * static_cast<size_t>(i + 1) / static_cast<size_t>(n));
            float loudest = -100;
            for (size_t f = from; f < to && f < total; ++f) loudest = std::max(loudest, frames->db[f]);
            // -60 dBFS and below draw as silence; 0 dBFS as full height.
            peaks.push_back(std::round(std::clamp((loudest + 60.0) / 60.0, 0.0, 1.0) * 1000) / 1000);
        }
        res.set_header("Cache-Control", "private, max-age=3600");
        SendJson(res, 200, {{"duration", static_cast<double>(frames->DurationMs()) / 1000.0}, {"peaks", peaks}});
    });

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/transcript)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        std::optional<EpisodeRow> ep;
        std::optional<Transcript> t;
        const Status st = db_->With([&](Tx& s) {
            ep = GetEpisode(s, id);
            if (ep) t = LoadTranscript(s, id);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (!ep) return SendError(res, 404, "not_found", "no episode " + id);
        if (!t)
            return SendError(res, 404, "not_ready",
                             "the episode has no transcript yet (status " + std::string(Name(ep->status)) + ")");
        const std::string format = Param(req, "format", "json");
        if (format == "json") return SendJson(res, 200, TranscriptToJson(*t));
        const auto cues = CuesFromWords(t->AllWords());
        if (format == "srt") return res.set_content(FormatSrt(cues), "application/x-subrip; charset=utf-8");
        if (format == "vtt") return res.set_content(FormatVtt(cues), "text/vtt; charset=utf-8");
        SendError(res, 400, "invalid_input", "format must be json, srt or vtt");
    });

    svr.Put(R"(/api/v1/episodes/([A-Za-z0-9_]+)/transcript)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        if (req.body.size() > 50 * 1024 * 1024)
            return SendError(res, 413, "too_large", "transcripts are at most 50 MB");
        auto t = ParseTranscript(req.body);
        if (!t.ok()) return SendError(res, 400, "invalid_transcript", t.status().message());
        EpisodeBundle b;
        if (!FindEpisode(db_, id, &b, res, /*content=*/false)) return;
        const auto& job = b.job;
        if (job && (!IsFinal(job->state))) {
            return SendError(res, 409, "busy", "the episode is being processed; import after it ends or cancel it");
        }
        // The imported transcript replaces the old one and the episode is scored and rendered again.
        JobRow next;
        next.id = NewId("job");
        next.episode_id = id;
        next.priority = 2;
        next.checkpoint = Checkpoint::kTranscribed;
        next.max_attempts = config_.job_max_attempts;
        next.created_at = NowEpochMs();
        const Status st = db_->InTransaction([&](Tx& s) {
            ReplaceTranscript(s, id, *t);
            InsertJob(s, next);
            SetEpisodeStatus(s, id, EpisodeStatus::kQueued, "");
        });
        if (!st.ok()) return SendStatus(res, st);
        workers_->Wake();
        SendJson(res, 202, {{"job", JobRowToJson(next)}, {"words", t->WordCount()}});
    });

    svr.Get(R"(/api/v1/episodes/([A-Za-z0-9_]+)/clips)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        EpisodeBundle b;
        if (!FindEpisode(db_, id, &b, res)) return;
        const auto& ep = b.episode;
        const auto& t = b.transcript;
        const auto& stored = b.clips;
        const std::string platform = Param(req, "platform", ep->platform);
        const std::string genre = Param(req, "genre", ep->genre);
        const int limit = IntParam(req, "limit", ep->clip_count, 1, 50);
        const bool same = platform == ep->platform && genre == ep->genre && limit == ep->clip_count;
        if (same || !t) {
            if (!t && !same) {
                return SendError(res, 409, "not_ready",
                                 "the episode has no transcript yet (status " + std::string(Name(ep->status)) + ")");
            }
            json items = json::array();
            for (const auto& c : stored) items.push_back(ClipRowToJson(c));
            return SendJson(res, 200,
                            {{"items", items}, {"platform", platform}, {"genre", genre}, {"rescored", false}});
        }
        const auto started = std::chrono::steady_clock::now();
        const std::optional<AudioFrames> frames = LoadFrames(*storage_, id);
        auto clips = RescoreClips(*ep, *t, frames ? &*frames : nullptr, platform, genre, limit, stored);
        if (!clips.ok()) return SendStatus(res, clips.status());
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        SendJson(res, 200,
                 {{"items", *clips},
                  {"platform", platform},
                  {"genre", genre},
                  {"rescored", true},
                  {"rescore_ms", std::round(ms * 10) / 10}});
    });

    // A clip over a span the user chose: scored and explained at once (a bad span is refused here), then
    // rendered with the chosen frame and caption style by a worker as a high-priority "render" job; the clip
    // exists at /api/v1/clips/{clip_id} when the job succeeds.
    svr.Post(R"(/api/v1/episodes/([A-Za-z0-9_]+)/clips)", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        const json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("start") || !body.contains("end") ||
            !body["start"].is_number() || !body["end"].is_number()) {
            return SendError(res, 400, "invalid_input", "send {\"start\": seconds, \"end\": seconds}");
        }
        for (const char* k : {"start", "end"}) {
            const double v = body[k].get<double>();
            if (!std::isfinite(v) || v < 0 || v > 24 * 3600.0) {
                return SendError(res, 400, "invalid_input",
                                 std::string(k) + " must be a time in the episode, in seconds");
            }
        }
        EpisodeBundle b;
        if (!FindEpisode(db_, id, &b, res)) return;
        if (b.episode->status != EpisodeStatus::kReady || !b.transcript) {
            return SendError(res, 409, "not_ready",
                             "the episode is " + std::string(Name(b.episode->status)) + "; wait until it is ready");
        }
        auto text_field = [&](const char* key, const std::string& fallback) {
            return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : fallback;
        };
        SpanRequest span;
        span.platform = text_field("platform", Param(req, "platform", b.episode->platform));
        const auto to_ms = [](const json& v) { return static_cast<Ms>(std::llround(v.get<double>() * 1000)); };
        span.start_ms = to_ms(body["start"]);
        span.end_ms = to_ms(body["end"]);
        // How to render it: frame and caption style, each optional.
        auto media = MediaOptionsFromJson(body, span.platform);
        if (!media.ok()) return SendStatus(res, media.status());
        span.media = *media;
        // Scored now, so a span that cannot make a clip is refused at once; rendered by a worker.
        auto r = EpisodeForSpan(*b.episode, std::move(*b.transcript), span.platform);
        if (!r.ok()) return SendStatus(res, r.status());
        const std::optional<AudioFrames> frames = LoadFrames(*storage_, id);
        auto clip = DescribeSpan(*r, frames ? &*frames : nullptr, span.start_ms, span.end_ms);
        if (!clip.ok()) return SendStatus(res, clip.status());
        if (Status room = storage_->CheckRoom(0); !room.ok()) return SendStatus(res, room);
        span.clip_id = NewId(id + "_s");
        JobRow job;
        job.id = NewId("job");
        job.episode_id = id;
        job.kind = JobKind::kRender;
        job.payload = DumpJson(SpanRequestToJson(span));
        job.priority = 2;  // a person is waiting for it
        job.max_attempts = config_.job_max_attempts;
        job.created_at = NowEpochMs();
        // The same span asked again while its render is pending is that render; an episode has at most
        // kMaxPendingRenders at once, so one client cannot fill the shared queue with renders.
        json wanted = SpanRequestToJson(span);
        wanted.erase("clip_id");
        bool full = false, busy = false, same = false;
        const Status st = db_->InTransaction([&](Tx& s) {
            const auto pending = PendingRenderJobs(s, id);
            for (const auto& p : pending) {
                json asked = json::parse(p.payload, nullptr, false);
                if (!asked.is_object()) continue;
                const std::string clip_id = asked.value("clip_id", "");
                asked.erase("clip_id");
                if (asked == wanted) {
                    same = true;
                    job = p;
                    span.clip_id = clip_id;
                    return;
                }
            }
            busy = pending.size() >= kMaxPendingRenders;
            full = CountJobsInState(s, JobState::kQueued) >= config_.max_queue_size;
            if (!full && !busy) InsertJob(s, job);
        });
        if (!st.ok()) return SendStatus(res, st);
        if (busy) {
            res.set_header("Retry-After", "30");
            return SendError(
                res, 429, "too_many_renders",
                fmt::format("this episode already has {} clips rendering; wait for one to finish", kMaxPendingRenders));
        }
        if (full) {
            res.set_header("Retry-After", "30");
            return SendError(res, 503, "queue_full", "the queue is full; try again later");
        }
        if (!same) {
            events_->Publish(JobEvent(job.id, id, "queued", "queued", 0, ""));
            workers_->Wake();
        }
        res.set_header("Location", "/api/v1/jobs/" + job.id);
        json preview = json::object();
        preview["start"] = static_cast<double>(clip->candidate.start_ms) / 1000.0;
        preview["end"] = static_cast<double>(clip->candidate.end_ms) / 1000.0;
        preview["duration"] = static_cast<double>(clip->candidate.DurationMs()) / 1000.0;
        preview["display_score"] = clip->display_score;
        preview["title"] = clip->title;
        preview["explanation"] = clip->explanation;
        SendJson(res, 202,
                 {{"clip_id", span.clip_id},
                  {"clip_url", "/api/v1/clips/" + span.clip_id},
                  {"clip", preview},
                  {"job", JobRowToJson(job)}});
    });
}

}  // namespace podpromo
