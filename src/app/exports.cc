#include "podpromo/app/exports.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {
using nlohmann::json;

constexpr std::array<FrameRate, 8> kStandardRates = {
    {{24000, 1001}, {24, 1}, {25, 1}, {30000, 1001}, {30, 1}, {50, 1}, {60000, 1001}, {60, 1}}};

// `text` on one line (control characters as spaces), cut to `max` code points.
std::string OneLine(std::string_view text, size_t max) {
    std::string out = TruncateUtf8(text, max);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    return TrimAscii(out);
}

// The editor relinks the episode's own file: its name, as a URL relative to where the document is saved.
std::string MediaUrl(const ExportSource& s) { return PercentEncode(s.file_name, "-._~"); }

// `frames` at `rate` as FCPXML's rational seconds ("363/30s", "363363/30000s").
std::string RationalSeconds(int64_t frames, FrameRate rate) {
    if (frames == 0) return "0s";
    return fmt::format("{}/{}s", frames * rate.den, rate.num);
}

struct Placed {
    const ExportClip* clip;
    int64_t in, out, at;  // source in and out, and the timeline position, in frames
};

std::vector<Placed> Place(const ExportSource& source, const std::vector<ExportClip>& clips, int64_t start) {
    std::vector<Placed> placed;
    int64_t at = start;
    for (const ExportClip& c : clips) {
        const int64_t in = FramesAt(c.start_ms, source.rate);
        const int64_t out = std::max(in + 1, FramesAt(c.end_ms, source.rate));
        placed.push_back({&c, in, out, at});
        at += out - in;
    }
    return placed;
}

std::string Edl(const ExportSource& source, const std::vector<ExportClip>& clips) {
    const FrameRate r = source.rate;
    std::string out = fmt::format("TITLE: {}\nFCM: NON-DROP FRAME\n", OneLine(source.title, 60));
    int n = 0;
    for (const Placed& p : Place(source, clips, int64_t{3600} * r.Nominal())) {
        out += fmt::format("\n{:03d}  {:<8} {:<5} C        {} {} {} {}\n", ++n, "AX", source.has_video ? "AA/V" : "AA",
                           Timecode(p.in, r), Timecode(p.out, r), Timecode(p.at, r), Timecode(p.at + p.out - p.in, r));
        out += "* FROM CLIP NAME: " + OneLine(source.file_name, 120) + "\n";
        out += "* CLIP: " + OneLine(p.clip->title, 120) + "\n";
        if (!p.clip->note.empty()) out += "* WHY: " + OneLine(p.clip->note, 240) + "\n";
    }
    return out;
}

std::string Fcpxml(const ExportSource& source, const std::vector<ExportClip>& clips) {
    const FrameRate r = source.rate;
    const auto placed = Place(source, clips, 0);
    const int64_t length = placed.empty() ? 0 : placed.back().at + placed.back().out - placed.back().in;
    std::string spine;
    for (const Placed& p : placed) {
        spine += fmt::format(
            "          <asset-clip ref=\"r2\" name=\"{}\" offset=\"{}\" start=\"{}\" duration=\"{}\" format=\"r1\" "
            "tcFormat=\"NDF\"/>\n",
            EscapeXml(OneLine(p.clip->title, 200)), RationalSeconds(p.at, r), RationalSeconds(p.in, r),
            RationalSeconds(p.out - p.in, r));
    }
    const std::string name = EscapeXml(OneLine(source.title, 200));
    return fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE fcpxml>\n<fcpxml version=\"1.9\">\n  <resources>\n"
        "    <format id=\"r1\" frameDuration=\"{0}\" width=\"{1}\" height=\"{2}\"/>\n"
        "    <asset id=\"r2\" name=\"{3}\" start=\"0s\" duration=\"{4}\" hasVideo=\"{5}\" hasAudio=\"1\" format=\"r1\" "
        "audioSources=\"1\" audioChannels=\"2\" audioRate=\"48000\">\n"
        "      <media-rep kind=\"original-media\" src=\"{6}\"/>\n    </asset>\n  </resources>\n"
        "  <library>\n    <event name=\"PodPromo\">\n      <project name=\"{7} (clips)\">\n"
        "        <sequence format=\"r1\" duration=\"{8}\" tcStart=\"0s\" tcFormat=\"NDF\" audioLayout=\"stereo\" "
        "audioRate=\"48k\">\n          <spine>\n{9}          </spine>\n        </sequence>\n      </project>\n"
        "    </event>\n  </library>\n</fcpxml>\n",
        RationalSeconds(1, r), source.width, source.height, EscapeXml(OneLine(source.file_name, 200)),
        RationalSeconds(FramesAt(source.duration_ms, r), r), source.has_video ? 1 : 0, EscapeXml(MediaUrl(source)),
        name, RationalSeconds(length, r), spine);
}

