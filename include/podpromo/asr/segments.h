// Cutting audio into recognition chunks, and recognised words into segments. Pure functions; thread-safe.
#pragma once

#include <utility>
#include <vector>

#include "podpromo/core/types.h"
#include "podpromo/media/audio_features.h"

namespace podpromo {

// Where to cut audio for recognition: [start, end) spans that end inside pauses, each at most `max_ms`.
// Spans that are entirely pause are dropped.
std::vector<std::pair<Ms, Ms>> PlanChunks(const AudioFrames& frames, Ms target_ms, Ms max_ms);

// Groups words (in time order) into segments, breaking at gaps of at least `gap_ms` and keeping segments
// under `max_ms` (split at their largest inner gap).
std::vector<Segment> GroupWordsIntoSegments(const std::vector<Word>& words, Ms gap_ms = 300, Ms max_ms = 15000);

}  // namespace podpromo
