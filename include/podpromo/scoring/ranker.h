// Scoring candidates for a genre and platform, choosing the best non-overlapping ones, and explaining them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "podpromo/core/lifecycle.h"
#include "podpromo/scoring/candidates.h"
#include "podpromo/scoring/features.h"
#include "podpromo/scoring/genre.h"
#include "podpromo/scoring/platform.h"

namespace podpromo {

struct ScoredClip {
    Candidate candidate;
    ClipFeatures features;
    double score = 0;       // 0..1
    int display_score = 0;  // 0..100
    Confidence confidence = Confidence::kLow;
    std::string path;  // the scoring path that gave the score
    std::vector<std::string> explanation;
    std::string title;
    std::vector<std::string> hashtags;
    std::string text;
};

struct RankOptions {
    int max_clips = 5;
    Ms min_gap_ms = 2000;  // between chosen clips
};

// The score of one clip for `genre` on `platform`; `path` receives the winning path's name. Pure.
double ScoreClip(const ClipFeatures& f, const GenreProfile& genre, const Platform& platform, Ms duration_ms,
                 std::string* path = nullptr);

// Scores every candidate (features[i] belongs to candidates[i]), then picks greedily by score the ones that do
// not overlap (with min_gap between), up to max_clips, and fills in explanation, title and hashtags. The
// result is ordered by rank. Pure; thread-safe.
std::vector<ScoredClip> RankClips(const std::vector<Word>& words, const std::vector<Candidate>& candidates,
                                  const std::vector<ClipFeatures>& features, const GenreProfile& genre,
                                  const Platform& platform, const RankOptions& options);

// Indices of the candidates chosen greedily by score (higher first, earlier on ties) that fit the platform's
// range and do not overlap an already chosen one (with min_gap between), up to max_clips, in rank order.
std::vector<size_t> SelectClips(const std::vector<Candidate>& candidates, const std::vector<double>& scores,
                                const Platform& platform, const RankOptions& options);

// A chosen candidate with its score, display score, confidence, explanation, title, hashtags and text.
// `episode_counts` is WordCounts of the episode's words (for distinctive hashtags).
ScoredClip DescribeClip(const std::vector<Word>& words, const Candidate& c, ClipFeatures features,
                        const GenreProfile& genre, const Platform& platform,
                        const std::map<std::string, int>& episode_counts);
std::map<std::string, int> WordCounts(const std::vector<Word>& words);

// 0..100 for people: 50 at an average clip (score 0.35), 90 for an exceptional one (0.75).
int DisplayScore(double score);

}  // namespace podpromo
