#include "podpromo/media/audio_cut.h"

#include <fmt/format.h>

#include "podpromo/core/subprocess.h"
#include "podpromo/files/atomic.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"

namespace podpromo {
namespace fs = std::filesystem;

Status CutAudio(const fs::path& source, Ms start_ms, Ms end_ms, const fs::path& dest, const CancelToken* cancel) {
    if (end_ms <= start_ms) return Status::Internal("empty cut");
    const double start = static_cast<double>(start_ms) / 1000.0, dur = static_cast<double>(end_ms - start_ms) / 1000.0;
    const fs::path tmp = dest.parent_path() / ("." + dest.filename().string() + ".part");
    const std::string fades = CutFades(end_ms - start_ms);
    auto norm = LoudnessFilter(source, start_ms, end_ms, fades, cancel);
    if (!norm.ok()) return norm.status();
    auto source_input = FfmpegInput(source);
    if (!source_input.ok()) return source_input.status();
    std::vector<std::string> input = {"ffmpeg",       "-nostdin",
                                      "-hide_banner", "-y",
                                      "-ss",          fmt::format("{:.3f}", start),
                                      "-t",           fmt::format("{:.3f}", dur)};
    input.insert(input.end(), source_input->begin(), source_input->end());
    input.push_back("-vn");
    // Pass 2: cut, fade and normalise in one encode.
    std::vector<std::string> argv = input;
    argv.insert(argv.end(),
                {"-loglevel", "error", "-af", fades + "," + *norm, "-ar", "48000", "-ac", "2", "-c:a", "aac", "-b:a",
                 "160k", "-movflags", "+faststart", "-f", "mp4", "file:" + fs::absolute(tmp).string()});
    auto r = RunProcess(argv, cancel, TimeLimitMs(end_ms - start_ms, 2), kChildMemoryBytes);
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
