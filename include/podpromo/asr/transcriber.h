// Speech recognition behind one interface, so engines can be swapped by configuration: pocketsphinx
// (asr/pocketsphinx.h) or a Whisper-compatible server (asr/whisper_http.h).
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

}  // namespace podpromo
