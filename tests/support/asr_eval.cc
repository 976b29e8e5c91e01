#include "asr_eval.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "podpromo/asr/transcript_io.h"
#include "podpromo/media/audio_features.h"
#include "podpromo/media/decode.h"
#include "podpromo/media/probe.h"
#include "testsupport.h"

namespace podpromo::testing {
namespace fs = std::filesystem;

namespace {

double CpuSeconds(int who) {
    rusage u{};
    getrusage(who, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

Result<Pcm> Decode(const fs::path& media) {
    if (media.extension() == ".raw") return PcmFromS16le(ReadFile(media));  // headerless s16le 16 kHz mono
    auto info = ProbeMedia(media);
    if (!info.ok()) return info.status();
    return DecodeToPcm(media, *info);
}

}  // namespace

Pcm PcmFromS16le(const std::string& bytes) {
    Pcm pcm;
    pcm.samples.resize(bytes.size() / 2);
    std::memcpy(pcm.samples.data(), bytes.data(), pcm.samples.size() * 2);
    return pcm;
}

std::string ReferenceText(const fs::path& ref) {
    std::ifstream in(ref);
    std::string line, out;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line[0] == '[') continue;
        const auto colon = line.find(':');
        if (colon != std::string::npos && colon < 12 && line.find(' ') > colon) line = line.substr(colon + 1);
        out += line + " ";
    }
    return out;
}

Result<std::vector<Recording>> LoadReferencedRecordings(const fs::path& data) {
    std::vector<Recording> out;
    for (const char* sub : {"audio", "video"}) {
        if (!fs::is_directory(data / sub)) continue;
        for (const auto& e : fs::directory_iterator(data / sub)) {
            const std::string name = e.path().filename().string();
            if (name.size() < 8 || name.substr(name.size() - 8) != ".ref.txt") continue;
            Recording r;
            r.name = name.substr(0, name.size() - 8);
            for (const char* ext : {".wav", ".flac", ".mp3", ".raw", ".mpg", ".mp4"}) {
                if (fs::exists(data / sub / (r.name + ext))) r.media = data / sub / (r.name + ext);
            }
            if (r.media.empty()) continue;
            auto pcm = Decode(r.media);
            if (!pcm.ok()) return Status::Internal(r.name + ": " + pcm.status().message());
            r.pcm = std::move(*pcm);
            r.reference = ReferenceText(e.path());
            out.push_back(std::move(r));
        }
    }
    std::sort(out.begin(), out.end(), [](const Recording& a, const Recording& b) { return a.name < b.name; });
    return out;
}

Result<Recording> MixedRecording(const std::vector<Recording>& recordings) {
    const std::vector<std::string> parts = {"jfk_inaugural_11s_16k_mono",
                                            "librivox_sense_and_sensibility_ch01_0870",
                                            "librivox_sense_and_sensibility_ch01_0880",
                                            "librivox_sense_and_sensibility_ch01_0890",
                                            "librivox_sense_and_sensibility_ch01_0920",
                                            "librivox_sense_and_sensibility_ch01_0930",
                                            "librivox_shakespeare_sonnet001_16k",
                                            "pyannote_sample_2spk_phone_30s"};
    Recording mixed;
    mixed.name = "mixed_127s (jfk, 5 librivox passages, sonnet, phone call)";
    for (const auto& name : parts) {
        auto it =
            std::find_if(recordings.begin(), recordings.end(), [&](const Recording& r) { return r.name == name; });
        if (it == recordings.end()) return Status::NotFound("no recording " + name);
        if (!mixed.pcm.samples.empty()) mixed.pcm.samples.insert(mixed.pcm.samples.end(), 16000, 0);
        mixed.pcm.samples.insert(mixed.pcm.samples.end(), it->pcm.samples.begin(), it->pcm.samples.end());
        mixed.reference += it->reference + " ";
    }
    return mixed;
}

Result<Measured> MeasurePodpromo(const Recording& r, PocketsphinxConfig config) {
    auto frames = AnalyzeAudio(r.pcm);
    if (!frames.ok()) return frames.status();
    config.threads = 1;
    auto asr = MakePocketsphinxTranscriber(std::move(config));
    const double cpu0 = CpuSeconds(RUSAGE_SELF);
    auto t = asr->Transcribe(MemoryPcmSource(r.pcm), *frames, {}, nullptr);
    const double cpu1 = CpuSeconds(RUSAGE_SELF);
    if (!t.ok()) return t.status();
    Measured m;
    for (const auto& s : t->segments) m.hypothesis += s.text + " ";
    m.wer = WordErrorRate(r.reference, m.hypothesis);
    m.cpu_seconds = cpu1 - cpu0;
    return m;
}

Result<Measured> MeasurePocketsphinxContinuous(const Recording& r, const std::string& model_dir) {
    TempDir dir;
    const fs::path wav = dir / "in.wav";
    WriteWav(r.pcm, wav);
    const fs::path m(model_dir);
    const double cpu0 = CpuSeconds(RUSAGE_CHILDREN);
    auto run = RunProcess({"pocketsphinx_continuous", "-infile", wav.string(), "-hmm", (m / "en-us").string(), "-lm",
                           (m / "en-us.lm.bin").string(), "-dict", (m / "cmudict-en-us.dict").string(), "-logfn",
                           "/dev/null"});
    const double cpu1 = CpuSeconds(RUSAGE_CHILDREN);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0) return Status::Internal("pocketsphinx_continuous failed: " + run->err);
    Measured out;
    out.hypothesis = run->out;  // one line per utterance it found
    out.wer = WordErrorRate(r.reference, out.hypothesis);
    out.cpu_seconds = cpu1 - cpu0;
    return out;
}

WerSummary Summarize(const std::vector<Recording>& recordings, const std::vector<Measured>& measured) {
    WerSummary s;
    double errors = 0, words = 0;
    for (size_t i = 0; i < recordings.size() && i < measured.size(); ++i) {
        const double n = static_cast<double>(NormalizeForWer(recordings[i].reference).size());
        s.mean += measured[i].wer;
        errors += measured[i].wer * n;
        words += n;
        s.cpu_seconds += measured[i].cpu_seconds;
    }
    if (!measured.empty()) s.mean /= static_cast<double>(std::min(recordings.size(), measured.size()));
    s.pooled = words > 0 ? errors / words : 0;
    return s;
}

}  // namespace podpromo::testing
