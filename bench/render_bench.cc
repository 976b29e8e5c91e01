// Render benchmark, everything measured in this one run on this machine:
//  1. one 30 s 1080×1920 captioned audiogram: PodPromo's single pass against the original system's approach
//     (a trim+scale pass, then a captions pass, then a finalize pass, each a separate ffmpeg re-encode at
//     preset fast) on the same clip; prints both wall times and their ratio (goal <= 0.5);
//  2. five clips of an episode through the pipeline's writer: wall time, CPU time of the ffmpeg children and
//     the cores that kept busy (CPU / wall; goal: both cores, about 2 on this 2-core machine);
//  3. the editor's still preview of a clip against reading one frame out of the rendered clip (goal < 1 s).
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "podpromo/core/subprocess.h"
#include "podpromo/files/atomic.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"
#include "podpromo/scoring/platform.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace podpromo;
using namespace podpromo::testing;

namespace {

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double ChildCpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_CHILDREN, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

bool Ffmpeg(std::vector<std::string> args) {
    args.insert(args.begin(), {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"});
    auto r = RunProcess(args);
    if (!r.ok() || r->exit_code != 0) {
        std::cerr << "ffmpeg failed: " << (r.ok() ? r->err : r.status().ToString()) << "\n";
        return false;
    }
    return true;
}

int Main() {
    TempDir dir;
    auto script = LoadScript(fs::path(PODPROMO_TEST_DATA) / "business_interview.tsv");
    if (!script.ok()) return 1;
    const fs::path wav = dir / "episode.wav";
    auto timeline = SynthesizeEpisode(*script, wav);
    if (!timeline.ok()) {
        std::cerr << timeline.status().ToString() << "\n";
        return 1;
    }
    Transcript transcript{"bench", {}, {}};
    for (const auto& l : *timeline) {
        std::istringstream in(l.line.text);
        std::vector<std::string> ws;
        for (std::string w; in >> w;) ws.push_back(w);
        Segment seg{l.start_ms, l.end_ms, l.line.text, 1.0, {}, ""};
        const double step = static_cast<double>(l.end_ms - l.start_ms) / static_cast<double>(ws.size());
        for (size_t i = 0; i < ws.size(); ++i) {
            seg.words.push_back({ws[i], l.start_ms + static_cast<Ms>(step * static_cast<double>(i)),
                                 l.start_ms + static_cast<Ms>(step * (static_cast<double>(i) + 0.9)), 1.0});
        }
        transcript.segments.push_back(std::move(seg));
    }
    const auto words = transcript.AllWords();
    const Ms start = 20000, end = 50000;
    const auto preset = *PresetFor("tiktok");
    std::cout << fmt::format("clip: 30.0 s of flite speech, {}x{} captioned audiogram, {} cores\n", preset.width,
                             preset.height, std::thread::hardware_concurrency());

    // 1a. PodPromo: one pass.
    RenderRequest rq;
    rq.source = wav;
    rq.start_ms = start;
    rq.end_ms = end;
    rq.words = words;
    rq.preset = preset;
    rq.style = *StyleByName("bold");
    rq.title = "The biggest mistake founders make";
    double t0 = Now();
    auto ours = RenderClip(rq, {dir / "ours.mp4", {}, {}});
    const double ours_s = Now() - t0;
    if (!ours.ok()) {
        std::cerr << ours.status().ToString() << "\n";
        return 1;
    }

    // 1b. The original approach: three re-encodes at preset fast, with the same picture.
    std::vector<Word> rel;
    for (const auto& w : words) {
        if (w.start_ms >= start && w.end_ms <= end) rel.push_back({w.text, w.start_ms - start, w.end_ms - start, 1});
    }
    if (!WriteFileAtomic(dir / "captions.ass", BuildCaptionsAss(rel, preset, rq.style, rq.title, end - start)).ok())
        return 1;
    const std::string fast[] = {"-c:v", "libx264", "-preset", "fast", "-pix_fmt", "yuv420p"};
    t0 = Now();
    std::vector<std::string> pass1 = {
        "-ss",
        "20",
        "-t",
        "30",
        "-i",
        wav.string(),
        "-filter_complex",
        "gradients=s=1080x1920:c0=0x1B1F3B:c1=0x4A2C6F:x0=0:y0=0:x1=1080:y1=1920:n=2:speed=0.00001:r=30[bg];"
        "[0:a]showwaves=s=720x360:mode=cline:rate=30:colors=0xE8F0FF:scale=sqrt[w];"
        "[bg][w]overlay=180:660:shortest=1,scale=1080:1920[v]",
        "-map",
        "[v]",
        "-map",
        "0:a"};
    pass1.insert(pass1.end(), std::begin(fast), std::end(fast));
    pass1.insert(pass1.end(), {"-c:a", "aac", (dir / "p1.mp4").string()});
    std::vector<std::string> pass2 = {"-i", (dir / "p1.mp4").string(), "-vf", "ass=" + (dir / "captions.ass").string()};
    pass2.insert(pass2.end(), std::begin(fast), std::end(fast));
    pass2.insert(pass2.end(), {"-c:a", "copy", (dir / "p2.mp4").string()});
    std::vector<std::string> pass3 = {"-i", (dir / "p2.mp4").string(), "-af", "loudnorm=I=-14:TP=-1.5:LRA=11"};
    pass3.insert(pass3.end(), std::begin(fast), std::end(fast));
    pass3.insert(pass3.end(), {"-c:a", "aac", "-ar", "48000", "-movflags", "+faststart", (dir / "p3.mp4").string()});
    if (!Ffmpeg(pass1) || !Ffmpeg(pass2) || !Ffmpeg(pass3)) return 1;
    const double base_s = Now() - t0;
    std::cout << fmt::format("{:<52} {:7.1f} s\n", "original approach (3 re-encodes, preset fast)", base_s);
    std::cout << fmt::format("{:<52} {:7.1f} s\n", "podpromo RenderClip (one pass + loudness scan)", ours_s);
    std::cout << fmt::format("render time ratio (podpromo / original): {:.3f}   (goal <= 0.5)\n", ours_s / base_s);

    // 2. Five clips through the pipeline writer, as `process --out` and the workers run them.
    EpisodeResult r;
    r.id = "bench";
    r.source = wav;
    r.media = *ProbeMedia(wav);
    r.platform = *PlatformByName("tiktok");
    r.transcript = transcript;
    for (int i = 0; i < 5; ++i) {
        const Ms s = 10000 + i * 25000, e = s + 20000;
        Candidate c{0, 0, s, e};
        while (c.first_word < words.size() && words[c.first_word].start_ms < s) ++c.first_word;
        c.end_word = c.first_word;
        while (c.end_word < words.size() && words[c.end_word].end_ms <= e) ++c.end_word;
        ScoredClip clip;
        clip.candidate = c;
        clip.title = fmt::format("Clip {}", i + 1);
        r.clips.push_back(clip);
    }
    MediaOptions media;
    media.style = rq.style;
    const double cpu0 = ChildCpuSeconds();
    t0 = Now();
    const Status st = WriteOutputs(&r, dir / "five", media);
    const double wall = Now() - t0, cpu = ChildCpuSeconds() - cpu0;
    if (!st.ok()) {
        std::cerr << st.ToString() << "\n";
        return 1;
    }
    std::cout << fmt::format(
        "five 20 s clips (video + audio + thumbnail): {:.1f} s wall, {:.1f} s CPU in ffmpeg, "
        "{:.2f} cores busy of {}\n",
        wall, cpu, cpu / wall, std::thread::hardware_concurrency());

    // 3. The editor's still preview (RenderStill) against reading one frame out of the rendered clip: what a preview
    // costs beyond decoding a picture. Median of five each.
    const auto median_ms = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2] * 1000;
    };
    std::vector<double> still_s, grab_s;
    for (int i = 0; i < 5; ++i) {
        const Ms at = start + 4000 + i * 3000;
        t0 = Now();
        auto still = RenderStill(rq, at);
        still_s.push_back(Now() - t0);
        if (!still.ok()) {
            std::cerr << still.status().ToString() << "\n";
            return 1;
        }
        t0 = Now();
        if (!Ffmpeg({"-ss", fmt::format("{:.3f}", (at - start) / 1000.0), "-i", (dir / "ours.mp4").string(),
                     "-frames:v", "1", (dir / "grab.jpg").string()})) {
            return 1;
        }
        grab_s.push_back(Now() - t0);
    }
    std::cout << fmt::format("{:<52} {:7.0f} ms   (goal < 1000 ms)\n", "preview still (RenderStill), median of 5",
                             median_ms(still_s));
    std::cout << fmt::format("{:<52} {:7.0f} ms\n", "one frame read from the rendered clip, median of 5",
                             median_ms(grab_s));
    std::cout << fmt::format("preview time ratio (still / frame read): {:.2f}\n",
                             median_ms(still_s) / median_ms(grab_s));
    return 0;
}

}  // namespace

int main() { return Main(); }
