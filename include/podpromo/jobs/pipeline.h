// One episode end to end: probe, decode, analyse, transcribe (or import), score, and write the outputs.
// The CLI calls it directly; the service's workers call the same stages.
// Threads: the stages keep no shared state, so several episodes may run at once (the workers do); progress is
// reported on the calling thread and the recogniser's. Errors are Status values, as each function says; nothing
// half-written is left behind.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "podpromo/asr/pocketsphinx.h"
#include "podpromo/asr/whisper_http.h"
#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/files/file_system.h"
#include "podpromo/media/audio_features.h"
#include "podpromo/media/decode.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"
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
    // A Whisper-compatible engine over HTTP instead of pocketsphinx (its prompt defaults to the vocabulary
    // hint: show, title and terms).
    std::optional<WhisperHttpConfig> whisper;
    // The recogniser, when set: called once per recognition with the vocabulary hint, instead of building
    // pocketsphinx or the Whisper engine from `asr` and `whisper` (tests give a fake here).
    std::function<std::unique_ptr<Transcriber>(const Vocabulary& vocabulary)> make_transcriber;
    std::string title;  // defaults to the file name without extension
    // The vocabulary hint besides the title: the show's name and the user's names and terms.
    std::string show;
    std::vector<std::string> terms;
    Ms max_episode_ms = kDefaultMaxEpisodeMs;  // longer episodes fail while decoding
    std::vector<Chapter> chapters;             // the show's own (a feed's <podcast:chapters>): topic boundaries
};

// Checks names and ranges before any work starts. InvalidInput naming the bad option.
Status ValidateOptions(const PipelineOptions& options);

struct ClipFiles {
    // Names relative to the output directory; empty when not written. `post` is the text to post with it
    // (title and hashtags).
    std::string video, audio, thumbnail, srt, vtt, post;
};

// What media a clip gets besides its captions: nothing, the audio cut alone, or the rendered video (with
// the audio cut and a thumbnail from the same pass).
// How the outputs' staging folders' names start.
inline constexpr const char* kStagingPrefix = ".podpromo-partial-";

struct MediaOptions {
    bool audio = true;
    bool video = true;
    std::string aspect = "9:16";
    CaptionStyle style;
    std::optional<std::filesystem::path> cover;  // audiogram background image
    std::string background;                      // audiogram background colour (RRGGBB); empty: the cover's or none
    std::optional<std::filesystem::path> logo;   // a show's logo, drawn on every frame
    // The name the staging folder of the outputs starts with (a random part follows). A job's runs put the job's id in
    // it, so that the next run of the job can remove what a killed run left (RemoveStaging).
    std::string staging_prefix = kStagingPrefix;
};

// Removes the staging folders in `out_dir` whose names start with `prefix`: what runs of a job that were killed (or
// whose lease passed on) left. Returns how many it removed; errors are ignored (the scheduled cleanup tries again).
int RemoveStaging(const std::filesystem::path& out_dir, const std::string& prefix);

// Checks the aspect for `platform`, the style and the cover image. InvalidInput naming the bad option.
Status ValidateMedia(const MediaOptions& media, const std::string& platform);

// The render options as the API takes them and the database keeps them: {"aspect", "style", "font", "color",
// "highlight", "size", "outline", "position", "uppercase", "background"}, each optional (the style's own values
// otherwise). Strings may also hold numbers and booleans (form fields: "true"/"false"). InvalidInput naming the bad
// option. (The cover and logo are files: their storage keys sit beside these in an episode's options.)
Result<MediaOptions> MediaOptionsFromJson(const nlohmann::json& j, const std::string& platform);
// One option's value as text: a string as it is, a whole number or a boolean ("true"/"false") written out, null as
// "" (unset); anything else InvalidInput naming `key`. (Forms send text, JSON clients numbers and booleans.)
Result<std::string> OptionValueText(const nlohmann::json& value, const std::string& key);
// Those options' names; all but the first ("aspect", the frame) are a show's look.
inline constexpr const char* kRenderOptionKeys[] = {"aspect", "style",   "font",     "color",     "highlight",
                                                    "size",   "outline", "position", "uppercase", "background"};
nlohmann::json MediaOptionsToJson(const MediaOptions& media);

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
    std::vector<Chapter> chapters;  // the show's, when it gave them (scored as topic boundaries)
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

// The clip's span with a little breathing room at the cut points: up to 150 ms before its first word and
// 300 ms after its last, never more than half the pause to the neighbouring word, never past `media_end_ms`
// (when > 0), and never beyond `max_ms` long (unless the words alone are). ScoreEpisode and DescribeSpan
// apply it to every clip they return. Pure.
Candidate WithBreathingRoom(const std::vector<Word>& words, const Candidate& c, Ms max_ms, Ms media_end_ms);

// What RenderClip (or RenderStill) is asked to draw for `clip` of `r` (its source and media probed) with `media`.
// InvalidInput for an aspect the platform has no frame for.
Result<RenderRequest> RenderRequestFor(const EpisodeResult& r, const ScoredClip& clip, const MediaOptions& media);

// Writes a clip's files into `dir`: captions `<stem>.srt` and `<stem>.vtt` (times from the clip's start), the
// post text `<stem>.txt`, and as `media` asks its video `<stem>.mp4` (audiogram for audio-only episodes,
// reframed for video ones) with thumbnail `<stem>.jpg`, and its audio cut `<stem>.m4a`. Fills the names into
// `files`. The captions and post text are written through `disk` (borrowed for the call); the renders by ffmpeg.
Status WriteClipFiles(const EpisodeResult& r, const ScoredClip& clip, const std::filesystem::path& dir,
                      const std::string& stem, const MediaOptions& media, ClipFiles* files,
                      const CancelToken* cancel = nullptr, FileSystem* disk = DefaultFileSystem());

// How staged files become visible: `move_into_place` renames what was staged into its final place (it may run more than
// once: what has moved already is skipped). A job that commits rows with its files runs it inside that transaction,
// after checking it still holds its lease, and does not run it when it no longer does; its Status is then the
// function's. Without one, the files are moved at once.
using PublishFn = std::function<Status(const std::function<Status()>& move_into_place)>;

// Writes result.json, transcript.{json,srt,vtt} and per clip the files of WriteClipFiles (named clip_NN) into
// `out_dir`, creating it if needed; clips render in parallel, one per core. Everything is staged in a
// hidden directory inside `out_dir` and moved into place (through `publish` when given) only when all of it
// succeeded; on failure nothing new is left (a full disk is NoSpace). Progress stages: "render" (per clip), "write".
// Writes through `disk` as WriteClipFiles.
Status WriteOutputs(EpisodeResult* result, const std::filesystem::path& out_dir, const MediaOptions& media,
                    const ProgressFn& progress = {}, const CancelToken* cancel = nullptr,
                    FileSystem* disk = DefaultFileSystem(), const PublishFn& publish = {});

// The result document of DESIGN.md §4.
nlohmann::json ResultToJson(const EpisodeResult& result);
// The analysis of the episode as result.json's episode holds it: {"genre_scores", "ad_spans", "stage_seconds"}, and
// "chapters" when the show gave them.
nlohmann::json AnalysisSummaryJson(const EpisodeResult& result);
// Chapters as [{"start": seconds, "title"}], and back (what is not such an entry is skipped).
nlohmann::json ChaptersToJson(const std::vector<Chapter>& chapters);
std::vector<Chapter> ChaptersFromJson(const nlohmann::json& list);

// A fresh random identifier with a prefix, e.g. "ep_3f9a1c2b7d4e".
std::string NewId(const std::string& prefix);

}  // namespace podpromo
