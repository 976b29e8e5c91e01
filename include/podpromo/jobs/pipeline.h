// One episode end to end: probe, decode, analyse, transcribe (or import), score, and write the outputs.
// The CLI calls it directly; the service's workers call the same stages.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "podpromo/asr/transcriber.h"
#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/media/audio_features.h"
#include "podpromo/media/probe.h"
#include "podpromo/scoring/genre.h"
#include "podpromo/scoring/ranker.h"

namespace podpromo {

struct PipelineOptions {
    std::string genre = "auto";  // "auto" or a genre name
    std::string platform = "tiktok";
    int clips = 5;
    std::optional<std::filesystem::path> transcript;  // import instead of recognising
    std::optional<Transcript> given_transcript;       // a transcript already made (a resumed job's)
    // Called once the transcript exists, before scoring (the service stores it as a checkpoint). An error
    // stops the run.
    std::function<Status(const Transcript&)> on_transcribed;
    PocketsphinxConfig asr;
    std::string title;  // defaults to the file name without extension
};

// Checks names and ranges before any work starts. InvalidInput naming the bad option.
Status ValidateOptions(const PipelineOptions& options);

struct ClipFiles {
    std::string video, audio, srt, vtt;  // names relative to the output directory; empty when not written
};

struct EpisodeResult {
    std::string id;
    std::string title;
    std::filesystem::path source;
    MediaInfo media;
    Ms duration_ms = 0;
    std::string genre;         // the genre used for scoring
    GenreDetection detection;  // what auto-detection found
    Platform platform;
    Transcript transcript;
    std::vector<AdSpan> ads;
    std::vector<ScoredClip> clips;
    std::vector<ClipFiles> files;               // parallel to clips once written
    std::map<std::string, Ms> stage_ms;         // wall time per stage
    std::shared_ptr<const AudioFrames> frames;  // the per-frame features, kept for rescoring
};

// Runs the analysis stages (no files written). Progress stages: probe, decode, analyze, transcribe, score.
// Errors: InvalidInput for unusable media or transcript (with a one-line reason), Unavailable when the
// recogniser's model is missing, Cancelled.
Result<EpisodeResult> AnalyzeEpisode(const std::filesystem::path& source, const PipelineOptions& options,
                                     const ProgressFn& progress = {}, const CancelToken* cancel = nullptr);

// The scoring stage alone, on `r->transcript` and `r->platform`: sponsor reads, genre (detected, or `genre`
// unless "auto"), candidates, features and the best `clips` clips. `frames` may be null (text only).
// InvalidInput when there is too little speech or no span fits the platform.
Status ScoreEpisode(EpisodeResult* r, const AudioFrames* frames, const std::string& genre, int clips);

// A clip over a span a person chose, [start_ms, end_ms) snapped inward to whole words, scored and explained
// like the ranked ones for `r->platform` and `r->genre` (`r->transcript` must be set; `frames` may be null).
// InvalidInput when the snapped span holds no words or lasts outside 12–60 s.
Result<ScoredClip> DescribeSpan(const EpisodeResult& r, const AudioFrames* frames, Ms start_ms, Ms end_ms);

// Writes a clip's captions `<stem>.srt` and `<stem>.vtt` (times from the clip's start) into `dir`, and with
// `render` its audio cut `<stem>.m4a` from `source`; fills the names into `files`.
Status WriteClipFiles(const std::filesystem::path& source, const std::vector<Word>& words, const Candidate& c,
                      const std::filesystem::path& dir, const std::string& stem, bool render, ClipFiles* files,
                      const CancelToken* cancel = nullptr);

// Writes result.json, transcript.{json,srt,vtt} and per clip clip_NN.{srt,vtt} (+ clip_NN.m4a when
// `render`) into `out_dir`, creating it if needed. Everything is staged in a hidden directory inside
// `out_dir` and moved into place only when all of it succeeded; on failure nothing new is left. Progress
// stage: "write".
Status WriteOutputs(EpisodeResult* result, const std::filesystem::path& out_dir, bool render,
                    const ProgressFn& progress = {}, const CancelToken* cancel = nullptr);

// The result document of DESIGN.md §4.
nlohmann::json ResultToJson(const EpisodeResult& result);

// A fresh random identifier with a prefix, e.g. "ep_3f9a1c2b7d4e".
std::string NewId(const std::string& prefix);

}  // namespace podpromo
