// What the whole episode says about its parts, found once before candidates are scored: where listeners (or
// co-hosts) reacted, where the topic changes, and which moments the show's own cold open teases. Pure;
// thread-safe.
#pragma once

#include <string>
#include <vector>

#include "podpromo/core/types.h"
#include "podpromo/scoring/candidates.h"

namespace podpromo {

// A reaction to what came just before it: laughter marked in the transcript, or a short interjection sentence
// ("Wow.", "That's incredible.", "No way!", "Ha ha").
struct Reaction {
    Ms at_ms = 0;
    std::string what;  // "laughter", or the interjection as written
};

// A moment the episode's cold open quotes: produced shows open with a teaser cut from their best moments, so the
// same run of words said in the opening and again later marks, at the later place, a moment the show's own
// editor picked.
struct Tease {
    Ms start_ms = 0, end_ms = 0;  // the run where it is said in full
    Ms teaser_ms = 0;             // where the opening quotes it
    size_t words = 0;             // the length of the run
};

struct EpisodeContext {
    std::vector<Reaction> reactions;      // in time order
    std::vector<Ms> topic_boundaries_ms;  // TextTiling valleys: where one topic gives way to the next
    std::vector<Tease> teases;            // in time order
    // TextRank (Mihalcea and Tarau 2004): each sentence's centrality among the episode's sentences, as its
    // percentile (0 least, 1 most central), keyed by the sentence's start. Empty past kMaxRankedSentences.
    std::vector<std::pair<Ms, double>> centrality;  // in time order
};

// The cold open is the first kColdOpenMs; a run counts when at least kMinTeaseWords words are said again in the
// same order at least kMinTeaseGapMs later, neither time inside an ad (a sponsor read is repeated too).
constexpr Ms kColdOpenMs = 150000;
constexpr size_t kMinTeaseWords = 12;
constexpr Ms kMinTeaseGapMs = 120000;
// TextRank compares every pair of sentences: past this many (some ten hours of talk) it is skipped.
constexpr size_t kMaxRankedSentences = 8000;

// Reactions from `words` and the transcript's sound `events`, topic boundaries from lexical cohesion (Hearst's
// TextTiling over blocks of sentences) and from the show's own `chapters` (each start but the first is a boundary;
// a TextTiling boundary within kChapterSnapMs of one is the same boundary), and the cold open's teases outside `ads`.
constexpr Ms kChapterSnapMs = 20000;
EpisodeContext BuildEpisodeContext(const std::vector<Word>& words, const std::vector<SoundEvent>& events,
                                   const std::vector<AdSpan>& ads = {}, const std::vector<Chapter>& chapters = {});

}  // namespace podpromo
