// Decoding any audio/video container to 16 kHz mono s16 PCM with libavformat/libavcodec/libswresample.
#pragma once

#include <filesystem>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"
#include "podpromo/media/probe.h"

namespace podpromo {

constexpr int kAnalysisSampleRate = 16000;
// The longest episode decoded unless told otherwise (MAX_EPISODE_SECONDS's default).
constexpr Ms kDefaultMaxEpisodeMs = Ms{6} * 3600 * 1000;

// Streams the best audio stream of `path` through the decoder into 16 kHz mono s16. Memory is the PCM
// itself plus a few packets (the buffer is sized from the declared duration). Reports progress as stage
// "decode". Errors: InvalidInput when the content cannot be decoded, is truncated well short of its
// declared length, yields no audio, or declares or decodes to more than `max_ms` (found while decoding, so a
// lying header costs no more than `max_ms` of audio); Cancelled. Thread-safe (one call per thread).
Result<Pcm> DecodeToPcm(const std::filesystem::path& path, const MediaInfo& info, const ProgressFn& progress = {},
                        const CancelToken* cancel = nullptr, Ms max_ms = kDefaultMaxEpisodeMs);

struct AudioCheck {
    Ms duration_ms = 0;    // decoded length
    bool audible = false;  // at least a second of sound above -45 dBFS (CheckAudible's rule)
};

// Decodes `path` only to check it, keeping no PCM (memory stays a few packets whatever the length): the
// same errors as DecodeToPcm for content that cannot be decoded or is truncated. Thread-safe.
Result<AudioCheck> CheckDecodable(const std::filesystem::path& path, const MediaInfo& info,
                                  const CancelToken* cancel = nullptr, Ms max_ms = kDefaultMaxEpisodeMs);

// InvalidInput when `pcm` is too quiet to hold speech anywhere ("the audio is silent").
Status CheckAudible(const Pcm& pcm);

}  // namespace podpromo
