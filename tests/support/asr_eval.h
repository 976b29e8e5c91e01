// Measuring recognition on the real recordings in ../shared/data that have a human reference (*.ref.txt),
// shared by the regression test and the tuning benchmark (bench/asr_tuning.cc).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "podpromo/asr/pocketsphinx.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo::testing {

struct Recording {
    std::string name;  // file stem, e.g. "jfk_inaugural_11s_16k_mono"
    std::filesystem::path media;
    std::string reference;  // spoken words only (speaker labels and section headers removed)
    Pcm pcm;                // 16 kHz mono, decoded the way the pipeline decodes
    double seconds() const { return static_cast<double>(pcm.samples.size()) / 16000.0; }
};

// Every recording under data/audio and data/video with a reference, decoded, in name order.
Result<std::vector<Recording>> LoadReferencedRecordings(const std::filesystem::path& data);

// The long mixed recording of issue 15: JFK (16 kHz mono), the five LibriVox passages, the first sonnet and the
// two-speaker phone call, in that order, with 1 s of silence between each (about 127 s). Its reference is theirs
// joined. NotFound when one of them is not among `recordings`.
Result<Recording> MixedRecording(const std::vector<Recording>& recordings);

// 16 kHz mono PCM from headerless s16le bytes (a .raw recording, or what `ffmpeg -f s16le` wrote).
Pcm PcmFromS16le(const std::string& bytes);

// The reference file's spoken words: lines starting with '#' or '[' and "Speaker:" labels are dropped.
std::string ReferenceText(const std::filesystem::path& ref);

struct Measured {
    std::string hypothesis;
    double wer = 0;
    double cpu_seconds = 0;  // recognition CPU time
};

// Recognises with PodPromo's pocketsphinx transcriber on one thread (so CPU time is comparable).
Result<Measured> MeasurePodpromo(const Recording& r, PocketsphinxConfig config);

// Recognises with Debian's pocketsphinx_continuous and its own defaults (only the model paths given) on a
// WAV of the same PCM; CPU time is the child's.
Result<Measured> MeasurePocketsphinxContinuous(const Recording& r, const std::string& model_dir);

// Mean of per-recording word error rates, and the rate over all words pooled.
struct WerSummary {
    double mean = 0;
    double pooled = 0;
    double cpu_seconds = 0;
};
WerSummary Summarize(const std::vector<Recording>& recordings, const std::vector<Measured>& measured);

}  // namespace podpromo::testing
