// What makes a clip work, measured: each feature 0..1, with the evidence the explanation quotes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "podpromo/core/types.h"
#include "podpromo/media/audio_features.h"
#include "podpromo/scoring/candidates.h"
#include "podpromo/scoring/context.h"
#include "podpromo/scoring/platform.h"

namespace podpromo {

struct ClipFeatures {
    // hook, payoff, arousal, emotion, question, info_density, loopability, self_contained, ad_penalty,
    // platform_len_match, reaction, story, surprise, quotable, and every genre's own features (mystery, ...).
    std::map<std::string, double> values;
    // feature -> the words that raised (or, for "mid_thought", lowered) it, quoted in explanations.
    std::map<std::string, std::string> evidence;
    double mean_confidence = 1.0;       // of the recognised words
    double low_confidence_share = 0.0;  // of the words, those below kLowConfidence
    bool starts_mid_thought = false;
    bool ends_dangling = false;

    double Get(const std::string& name) const {
        const auto it = values.find(name);
        return it == values.end() ? 0.0 : it->second;
    }
};

// Computes the features of `c`. `frames` may be null (no audio, e.g. rescoring from stored text only); then
// arousal uses the text alone. `context` (BuildEpisodeContext of the same words) may be null; then reaction is 0
// and topic changes are not seen. Pure; thread-safe.
ClipFeatures ComputeFeatures(const std::vector<Word>& words, const Candidate& c, const AudioFrames* frames,
                             const Platform& platform, const EpisodeContext* context = nullptr);

}  // namespace podpromo
