#include "podpromo/media/audio_cut.h"

#include <fmt/format.h>

#include "podpromo/core/subprocess.h"
#include "podpromo/files/atomic.h"

namespace podpromo {
namespace fs = std::filesystem;

namespace {

// The first loudnorm pass's measurements, fed to the second for an exact, linear gain.
struct Loudness {
    std::string i, tp, lra, thresh, offset;
};

std::string JsonField(const std::string& text, const std::string& key) {
    const auto at = text.find("\"" + key + "\"");
    if (at == std::string::npos) return "";
    const auto q1 = text.find('"', text.find(':', at) + 1);
    const auto q2 = text.find('"', q1 + 1);
    return (q1 == std::string::npos || q2 == std::string::npos) ? "" : text.substr(q1 + 1, q2 - q1 - 1);
}

constexpr const char* kTarget = "I=-14:TP=-1.5:LRA=11";

}  // namespace

Status CutAudio(const fs::path& source, Ms start_ms, Ms end_ms, const fs::path& dest, const CancelToken* cancel) {
    if (end_ms <= start_ms) return Status::Internal("empty cut");
    const double start = static_cast<double>(start_ms) / 1000.0, dur = static_cast<double>(end_ms - start_ms) / 1000.0;
    const fs::path tmp = dest.parent_path() / ("." + dest.filename().string() + ".part");
    const std::string fades =
        fmt::format("afade=t=in:st=0:d=0.05,afade=t=out:st={:.3f}:d=0.15", std::max(0.0, dur - 0.15));
    const std::vector<std::string> input = {"ffmpeg",       "-nostdin",
                                            "-hide_banner", "-y",
                                            "-ss",          fmt::format("{:.3f}", start),
                                            "-t",           fmt::format("{:.3f}", dur),
                                            "-i",           "file:" + fs::absolute(source).string(),
                                            "-vn"};
    // Pass 1: measure the cut's loudness.
    std::vector<std::string> measure = input;
    measure.insert(measure.end(),
                   {"-af", fades + ",loudnorm=" + std::string(kTarget) + ":print_format=json", "-f", "null", "-"});
    auto m = RunProcess(measure, cancel);
    if (!m.ok()) return m.status();
    if (m->exit_code != 0) return Status::IoError("ffmpeg could not read the audio to cut");
    const Loudness l{JsonField(m->err, "input_i"), JsonField(m->err, "input_tp"), JsonField(m->err, "input_lra"),
                     JsonField(m->err, "input_thresh"), JsonField(m->err, "target_offset")};
    std::string norm = std::string("loudnorm=") + kTarget;
    if (!l.i.empty() && l.i != "-inf" && !l.tp.empty() && !l.lra.empty() && !l.thresh.empty() && !l.offset.empty()) {
        norm += fmt::format(":measured_I={}:measured_TP={}:measured_LRA={}:measured_thresh={}:offset={}:linear=true",
                            l.i, l.tp, l.lra, l.thresh, l.offset);
    }
    // Pass 2: cut, fade and normalise in one encode.
    std::vector<std::string> argv = input;
    argv.insert(argv.end(),
                {"-loglevel", "error", "-af", fades + "," + norm, "-ar", "48000", "-ac", "2", "-c:a", "aac", "-b:a",
                 "160k", "-movflags", "+faststart", "-f", "mp4", "file:" + fs::absolute(tmp).string()});
    auto r = RunProcess(argv, cancel);
    std::error_code ec;
    if (!r.ok()) {
        fs::remove(tmp, ec);
        return r.status();
    }
    if (r->exit_code != 0) {
        fs::remove(tmp, ec);
        const std::string err = r->err.substr(0, r->err.find('\n'));
        if (err.find("No space left") != std::string::npos)
            return Status::NoSpace("cannot write " + dest.string() + ": no space left on device");
        return Status::IoError("ffmpeg could not cut the audio: " + err);
    }
    fs::rename(tmp, dest, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return StatusFromErrno(ec.value(), "cannot write " + dest.string());
    }
    return Status::Ok();
}

}  // namespace podpromo
