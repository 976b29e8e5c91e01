#include "podpromo/scoring/context.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "podpromo/scoring/candidates.h"
#include "podpromo/scoring/text.h"

namespace podpromo {
namespace {

const std::vector<std::string>& ReactionPhrases() {
    static const std::vector<std::string> k = {"wow",
                                               "whoa",
                                               "oh my god",
                                               "oh my gosh",
                                               "my god",
                                               "holy",
                                               "no way",
                                               "are you serious",
                                               "you're kidding",
                                               "you're joking",
                                               "that's amazing",
                                               "that's incredible",
                                               "that's crazy",
                                               "that's insane",
                                               "that's wild",
                                               "that's hilarious",
                                               "that's so funny",
                                               "that's funny",
                                               "that's awesome",
                                               "that's fascinating",
                                               "that's beautiful",
                                               "that's brilliant",
                                               "that's great",
                                               "that's so good",
                                               "that's unbelievable",
                                               "that's amazing",
                                               "i love that",
                                               "love that",
                                               "so good",
                                               "ha",
                                               "haha",
                                               "hahaha",
                                               "ha ha",
                                               "lol",
                                               "oh no",
                                               "jeez",
                                               "geez",
                                               "unbelievable",
                                               "amazing",
                                               "incredible",
                                               "brilliant",
                                               "fascinating",
                                               "hilarious",
                                               "damn",
                                               "good lord",
                                               "what",
                                               "so true",
                                               "exactly",
                                               "wild",
                                               "insane",
                                               "crazy",
                                               "beautiful",
                                               "oh wow"};
    return k;
}

// Sentences as token ranges, by the same boundaries the candidates use.
std::vector<std::pair<size_t, size_t>> SentenceRanges(const std::vector<Token>& toks) {
    std::vector<std::pair<size_t, size_t>> out;
    size_t begin = 0;
    for (size_t i = 0; i < toks.size(); ++i) {
        if (toks[i].sentence_end || i + 1 == toks.size()) {
            out.emplace_back(begin, i + 1);
            begin = i + 1;
        }
    }
    return out;
}

std::vector<Reaction> FindReactions(const std::vector<Token>& toks,
                                    const std::vector<std::pair<size_t, size_t>>& sentences,
                                    const std::vector<SoundEvent>& events) {
    std::vector<Reaction> out;
    for (const auto& [a, b] : sentences) {
        // Short, and mostly the reaction: "Wow." "That's incredible." "Oh my God, no way."
        if (b - a > 6) continue;
        size_t at = 0;
        const std::string ph = FirstPhrase(toks, ReactionPhrases(), a, b, &at);
        if (ph.empty() || at > a + 1) continue;
        out.push_back({toks[a].start_ms, JoinRaw(toks, a, b)});
    }
    for (const auto& e : events) {
        if (e.kind == "laughter" || e.kind == "applause") out.push_back({e.start_ms, e.kind});
    }
    std::stable_sort(out.begin(), out.end(), [](const Reaction& x, const Reaction& y) { return x.at_ms < y.at_ms; });
    return out;
}

// TextTiling (Hearst 1997): the cosine of the content words in the `k` sentences before and after each sentence
// gap; a gap whose similarity lies well below the peaks around it (a local maximum of depth, above mean + sd) is
// a topic boundary. Of two boundaries closer than kMinTopicMs, the deeper stays: a podcast's topics last minutes.
std::vector<Ms> TopicBoundaries(const std::vector<Token>& toks, const std::vector<std::pair<size_t, size_t>>& sents) {
    constexpr size_t k = 10;
    constexpr Ms kMinTopicMs = 90000;
    std::vector<Ms> out;
    if (sents.size() < 4 * k) return out;
    auto bag = [&](size_t s0, size_t s1) {
        std::map<std::string, double> m;
        for (size_t s = s0; s < s1; ++s) {
            for (size_t i = sents[s].first; i < sents[s].second; ++i) {
                if (!IsStopword(toks[i].norm) && !IsFiller(toks[i].norm) && toks[i].norm.size() > 2)
                    m[toks[i].norm] += 1;
            }
        }
        return m;
    };
    auto cosine = [](const std::map<std::string, double>& x, const std::map<std::string, double>& y) {
        double dot = 0, nx = 0, ny = 0;
        for (const auto& [w, v] : x) {
            nx += v * v;
            const auto it = y.find(w);
            if (it != y.end()) dot += v * it->second;
        }
        for (const auto& [w, v] : y) ny += v * v;
        return nx > 0 && ny > 0 ? dot / std::sqrt(nx * ny) : 0.0;
    };
    std::vector<double> sim(sents.size(), 0.0);
    for (size_t g = k; g + k <= sents.size(); ++g) sim[g] = cosine(bag(g - k, g), bag(g, g + k));
    std::vector<double> depth(sents.size(), 0.0);
    for (size_t g = k; g + k <= sents.size(); ++g) {
        double left = sim[g], right = sim[g];
        for (size_t j = g; j >= k && sim[j] >= left; --j) left = sim[j];
        for (size_t j = g; j + k <= sents.size() && sim[j] >= right; ++j) right = sim[j];
        depth[g] = (left - sim[g]) + (right - sim[g]);
    }
    double mean = 0, sq = 0, n = 0;
    for (size_t g = k; g + k <= sents.size(); ++g) mean += depth[g], sq += depth[g] * depth[g], n += 1;
    mean /= n;
    const double sd = std::sqrt(std::max(0.0, sq / n - mean * mean));
    std::vector<std::pair<Ms, double>> found;  // time, depth
    for (size_t g = k; g + k <= sents.size(); ++g) {
        const bool local_max = depth[g] >= depth[g - 1] && depth[g] >= depth[g + 1];
        if (!local_max || depth[g] <= mean + sd || depth[g] <= 0) continue;
        const Ms at = toks[sents[g].first].start_ms;
        if (!found.empty() && at - found.back().first < kMinTopicMs) {
            if (depth[g] > found.back().second) found.back() = {at, depth[g]};
            continue;
        }
        found.emplace_back(at, depth[g]);
    }
    for (const auto& [at, d] : found) out.push_back(at);
    return out;
}

bool InAd(const std::vector<AdSpan>& ads, Ms a, Ms b) {
    return std::any_of(ads.begin(), ads.end(), [&](const AdSpan& s) { return a < s.end_ms && b > s.start_ms; });
}

// The cold open's runs said again later: for each opening position, the longest run that recurs at least
// kMinTeaseGapMs later (found through the positions sharing its first word pair), taken greedily from the start.
// Bounded for any transcript: a word pair said more than kCommonPair times later is too common to start a quote
// (the run is found from its next word instead), and runs stop at kLongestRun words.
std::vector<Tease> FindTeases(const std::vector<Token>& toks, const std::vector<AdSpan>& ads) {
    constexpr size_t kCommonPair = 64, kLongestRun = 400;
    std::vector<Tease> out;
    std::map<std::pair<std::string, std::string>, std::vector<size_t>> at;  // word pair -> positions
    for (size_t j = 0; j + 1 < toks.size(); ++j) {
        if (toks[j].start_ms >= kColdOpenMs) at[{toks[j].norm, toks[j + 1].norm}].push_back(j);
    }
    for (size_t i = 0; i + kMinTeaseWords <= toks.size() && toks[i].start_ms < kColdOpenMs;) {
        size_t best_len = 0, best_j = 0;
        const auto it = at.find({toks[i].norm, toks[i + 1].norm});
        if (it != at.end() && it->second.size() <= kCommonPair) {
            for (size_t j : it->second) {
                if (toks[j].start_ms < toks[i].start_ms + kMinTeaseGapMs) continue;
                size_t len = 0;
                while (len < kLongestRun && j + len < toks.size() && i + len < j &&
                       toks[i + len].norm == toks[j + len].norm) {
                    ++len;
                }
                if (len > best_len) best_len = len, best_j = j;
            }
        }
        if (best_len < kMinTeaseWords) {
            ++i;
            continue;
        }
        const Tease t{toks[best_j].start_ms, toks[best_j + best_len - 1].end_ms, toks[i].start_ms, best_len};
        if (!InAd(ads, t.teaser_ms, toks[i + best_len - 1].end_ms) && !InAd(ads, t.start_ms, t.end_ms)) {
            out.push_back(t);
        }
        i += best_len;
    }
    std::sort(out.begin(), out.end(), [](const Tease& a, const Tease& b) { return a.start_ms < b.start_ms; });
    return out;
}

}  // namespace

EpisodeContext BuildEpisodeContext(const std::vector<Word>& words, const std::vector<SoundEvent>& events,
                                   const std::vector<AdSpan>& ads) {
    EpisodeContext ctx;
    const auto toks = Tokenize(words, 0, words.size());
    const auto sentences = SentenceRanges(toks);
    ctx.reactions = FindReactions(toks, sentences, events);
    ctx.topic_boundaries_ms = TopicBoundaries(toks, sentences);
    ctx.teases = FindTeases(toks, ads);
    return ctx;
}

}  // namespace podpromo
