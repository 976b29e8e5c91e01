// Speech recognition behind one interface, so engines can be swapped by configuration.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"
#include "podpromo/media/audio_features.h"
#include "podpromo/media/pcm_source.h"

namespace podpromo {

// Turns 16 kHz mono PCM (in memory or spilled to disk) into a transcript with word timings. Implementations report
// stage "transcribe", stop with Cancelled when asked, and may use several threads internally. One instance may be used
// by one caller at a time.
class Transcriber {
  public:
    virtual ~Transcriber() = default;
    virtual std::string Name() const = 0;
    virtual Result<Transcript> Transcribe(const PcmSource& pcm, const AudioFrames& frames, const ProgressFn& progress,
                                          const CancelToken* cancel) = 0;
};

struct PocketsphinxConfig {
    std::string model_dir = "/usr/share/pocketsphinx/model/en-us";
    int threads = 0;             // 0: one per core
    Ms chunk_target_ms = 20000;  // chunks are cut at the longest pause near this length...
    Ms chunk_max_ms = 30000;     // ...and never longer than this
    // Decoder flags (name, value) applied after the defaults; the defaults are the fast settings measured
    // in DESIGN.md §3 (-topn 2 -maxwpf 5 -maxhmmpf 3000) with the flat-lexicon pass kept on (-fwdflat yes):
    // on flite voices it cost ~10% time and saved 3-4 WER points.
    std::vector<std::pair<std::string, std::string>> flags;
};

// InvalidInput/Unavailable when the acoustic model, language model or dictionary is missing.
Status CheckPocketsphinxModel(const PocketsphinxConfig& config);

std::unique_ptr<Transcriber> MakePocketsphinxTranscriber(PocketsphinxConfig config);

// Where to cut audio for recognition: [start, end) spans that end inside pauses, each at most `max_ms`.
// Spans that are entirely pause are dropped.
std::vector<std::pair<Ms, Ms>> PlanChunks(const AudioFrames& frames, Ms target_ms, Ms max_ms);

// Groups words (in time order) into segments, breaking at gaps of at least `gap_ms` and keeping segments
// under `max_ms` (split at their largest inner gap).
std::vector<Segment> GroupWordsIntoSegments(const std::vector<Word>& words, Ms gap_ms = 300, Ms max_ms = 15000);

}  // namespace podpromo