json Time(int64_t frames, FrameRate r) {
    return {{"OTIO_SCHEMA", "RationalTime.1"},
            {"rate", static_cast<double>(r.num) / r.den},
            {"value", static_cast<double>(frames)}};
}

json Range(int64_t start, int64_t duration, FrameRate r) {
    return {{"OTIO_SCHEMA", "TimeRange.1"}, {"start_time", Time(start, r)}, {"duration", Time(duration, r)}};
}

json OtioTrack(const ExportSource& source, const std::vector<ExportClip>& clips, const char* kind) {
    const FrameRate r = source.rate;
    json children = json::array();
    for (const Placed& p : Place(source, clips, 0)) {
        const json reference = {{"OTIO_SCHEMA", "ExternalReference.1"},
                                {"name", OneLine(source.file_name, 200)},
                                {"target_url", MediaUrl(source)},
                                {"available_range", Range(0, FramesAt(source.duration_ms, r), r)},
                                {"metadata", json::object()}};
        children.push_back({{"OTIO_SCHEMA", "Clip.1"},
                            {"name", OneLine(p.clip->title, 200)},
                            {"source_range", Range(p.in, p.out - p.in, r)},
                            {"media_reference", reference},
                            {"metadata", {{"podpromo", {{"clip_id", p.clip->id}, {"why", p.clip->note}}}}},
                            {"effects", json::array()},
                            {"markers", json::array()},
                            {"enabled", true}});
    }
    return {{"OTIO_SCHEMA", "Track.1"},
            {"name", std::string(kind) == "Video" ? "V1" : "A1"},
            {"kind", kind},
            {"children", children},
            {"source_range", nullptr},
            {"metadata", json::object()},
            {"effects", json::array()},
            {"markers", json::array()},
            {"enabled", true}};
}

std::string Otio(const ExportSource& source, const std::vector<ExportClip>& clips) {
    json tracks = json::array();
    if (source.has_video) tracks.push_back(OtioTrack(source, clips, "Video"));
    tracks.push_back(OtioTrack(source, clips, "Audio"));
    const json timeline = {{"OTIO_SCHEMA", "Timeline.1"},
                           {"name", OneLine(source.title, 200) + " (clips)"},
                           {"global_start_time", nullptr},
                           {"metadata", json::object()},
                           {"tracks",
                            {{"OTIO_SCHEMA", "Stack.1"},
                             {"name", "tracks"},
                             {"children", tracks},
                             {"source_range", nullptr},
                             {"metadata", json::object()},
                             {"effects", json::array()},
                             {"markers", json::array()},
                             {"enabled", true}}}};
    return DumpJson(timeline, 2) + "\n";
}

}  // namespace

FrameRate StandardRate(double fps) {
    if (!std::isfinite(fps) || fps <= 0) return {30, 1};
    const FrameRate* best = &kStandardRates[0];
    for (const FrameRate& r : kStandardRates) {
        const double d = std::fabs(fps - static_cast<double>(r.num) / r.den);
        if (d < std::fabs(fps - static_cast<double>(best->num) / best->den)) best = &r;
    }
    return *best;
}

int64_t FramesAt(Ms ms, FrameRate rate) {
    return std::llround(static_cast<double>(ms) * rate.num / (1000.0 * rate.den));
}

std::string Timecode(int64_t frames, FrameRate rate) {
    const int64_t base = rate.Nominal(), f = std::max<int64_t>(frames, 0);
    const int64_t seconds = f / base;
    return fmt::format("{:02d}:{:02d}:{:02d}:{:02d}", seconds / 3600, seconds / 60 % 60, seconds % 60, f % base);
}

namespace {
struct FormatInfo {
    ExportFormat format;
    const char *name, *extension, *content_type;
};
constexpr FormatInfo kFormats[] = {{ExportFormat::kEdl, "edl", ".edl", "text/plain; charset=utf-8"},
                                   {ExportFormat::kFcpxml, "fcpxml", ".fcpxml", "application/xml; charset=utf-8"},
                                   {ExportFormat::kOtio, "otio", ".otio", "application/json"}};
const FormatInfo& InfoOf(ExportFormat format) {
    for (const FormatInfo& f : kFormats) {
        if (f.format == format) return f;
    }
    return kFormats[0];
}
}  // namespace

std::optional<ExportFormat> ParseExportFormat(std::string_view name) {
    for (const FormatInfo& f : kFormats) {
        if (name == f.name) return f.format;
    }
    return std::nullopt;
}

std::string ExportExtension(ExportFormat format) { return InfoOf(format).extension; }

std::string ExportContentType(ExportFormat format) { return InfoOf(format).content_type; }

std::string ExportClips(ExportFormat format, const ExportSource& source, const std::vector<ExportClip>& clips) {
    switch (format) {
        case ExportFormat::kEdl:
            return Edl(source, clips);
        case ExportFormat::kFcpxml:
            return Fcpxml(source, clips);
        case ExportFormat::kOtio:
            return Otio(source, clips);
    }
    return "";
}

}  // namespace podpromo
