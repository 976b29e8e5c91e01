// What the whole episode says about its parts, found once before candidates are scored: where listeners (or
// co-hosts) reacted, and where the topic changes. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "podpromo/core/types.h"

namespace podpromo {

// A reaction to what came just before it: laughter marked in the transcript, or a short interjection sentence
// ("Wow.", "That's incredible.", "No way!", "Ha ha").
struct Reaction {
    Ms at_ms = 0;
    std::string what;  // "laughter", or the interjection as written
};

struct EpisodeContext {
    std::vector<Reaction> reactions;      // in time order
    std::vector<Ms> topic_boundaries_ms;  // TextTiling valleys: where one topic gives way to the next
};

// Reactions from `words` and the transcript's sound `events`, and topic boundaries from lexical cohesion
// (Hearst's TextTiling over blocks of sentences).
EpisodeContext BuildEpisodeContext(const std::vector<Word>& words, const std::vector<SoundEvent>& events);

}  // namespace podpromo
