// Candidate windows and sponsor-read detection over the transcript's words.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "podpromo/core/types.h"
#include "podpromo/scoring/platform.h"

namespace podpromo {

// Words [first_word, end_word) of the episode, on word boundaries.
struct Candidate {
    size_t first_word = 0;
    size_t end_word = 0;  // exclusive
    Ms start_ms = 0;
    Ms end_ms = 0;
    Ms DurationMs() const { return end_ms - start_ms; }
};

// A span that reads like an advertisement or sponsor message. `cue` is the phrase that gave it away.
struct AdSpan {
    Ms start_ms = 0;
    Ms end_ms = 0;
    std::string cue;
};

// Sentence-level sponsor detection: sentences with a strong cue ("sponsored by", "use code", "percent off")
// or three weaker ones ("dot com", "visit"), joined across one ordinary sentence and widened by a neighbour that
// still sounds promotional.
std::vector<AdSpan> DetectAdSpans(const std::vector<Word>& words);

// Windows that start at a sentence or pause boundary and end at one, last between the platform's acceptable
// bounds (and 12–60 s), hold at least 20 words' worth of speech, and keep clear of every ad span by `ad_margin_ms`.
std::vector<Candidate> GenerateCandidates(const std::vector<Word>& words, const Platform& platform,
                                          const std::vector<AdSpan>& ads, Ms ad_margin_ms = 1000);

// Indices of words that begin a sentence. In a punctuated transcript (IsPunctuated): the first word, after . ! ?,
// or a capitalised word after 1.5 s of silence; cue breaks inside a sentence are not boundaries. In bare words:
// after a pause >= `pause_ms`, or, where the times hold fewer than one such pause per 40 words, at the longest
// gaps (about one in 15 words).
std::vector<bool> SentenceStarts(const std::vector<Word>& words, Ms pause_ms = 250);
// Whether the words carry sentence punctuation (at least one sentence end per 60 words).
bool IsPunctuated(const std::vector<Word>& words);

}  // namespace podpromo
