#include "podpromo/media/probe.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <vector>

#include "libav.h"

namespace podpromo {
namespace fs = std::filesystem;

namespace libav {
std::string ErrorText(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(err, buf, sizeof buf);
    return buf;
}
}  // namespace libav

namespace {

constexpr size_t kProbeBytes = 1 << 20;
// Below a quarter of the maximum, libavformat itself warns that detection is unreliable.
constexpr int kMinProbeScore = AVPROBE_SCORE_MAX / 4;

uint32_t Le32(const unsigned char* p) {
    return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// A RIFF/WAVE header states the size of its data; libavformat trusts it silently, so check it against the
// file. Returns the declared data size and the bytes really present after the data chunk header (0, 0 when
// not applicable or streaming-style headers with unknown size).
std::pair<uint64_t, uint64_t> WavDataSizes(const std::vector<unsigned char>& head, size_t head_len,
                                           uint64_t file_size) {
    if (head_len < 12 || std::memcmp(head.data(), "RIFF", 4) != 0 || std::memcmp(head.data() + 8, "WAVE", 4) != 0) {
        return {0, 0};
    }
    size_t pos = 12;
    while (pos + 8 <= head_len) {
        const uint32_t size = Le32(head.data() + pos + 4);
        if (std::memcmp(head.data() + pos, "data", 4) == 0) {
            if (size == 0 || size == 0xFFFFFFFFu) return {0, 0};
            return {size, file_size - (pos + 8)};
        }
        pos += 8 + size + (size & 1);
    }
    return {0, 0};
}

}  // namespace

void QuietLibav() {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_level(AV_LOG_FATAL); });
}

std::string PrintableName(const fs::path& path) {
    std::string name = path.filename().string();
    std::string out;
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", c);
            out += esc;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (out.size() > 80) out = out.substr(0, 60) + "..." + out.substr(out.size() - 12);
    return out;
}

namespace {

// The demuxers a file may be opened with, by the first of their names. Never a playlist (hls), a script (concat),
// an image sequence or anything else that opens further files or URLs named inside it: an HLS upload naming a
// file outside DATA_DIR was once transcribed and served back.
const std::set<std::string, std::less<>> kMediaDemuxers = {"mp3",      "mov", "wav",  "flac",  "ogg",
                                                           "matroska", "aac", "mpeg", "mpegts"};
const std::set<std::string, std::less<>> kImageDemuxers = {"png_pipe", "jpeg_pipe"};

// The demuxer the file's content matches (its name is never looked at), when it is one of `allowed`.
Result<const AVInputFormat*> DetectDemuxer(const fs::path& path, const std::set<std::string, std::less<>>& allowed) {
    const std::string shown = PrintableName(path);
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) return Status::NotFound(shown + ": no such file");
    if (!fs::is_regular_file(status)) return Status::InvalidInput(shown + ": not a regular file");
    const auto size = fs::file_size(path, ec);
    if (ec) return Status::IoError(shown + ": cannot read: " + ec.message());
    if (size == 0) return Status::InvalidInput(shown + ": the file is empty");

    // Detect the container from the bytes alone: the file name is not given to the prober.
    std::vector<unsigned char> head(std::min<size_t>(size, kProbeBytes) + AVPROBE_PADDING_SIZE, 0);
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) return Status::IoError(shown + ": cannot open: " + std::strerror(errno));
        in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size() - AVPROBE_PADDING_SIZE));
    }
    QuietLibav();
    const size_t head_len = head.size() - AVPROBE_PADDING_SIZE;
    if (const auto [declared, present] = WavDataSizes(head, head_len, size);
        declared > 0 && present < declared * 9 / 10) {
        return Status::InvalidInput(shown + ": the file is truncated or its header lies: it declares " +
                                    std::to_string(declared) + " bytes of audio but holds " + std::to_string(present));
    }
    AVProbeData pd{};
    pd.filename = "";
    pd.buf = head.data();
    pd.buf_size = static_cast<int>(head.size() - AVPROBE_PADDING_SIZE);
    int score = 0;
    const AVInputFormat* fmt = av_probe_input_format3(&pd, 1, &score);
    if (!fmt || score < kMinProbeScore) {
        return Status::InvalidInput(shown + ": not an audio or video file (unrecognised content)");
    }
    const std::string_view name = fmt->name;
    if (!allowed.count(name.substr(0, name.find(',')))) {
        if (&allowed == &kImageDemuxers) return Status::InvalidInput(shown + ": not a PNG or JPEG image");
        if (name.ends_with("_pipe") || name.starts_with("image2")) {
            return Status::InvalidInput(shown + ": an image has no audio stream (send the episode's audio or video)");
        }
        return Status::InvalidInput(shown + ": a " + std::string(name) +
                                    " file is not accepted (send MP3, MP4/M4A/MOV, WAV, FLAC, Ogg/Opus, Matroska/WebM, "
                                    "AAC or MPEG-PS/TS)");
    }
    return fmt;
}

