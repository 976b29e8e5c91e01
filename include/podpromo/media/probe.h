// Probe and validate a media file from its content (never its name).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

struct MediaInfo {
    std::string format;              // libavformat short name, e.g. "mp3", "mov,mp4,m4a,3gp,3g2,mj2"
    Ms duration_ms = 0;              // as declared by the container (0 when unknown)
    bool duration_declared = false;  // true when the header states it (not estimated from the bitrate)
    bool has_audio = false;
    bool has_video = false;  // a real video stream (cover art does not count)
    bool has_cover_art = false;
    std::string audio_codec;
    int sample_rate = 0;
    int channels = 0;
    int width = 0, height = 0;
    double frame_rate = 0;  // the video's frames per second (its average; 0 when unknown or without video)
};

// What is accepted besides the container: audio at kMinSampleRate..kMaxSampleRate in at most kMaxChannels, and
// video frames (and images) of 16..4096 pixels a side, no more than 4:1.
constexpr int kMinSampleRate = 8000, kMaxSampleRate = 384000, kMaxChannels = 32;

// Opens `path` with the demuxer its content matches, when that is one of the plain media containers (MP3,
// MP4/M4A/MOV, WAV, FLAC, Ogg, Matroska/WebM, AAC, MPEG-PS/TS: never a playlist, a script or an image sequence, which
// would open the files they name), and describes it. Errors (InvalidInput, with a message fit for a user): empty file,
// not audio or video, another container, no audio stream, a sample rate or frame size out of bounds.
// NotFound/IoError when unreadable. Thread-safe.
Result<MediaInfo> ProbeMedia(const std::filesystem::path& path);

// Checks that `path` is a PNG or JPEG picture (one video stream, no audio) of a bounded size (as ProbeMedia's
// video frames) and gives its size. InvalidInput otherwise.
Result<MediaInfo> ProbeImage(const std::filesystem::path& path);

// The options with which every ffmpeg run reads `path`: "-protocol_whitelist file -f DEMUXER -i file:PATH", the
// demuxer the one ProbeMedia or ProbeImage accepts for its content, named so that ffmpeg cannot pick another, and only
// the file protocol, so that nothing inside the file can make ffmpeg open another file or a URL. The errors of
// ProbeMedia for a file that is no accepted container. Thread-safe.
Result<std::vector<std::string>> FfmpegInput(const std::filesystem::path& path);

// A file name made safe to print on one line (control characters escaped, long names shortened).
std::string PrintableName(const std::filesystem::path& path);

}  // namespace podpromo
