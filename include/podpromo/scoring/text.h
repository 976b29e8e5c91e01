// Word-level text helpers shared by the scoring features. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/types.h"

namespace podpromo {

// A word as the scorer sees it: lower-cased letters/digits/apostrophes, plus what punctuation followed it.
struct Token {
    std::string norm;  // "here's", "2", "million"
    std::string raw;   // as in the transcript
    Ms start_ms = 0, end_ms = 0;
    double weight = 1.0;        // WordWeight of the recogniser's confidence
    bool sentence_end = false;  // punctuation . ! ? after it, or a pause of >= 450 ms
    bool question_mark = false;
    bool capitalised = false;  // starts with a capital in the source and is not sentence-initial
};

// Tokens for words [begin, end) of `words`.
std::vector<Token> Tokenize(const std::vector<Word>& words, size_t begin, size_t end);
std::string NormalizeWord(std::string_view raw);

// A phrase is a space-separated sequence of normalised words, e.g. "here's the thing".
// Returns the index of the first match of `phrase` in toks[from, to), or npos.
size_t FindPhrase(const std::vector<Token>& toks, std::string_view phrase, size_t from = 0,
                  size_t to = std::string::npos);

// First phrase of `phrases` found in toks[from, to); "" if none. `at` receives its index.
std::string FirstPhrase(const std::vector<Token>& toks, const std::vector<std::string>& phrases, size_t from, size_t to,
                        size_t* at = nullptr);
// Number of matches of any phrase in toks[from, to) (each position counted once).
int CountPhrases(const std::vector<Token>& toks, const std::vector<std::string>& phrases, size_t from = 0,
                 size_t to = std::string::npos);
// The same matches, each counted as the mean weight of its words: what a low-confidence word says counts less.
double WeighPhrases(const std::vector<Token>& toks, const std::vector<std::string>& phrases, size_t from = 0,
                    size_t to = std::string::npos);
// Mean weight of toks[at, at + len) (0 when empty).
double MatchWeight(const std::vector<Token>& toks, size_t at, size_t len);

// How much a word counts in the text features given the recogniser's confidence in it: 1 for a sure word
// (kSureConfidence and above, and imported words), falling linearly to 0.25 for a word with no confidence.
double WordWeight(double confidence);
constexpr double kSureConfidence = 0.8;
// Below this confidence a recognised word is a guess (the explanation says so when most of a clip is).
constexpr double kLowConfidence = 0.5;

bool IsNumberWord(std::string_view norm);  // "2", "twenty", "million", "percent"
bool IsFiller(std::string_view norm);      // "um", "uh", "like", "yeah", ...
bool IsStopword(std::string_view norm);
bool IsDanglingEnd(std::string_view norm);  // a clip should not end on "and", "the", "of", ...

// The text of toks[from, to) joined by spaces (raw spelling).
std::string JoinRaw(const std::vector<Token>& toks, size_t from, size_t to);

}  // namespace podpromo
