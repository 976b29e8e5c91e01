// Audio features per 10 ms frame, and statistics over a span of them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

constexpr Ms kFrameMs = 10;

// One value per 10 ms frame of the episode. Immutable after AnalyzeAudio; safe to share between threads.
struct AudioFrames {
    std::vector<float> db;         // RMS level in dBFS (floor -100)
    std::vector<float> f0_hz;      // voiced fundamental frequency, 0 where unvoiced
    std::vector<uint8_t> pause;    // 1 inside a pause (quiet for at least kMinPauseMs)
    float noise_floor_db = -100;   // 10th percentile level
    float speech_level_db = -100;  // 90th percentile level

    size_t size() const { return db.size(); }
    Ms DurationMs() const { return static_cast<Ms>(db.size()) * kFrameMs; }
    // Frame index containing time `ms`, clamped to the frames.
    size_t FrameAt(Ms ms) const;
};

constexpr Ms kMinPauseMs = 150;

// Computes the per-frame features. Linear in the PCM length; reports stage "analyze". Errors: Cancelled.
Result<AudioFrames> AnalyzeAudio(const Pcm& pcm, const ProgressFn& progress = {}, const CancelToken* cancel = nullptr);

// Pauses (quiet runs of at least `min_ms`) as [start, end) in ms, in order.
std::vector<std::pair<Ms, Ms>> FindPauses(const AudioFrames& frames, Ms min_ms);

// What a span of audio sounds like. Levels in dB; pitch variation in semitones.
struct SpanAudioStats {
    double level_p10_db = -100, level_p50_db = -100, level_p90_db = -100;
    double dynamic_range_db = 0;        // p90 - p10 of voiced frames
    double loudness_vs_episode_db = 0;  // p50 of the span minus the episode's speech level
    double pitch_mean_hz = 0;
    double pitch_variation_st = 0;  // standard deviation of voiced pitch in semitones
    double voiced_ratio = 0;
    double pause_ratio = 0;
    double onset_lift_db = 0;  // level of the first 3 s minus the level of the second before the span
    int laughter_bursts = 0;   // runs of short loud voiced bursts, a laughter-like pattern
};

// A compact binary form of the frames (about 9 bytes a frame: 3.2 MB for 3 hours), so a stored episode can be
// rescored without decoding it again. Parse: InvalidInput for anything that is not such a document.
std::string SerializeFrames(const AudioFrames& frames);
Result<AudioFrames> ParseFrames(std::string_view bytes);

// Statistics of [start_ms, end_ms). Empty spans give the defaults.
SpanAudioStats ComputeSpanStats(const AudioFrames& frames, Ms start_ms, Ms end_ms);

}  // namespace podpromo
