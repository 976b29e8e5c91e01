// asr_tuning [DATA_DIR [--mixed] [NAME...]]: word error rate and speed of pocketsphinx settings on every recording
// in ../shared/data that has a reference, measured in one run against pocketsphinx_continuous's own defaults
// (Debian's binary, only the model paths given). Prints a Markdown table; speed is recognition CPU time per
// second of audio on one core, and its ratio to the reference binary's. --mixed measures the long mixed
// recording (asr_eval.h: MixedRecording) instead. NAMEs keep only the settings whose names contain one of them.
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "asr_eval.h"
#include "podpromo/core/subprocess.h"
#include "testsupport.h"

namespace pt = podpromo::testing;
using podpromo::PocketsphinxConfig;

namespace {

struct Setting {
    std::string name;
    std::vector<std::pair<std::string, std::string>> flags;
    podpromo::Ms chunk_target_ms = 20000, chunk_max_ms = 30000;
    bool soxr = false;  // audio resampled to 16 kHz with soxr instead of libswresample's default filter
};

// The decoder's own values for the search caps PodPromo's fast settings change.
const std::vector<std::pair<std::string, std::string>> kDecoderDefaults = {
    {"-topn", "4"}, {"-maxwpf", "-1"}, {"-maxhmmpf", "30000"}};

std::vector<Setting> Settings() {
    PocketsphinxConfig def;
    std::vector<Setting> s;
    s.push_back({"podpromo default", def.flags, def.chunk_target_ms, def.chunk_max_ms});
    auto with = [&](std::string name, std::vector<std::pair<std::string, std::string>> extra) {
        Setting x{std::move(name), def.flags, def.chunk_target_ms, def.chunk_max_ms};
        x.flags.insert(x.flags.end(), extra.begin(), extra.end());
        s.push_back(std::move(x));
    };
    with("before tuning (wip 0.65, beam 1e-48, wbeam 7e-29)",
         {{"-wip", "0.65"}, {"-beam", "1e-48"}, {"-wbeam", "7e-29"}});
    with("decoder's default search caps (topn 4, no word/HMM caps)", kDecoderDefaults);
    with("lw 5", {{"-lw", "5"}});
    with("lw 8", {{"-lw", "8"}});
    with("lw 10", {{"-lw", "10"}});
    with("wip 0.1", {{"-wip", "0.1"}});
    with("wip 0.4", {{"-wip", "0.4"}});
    with("wider beams (beam 1e-80, wbeam 1e-50)", {{"-beam", "1e-80"}, {"-wbeam", "1e-50"}});
    with("narrow beams (beam 1e-40, wbeam 1e-20)", {{"-beam", "1e-40"}, {"-wbeam", "1e-20"}});
    with("no fwdflat pass", {{"-fwdflat", "no"}});
    with("no bestpath", {{"-bestpath", "no"}});
    with("no noise removal", {{"-remove_noise", "no"}});
    with("no silence removal (VAD off)", {{"-remove_silence", "no"}});
    Setting shortc{"chunks 8-12 s", def.flags, 8000, 12000};
    s.push_back(shortc);
    Setting longc{"chunks 45-60 s", def.flags, 45000, 60000};
    s.push_back(longc);
    Setting sox{"soxr resampling", def.flags, def.chunk_target_ms, def.chunk_max_ms, true};
    s.push_back(sox);
    return s;
}

// The recording resampled by the ffmpeg program: with soxr, or with libswresample's default filter (which is
// what the pipeline's decoder uses).
bool Resample(pt::Recording* r, bool soxr) {
    if (r->media.extension() == ".raw") return true;
    pt::TempDir dir;
    const auto out = dir / "out.raw";
    std::vector<std::string> args = {"ffmpeg", "-nostdin", "-v", "error", "-i", r->media.string(), "-vn"};
    if (soxr) {
        args.insert(args.end(), {"-af", "aresample=resampler=soxr:precision=28"});
    }
    args.insert(args.end(), {"-ac", "1", "-ar", "16000", "-f", "s16le", out.string()});
    auto run = podpromo::RunProcess(args);
    if (!run.ok() || run->exit_code != 0) return false;
    r->pcm = pt::PcmFromS16le(pt::ReadFile(out));
    return true;
}

std::string Pct(double x) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << x * 100 << "%";
    return s.str();
}

