// Rendering a clip for posting: one ffmpeg pass per clip that cuts, frames (audiogram or reframed video),
// burns word-highlighted captions, normalises loudness and writes an H.264/AAC MP4, its audio as an .m4a
// and a thumbnail, each appearing only when complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"
#include "podpromo/media/reframe.h"

namespace podpromo {

// An output frame. "9:16" for every platform; linkedin also "1:1"; any platform "4:5" (the feeds' portrait), "1:1" or
// "16:9" on request.
struct RenderPreset {
    std::string platform;
    std::string aspect;  // "9:16", "4:5", "1:1", "16:9"
    int width = 1080, height = 1920;
};

// InvalidInput naming the valid choices.
Result<RenderPreset> PresetFor(const std::string& platform, const std::string& aspect = "9:16");

// The rectangle captions and titles must stay inside: ~220 px top, ~500 px bottom and ~180 px each side
// on 1080×1920, scaled with the frame.
struct SafeZone {
    int left = 0, top = 0, right = 0, bottom = 0;  // right/bottom exclusive, in output pixels
};
SafeZone SafeZoneFor(const RenderPreset& preset);

struct CaptionStyle {
    std::string name = "bold";  // bold | clean | boxed
    std::string font = "DejaVu Sans";
    std::string color = "FFFFFF";      // RRGGBB, the words not being spoken
    std::string highlight = "FFD400";  // RRGGBB, the word being spoken
    int size = 0;                      // font size in px on a 1920-high frame; 0 = the style's own
    bool uppercase = true;
    int outline = -1;  // outline width (boxed: the box's padding) in px on a 1920-high frame; -1 = the style's own
    std::string position = "bottom";  // bottom | middle | top (under the title)
    int top_reserved =
        0;  // px (on a 1920-high frame) kept free at the safe zone's top, for a logo: the title goes under it
};
// The caption positions, and the outline's limits (px on a 1920-high frame).
inline constexpr const char* kCaptionPositions[] = {"bottom", "middle", "top"};
inline constexpr int kMaxOutline = 24;

// A look's choices beyond the named style's: what a show keeps and an upload or render may ask for. Empty or unset
// keeps the style's own.
struct StyleChoice {
    std::string name = "bold", font, color, highlight, position;
    int size = 0;
    int outline = -1;
    std::optional<bool> uppercase;
};

// Rewrites the picture at `path` (one ProbeImage accepts) in place as a baseline JPEG of at most kCoverSide pixels a
// side, without its metadata: what renders read is then one small, known kind of file, decoded the same way every
// time, whatever was uploaded. On failure the file is left as it was: InvalidInput when ffmpeg cannot read the
// picture, Unavailable when ffmpeg is missing or too slow, NoSpace or IoError when the result cannot be stored.
// Thread-safe.
inline constexpr int kCoverSide = 1440;
// The largest picture taken as a cover (an upload's, or a show's artwork from its feed).
inline constexpr int64_t kMaxCoverBytes = 10 * 1024 * 1024;
Status NormalizeImage(const std::filesystem::path& path, const CancelToken* cancel = nullptr);

// A named style with optional overrides (empty/0 = keep the style's). InvalidInput for an unknown name or a
// colour that is not RRGGBB.
Result<CaptionStyle> StyleByName(const std::string& name, const std::string& font = "", const std::string& color = "",
                                 const std::string& highlight = "", int size = 0);
// The style `choice` names with its overrides: InvalidInput naming the bad one (as StyleByName; an outline outside
// 0–kMaxOutline, a position not in kCaptionPositions).
Result<CaptionStyle> StyleFrom(const StyleChoice& choice);
// The choices that give `style` back through StyleFrom.
StyleChoice ChoiceOf(const CaptionStyle& style);

// Rewrites the picture at `path` in place as a PNG of at most kLogoSide pixels a side, its transparency kept and its
// metadata dropped: a show's logo, drawn over its clips. Errors as NormalizeImage's. Thread-safe.
inline constexpr int kLogoSide = 512;
Status NormalizeLogo(const std::filesystem::path& path, const CancelToken* cancel = nullptr);
std::vector<std::string> StyleNames();
// True for a colour as RRGGBB hex (what captions and backgrounds take).
bool IsHexColour(const std::string& colour);
// The font families installed on this machine, as captions can name them (fontconfig's `fc-list`), sorted; read once
// and kept. Empty when fontconfig cannot say (then any font name is taken, and libass falls back). Thread-safe.
const std::vector<std::string>& InstalledFonts();

// Words grouped for the screen: 1–3 at a time, broken at pauses and sentence ends.
struct CaptionGroup {
    size_t first = 0, last = 0;  // word indices, [first, last)
    Ms start_ms = 0, end_ms = 0;
};
std::vector<CaptionGroup> GroupWords(const std::vector<Word>& words);

// An ASS subtitle script for the clip: one event per word (as captions show them: core/caption_words.h) showing its
// group with that word in the highlight colour; `title` (when not empty) at the top inside the safe zone, for
// `title_until_ms` (0 = the whole clip). Word times are relative to the clip start. Font sizes shrink so that a group
// always fits one line inside the safe zone's width (long words and numbers never overflow). Pure.
std::string BuildCaptionsAss(const std::vector<Word>& words, const RenderPreset& preset, const CaptionStyle& style,
                             const std::string& title, Ms clip_ms, Ms title_until_ms = 0);

struct RenderRequest {
    std::filesystem::path source;
    Ms start_ms = 0, end_ms = 0;
    std::vector<Word> words;  // the clip's words, times absolute (from the episode's start)
    RenderPreset preset;
    CaptionStyle style;
    std::string title;
    // Video sources are reframed; audio-only ones become an audiogram.
    bool has_video = false;
    int src_width = 0, src_height = 0;
    // Audiogram background: a cover image when given (or the source's own cover art when it has one),
    // otherwise a gradient.
    std::optional<std::filesystem::path> cover;
    bool source_has_cover = false;
    // An audiogram's background colour (RRGGBB, a gradient from it) instead of the cover or the default gradient;
    // empty: the cover when there is one.
    std::string background;
    // A logo (NormalizeLogo's PNG) drawn at the safe zone's top right; the title goes under it.
    std::optional<std::filesystem::path> logo;
};

struct RenderOutputs {
    std::filesystem::path video;      // required (.mp4)
    std::filesystem::path audio;      // optional (.m4a), empty to skip
    std::filesystem::path thumbnail;  // optional (.jpg), empty to skip
};

struct RenderReport {
    std::string mode;  // "audiogram", "track", "centre", "fit"
    std::string reframe_reason;
};

// Everything a clip's ffmpeg command depends on, as RenderClip gathers it (probing the inputs, measuring the
// loudness, tracking faces, writing the captions).
struct RenderCommand {
    RenderPreset preset;
    Ms start_ms = 0, end_ms = 0;            // the clip in the source
    std::vector<std::string> source_input;  // FfmpegInput of the source
    std::vector<std::string> cover_input;   // FfmpegInput of the audiogram's cover (input 1); empty: a gradient
    std::string background;                 // the gradient's colour (RRGGBB) when there is no cover; empty: the default
    std::vector<std::string> logo_input;    // FfmpegInput of the logo (the input after the cover's); empty: none
    int logo_side = 0;                      // the logo's box, in output pixels
    std::string loudness;                   // LoudnessFilter's filters
    std::optional<CropPlan> crop;           // a video source's reframing; nullopt: an audiogram
    int src_width = 0;                      // the video source's width (for the crop's expression)
    std::filesystem::path captions;         // the ASS script (BuildCaptionsAss)
    Ms thumbnail_at_ms = 0;                 // the thumbnail's time in the clip
    std::filesystem::path video_part;       // where ffmpeg writes each output; empty: not made
    std::filesystem::path audio_part, thumbnail_part;
};

// The ffmpeg command line (argv, "ffmpeg" first) that renders `command` in one pass. Pure: the golden tests in
// render_test.cc hold its arguments.
std::vector<std::string> BuildRenderCommand(const RenderCommand& command);

// Renders the clip in one ffmpeg process (a loudness measurement of the clip's audio precedes it). Nothing
// is left behind on failure or cancellation. Errors: Unavailable without ffmpeg or the face cascade,
// IoError/NoSpace when the write fails, Cancelled.
Result<RenderReport> RenderClip(const RenderRequest& request, const RenderOutputs& outputs,
                                const CancelToken* cancel = nullptr);

// One frame of the clip as RenderClip would draw it at `at_ms` (in the source, clamped into the clip): the frame,
// its caption with the word spoken then highlighted, the title and (an audiogram) the waveform, as a JPEG at half
// size. For a preview before any render: a video source is cropped at its centre (no face tracking) and nothing is
// encoded. A fraction of a second on two cores (bench/render_bench). Errors as RenderClip's.
Result<std::string> RenderStill(const RenderRequest& request, Ms at_ms, const CancelToken* cancel = nullptr);

// The filters that bring [start_ms, end_ms) of `source`, after the `pre` filters, to -14 LUFS integrated
// (within about 0.3 LU) with peaks limited to about -1.5 dBTP, at 48 kHz: a measured gain and a limiter.
// Runs two or three audio-only ffmpeg measurements (a fraction of a second each for a clip).
Result<std::string> LoudnessFilter(const std::filesystem::path& source, Ms start_ms, Ms end_ms, const std::string& pre,
                                   const CancelToken* cancel = nullptr);

// The fades at a clip's cut points: 50 ms in, 150 ms out.
std::string CutFades(Ms duration_ms);

}  // namespace podpromo
