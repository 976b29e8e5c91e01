// Genre profiles: what each kind of show rewards, and detecting the genre from the words.
// Constant profiles and pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/scoring/text.h"

namespace podpromo {

// A weighted sum over named features; a clip's base score is the best of its genre's paths.
struct ScoringPath {
    std::string name;                       // "hook", "payoff", "energy", ...
    std::map<std::string, double> weights;  // feature name -> weight (weights sum to 1)
};

// A feature of its own that a genre adds, found from phrases (score rises with matches per minute).
struct GenreFeature {
    std::string name;    // "mystery"
    std::string reason;  // how the explanation names it: "builds mystery"
    std::vector<std::string> phrases;
};

struct GenreProfile {
    std::string name;                   // "true_crime"
    std::string display;                // "True crime"
    std::vector<std::string> keywords;  // detection vocabulary (single words or phrases)
    std::vector<GenreFeature> features;
    std::vector<ScoringPath> paths;
    std::map<std::string, double> platform_multiplier;  // platform name -> multiplier (default 1)
};

const std::vector<GenreProfile>& AllGenres();
Result<GenreProfile> GenreByName(std::string_view name);

struct GenreDetection {
    std::string genre;                     // best genre, "general" when nothing stands out
    std::map<std::string, double> scores;  // keyword hits per 1000 words, by genre
};

// Detects the genre from keyword rates over `toks` (ad reads should be left out by the caller).
// `reactions_per_k` (laughter and interjections per 1000 words, EpisodeContext) adds to comedy: a laughing
// audience or co-hosts is what a comedy show sounds like.
GenreDetection DetectGenre(const std::vector<Token>& toks, double reactions_per_k = 0);

}  // namespace podpromo