std::string Fixed(double x, int digits) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << x;
    return s.str();
}

}  // namespace

int main(int argc, char** argv) {
    const std::filesystem::path data = argc > 1 ? std::filesystem::path(argv[1]) : pt::SharedData();
    if (data.empty() || !std::filesystem::is_directory(data)) {
        std::cerr << "asr_tuning: no recordings (pass ../shared/data)\n";
        return 2;
    }
    auto recordings = pt::LoadReferencedRecordings(data);
    if (!recordings.ok()) {
        std::cerr << "asr_tuning: " << recordings.status().message() << "\n";
        return 1;
    }
    int first_name = 2;
    if (argc > 2 && std::string(argv[2]) == "--mixed") {
        auto mixed = pt::MixedRecording(*recordings);
        if (!mixed.ok()) {
            std::cerr << "asr_tuning: " << mixed.status().message() << "\n";
            return 1;
        }
        recordings = std::vector<pt::Recording>{*mixed};
        first_name = 3;
    }
    double audio_s = 0;
    for (const auto& r : *recordings) audio_s += r.seconds();
    std::cerr << recordings->size() << " recordings, " << Fixed(audio_s, 1) << " s of audio\n";
    const std::string model = PocketsphinxConfig{}.model_dir;

    std::vector<pt::Measured> ref;
    for (const auto& r : *recordings) {
        auto m = pt::MeasurePocketsphinxContinuous(r, model);
        if (!m.ok()) {
            std::cerr << "asr_tuning: " << m.status().message() << "\n";
            return 1;
        }
        ref.push_back(*m);
    }
    const auto base = pt::Summarize(*recordings, ref);
    std::map<std::string, std::vector<std::string>> per_file;
    for (size_t i = 0; i < ref.size(); ++i) per_file[(*recordings)[i].name].push_back(Pct(ref[i].wer));

    std::cout << "| setting | mean WER | pooled WER | CPU s per audio s | speed vs reference |\n"
              << "|---|---|---|---|---|\n"
              << "| pocketsphinx_continuous defaults (reference) | " << Pct(base.mean) << " | " << Pct(base.pooled)
              << " | " << Fixed(base.cpu_seconds / audio_s, 3) << " | 1.00x |\n"
              << std::flush;
    std::vector<std::string> names = {"reference"};
    for (const auto& s : Settings()) {
        bool wanted = argc <= first_name;
        for (int i = first_name; i < argc; ++i) wanted = wanted || s.name.find(argv[i]) != std::string::npos;
        if (!wanted) continue;
        auto recs = *recordings;
        if (s.soxr) {
            for (auto& r : recs) {
                if (!Resample(&r, true)) {
                    std::cerr << "asr_tuning: ffmpeg could not resample " << r.name << "\n";
                    return 1;
                }
            }
        }
        PocketsphinxConfig config;
        config.flags = s.flags;
        config.chunk_target_ms = s.chunk_target_ms;
        config.chunk_max_ms = s.chunk_max_ms;
        std::vector<pt::Measured> got;
        for (const auto& r : recs) {
            auto m = pt::MeasurePodpromo(r, config);
            if (!m.ok()) {
                std::cerr << "asr_tuning: " << s.name << ": " << m.status().message() << "\n";
                return 1;
            }
            got.push_back(*m);
        }
        const auto sum = pt::Summarize(recs, got);
        for (size_t i = 0; i < got.size(); ++i) per_file[recs[i].name].push_back(Pct(got[i].wer));
        names.push_back(s.name);
        std::cout << "| " << s.name << " | " << Pct(sum.mean) << " | " << Pct(sum.pooled) << " | "
                  << Fixed(sum.cpu_seconds / audio_s, 3) << " | "
                  << Fixed(base.cpu_seconds / std::max(1e-9, sum.cpu_seconds), 2) << "x |\n"
                  << std::flush;
    }
    std::cout << "\nPer recording (columns in the order above):\n\n| recording |";
    for (size_t i = 0; i < names.size(); ++i) std::cout << " " << i << " |";
    std::cout << "\n|---|";
    for (size_t i = 0; i < names.size(); ++i) std::cout << "---|";
    std::cout << "\n";
    for (const auto& [name, cells] : per_file) {
        std::cout << "| " << name << " |";
        for (const auto& c : cells) std::cout << " " << c << " |";
        std::cout << "\n";
    }
    return 0;
}
