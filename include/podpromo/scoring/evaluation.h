// Measuring chosen clips against a reader's labels: moments found, what random clips of the same lengths would
// find, clips on ad blocks. Pure; thread-safe. Used by bench/moments_eval and its tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "podpromo/core/types.h"

namespace podpromo {

struct TimeSpan {
    Ms start_ms = 0;
    Ms end_ms = 0;
    Ms DurationMs() const { return end_ms - start_ms; }
};

Ms OverlapMs(const TimeSpan& a, const TimeSpan& b);

// A clip finds a moment when they share at least half of the shorter of the two: a viewer of the clip hears
// most of the moment, or the clip is mostly the moment.
bool ClipFindsMoment(const TimeSpan& clip, const TimeSpan& moment);

// How many of `moments` at least one of `clips` finds.
int MomentsFound(const std::vector<TimeSpan>& clips, const std::vector<TimeSpan>& moments);

// The expected MomentsFound for clips of `lengths_ms` placed uniformly at random (each independently) within
// [0, duration_ms), over `trials` draws from a generator seeded with `seed` (deterministic).
double RandomMomentsFound(const std::vector<Ms>& lengths_ms, const std::vector<TimeSpan>& moments, Ms duration_ms,
                          int trials = 4000, uint32_t seed = 1);

// How many of `clips` overlap some block of `blocks` by more than `tolerance_ms`.
int ClipsOverlapping(const std::vector<TimeSpan>& clips, const std::vector<TimeSpan>& blocks, Ms tolerance_ms);

// A title that stops mid-phrase: it ends on a word that needs a continuation ("of", "the", "and", "my"; not "on"
// or "you", which end "move on" and "with you") or
// its last sentence is a fragment of one or two words after a full stop ("... come true. Of").
bool TitleEndsMidPhrase(const std::string& title);

}  // namespace podpromo

namespace podpromo {

// Text that still carries a transcript's speaker marks: "Speaker 1:", "JOHN:", ">>".
bool HasSpeakerPrefix(const std::string& text);

}  // namespace podpromo