// What the file holds, from its content, opened only as one of `allowed`; no requirement on its streams.
Result<MediaInfo> ProbeStreams(const fs::path& path, const std::set<std::string, std::less<>>& allowed) {
    auto detected = DetectDemuxer(path, allowed);
    if (!detected.ok()) return detected.status();
    const AVInputFormat* fmt = *detected;
    const std::string shown = PrintableName(path);
    AVDictionary* opts = nullptr;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    AVFormatContext* raw = nullptr;
    const std::string url = "file:" + fs::absolute(path).string();
    int err = avformat_open_input(&raw, url.c_str(), fmt, &opts);
    av_dict_free(&opts);
    if (err < 0) {
        return Status::InvalidInput(shown + ": cannot be read as " + fmt->name + " (" + libav::ErrorText(err) + ")");
    }
    libav::FormatPtr ctx(raw);
    err = avformat_find_stream_info(ctx.get(), nullptr);
    if (err < 0) return Status::InvalidInput(shown + ": unreadable stream information (" + libav::ErrorText(err) + ")");

    MediaInfo info;
    info.format = ctx->iformat->name;
    if (ctx->duration != AV_NOPTS_VALUE && ctx->duration > 0) {
        info.duration_ms = ctx->duration / (AV_TIME_BASE / 1000);
        info.duration_declared = ctx->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE;
    }
    for (unsigned i = 0; i < ctx->nb_streams; ++i) {
        const AVStream* st = ctx->streams[i];
        const AVCodecParameters* par = st->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_AUDIO && !info.has_audio) {
            info.has_audio = true;
            info.audio_codec = avcodec_get_name(par->codec_id);
            info.sample_rate = par->sample_rate;
            info.channels = par->ch_layout.nb_channels;
        } else if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
            if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) {
                info.has_cover_art = true;
            } else if (!info.has_video) {
                info.has_video = true;
                info.width = par->width;
                info.height = par->height;
                const AVRational fps = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
                info.frame_rate = fps.num > 0 && fps.den > 0 ? av_q2d(fps) : 0;
            }
        }
    }
    return info;
}

// Frames no podcast has, whose processing would not be bounded: a 1-pixel-wide video once made the face scan loop
// forever, a 480x65535 one would buffer gigabytes of frames, an 8000x2 PNG cover made ffmpeg hold 2.5 GB.
Status CheckFrame(const std::string& shown, const char* what, int width, int height) {
    constexpr int kMinSide = 16, kMaxSide = 4096, kMaxAspect = 4;
    if (width < kMinSide || height < kMinSide || width > kMaxSide || height > kMaxSide || width > kMaxAspect * height ||
        height > kMaxAspect * width) {
        return Status::InvalidInput(fmt::format("{}: {} of {}x{} pixels (accepted: {} to {} a side, at most {}:1)",
                                                shown, what, width, height, kMinSide, kMaxSide, kMaxAspect));
    }
    return Status::Ok();
}

}  // namespace

Result<MediaInfo> ProbeMedia(const fs::path& path) {
    const std::string shown = PrintableName(path);
    auto probed = ProbeStreams(path, kMediaDemuxers);
    if (!probed.ok()) return probed.status();
    const MediaInfo& info = *probed;
    if (!info.has_audio) {
        return Status::InvalidInput(shown + ": has no audio stream (" +
                                    (info.has_video ? "video or image only" : std::string("no media streams")) + ")");
    }
    if (info.sample_rate <= 0 || info.channels <= 0) {
        return Status::InvalidInput(shown + ": the audio stream has no usable format");
    }
    // A rate no recording has: 2 Hz made 100 KB declare 14 hours, 500 MHz made the resampler ask for 2 GB.
    if (info.sample_rate < kMinSampleRate || info.sample_rate > kMaxSampleRate || info.channels > kMaxChannels) {
        return Status::InvalidInput(fmt::format("{}: audio at {} Hz in {} channels (accepted: {} to {} Hz, at most {})",
                                                shown, info.sample_rate, info.channels, kMinSampleRate, kMaxSampleRate,
                                                kMaxChannels));
    }
    if (info.has_video) PODPROMO_RETURN_IF_ERROR(CheckFrame(shown, "video frames", info.width, info.height));
    // A length the file cannot hold: below 200 bytes a second (1.6 kbit/s; speech codecs use 6 and more, and
    // silence in Opus about 3) the header lies or the file was cut short. Decoding stops at MAX_EPISODE_SECONDS
    // whatever a header says; this names the problem at upload instead.
    constexpr int64_t kMinBytesPerSecond = 200;
    std::error_code ec;
    const auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
    if (!ec && info.duration_declared && info.duration_ms > 60000 &&
        bytes * 1000 / info.duration_ms < kMinBytesPerSecond) {
        return Status::InvalidInput(
            fmt::format("{}: its header declares {} of audio, which {} bytes cannot hold (the "
                        "file is cut short or its header lies)",
                        shown, FormatClock(info.duration_ms, false), bytes));
    }
    return info;
}

Result<MediaInfo> ProbeImage(const fs::path& path) {
    auto probed = ProbeStreams(path, kImageDemuxers);
    if (!probed.ok()) return probed.status();
    if (!probed->has_video || probed->has_audio || probed->width <= 0 || probed->height <= 0) {
        return Status::InvalidInput(PrintableName(path) + ": not an image");
    }
    PODPROMO_RETURN_IF_ERROR(CheckFrame(PrintableName(path), "an image", probed->width, probed->height));
    return probed;
}

Result<std::vector<std::string>> FfmpegInput(const fs::path& path) {
    auto fmt = DetectDemuxer(path, kMediaDemuxers);
    if (!fmt.ok() && fmt.status().code() == StatusCode::kInvalidInput) fmt = DetectDemuxer(path, kImageDemuxers);
    if (!fmt.ok()) return fmt.status();
    const std::string_view name = (*fmt)->name;
    return std::vector<std::string>{"-protocol_whitelist",
                                    "file",
                                    "-f",
                                    std::string(name.substr(0, name.find(','))),
                                    "-i",
                                    "file:" + fs::absolute(path).string()};
}

}  // namespace podpromo
