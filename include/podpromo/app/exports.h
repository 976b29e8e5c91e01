// An episode's chosen clips as an edit decision list for a video editor: CMX3600 EDL (Premiere, Resolve, Avid),
// FCPXML 1.9 (Final Cut Pro, Resolve) and OpenTimelineIO JSON. Each names the episode's file and carries its source
// times as frames at the source's frame rate, the clips back to back on the timeline in episode order. Pure
// functions of their arguments: thread-safe, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/types.h"

namespace podpromo {

// A frame rate as a fraction (30000/1001 for 29.97).
struct FrameRate {
    int num = 30, den = 1;
    // Frames per second of timecode (30 for 29.97, counted without dropping frame numbers).
    int Nominal() const { return (num + den / 2) / den; }
    bool operator==(const FrameRate&) const = default;
};

// The standard rate nearest `fps` (23.976, 24, 25, 29.97, 30, 50, 59.94, 60); 30 when `fps` is not a positive
// number (an audio-only source, whose editor timeline is then 30 fps).
FrameRate StandardRate(double fps);

// The whole frames in `ms` at `rate`, rounded to the nearest.
int64_t FramesAt(Ms ms, FrameRate rate);
// Non-drop-frame timecode HH:MM:SS:FF of `frames` at `rate`.
std::string Timecode(int64_t frames, FrameRate rate);

struct ExportSource {
    std::string title;      // the episode's
    std::string file_name;  // the episode's file as the podcaster uploaded it (the editor relinks it)
    Ms duration_ms = 0;
    bool has_video = false;
    int width = 1920, height = 1080;  // of the video; the timeline's size for an audio-only source
    FrameRate rate;
};

struct ExportClip {
    std::string id, title, note;  // note: why it was chosen
    Ms start_ms = 0, end_ms = 0;
};

enum class ExportFormat { kEdl, kFcpxml, kOtio };
// "edl", "fcpxml" or "otio"; nullopt otherwise.
std::optional<ExportFormat> ParseExportFormat(std::string_view name);
// The file extension (".edl", ".fcpxml", ".otio") and the content type of a format.
std::string ExportExtension(ExportFormat format);
std::string ExportContentType(ExportFormat format);

// The document in `format`. Clips are placed in the order given, back to back from the timeline's start (01:00:00:00
// in the EDL, 0 in the others).
std::string ExportClips(ExportFormat format, const ExportSource& source, const std::vector<ExportClip>& clips);

}  // namespace podpromo
