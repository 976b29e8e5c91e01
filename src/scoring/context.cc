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

// Each sentence's content words, as sorted distinct ids.
std::vector<std::vector<int>> ContentBags(const std::vector<Token>& toks,
                                          const std::vector<std::pair<size_t, size_t>>& sents) {
    std::map<std::string, int> ids;
    std::vector<std::vector<int>> bags(sents.size());
    for (size_t s = 0; s < sents.size(); ++s) {
        for (size_t i = sents[s].first; i < sents[s].second; ++i) {
            const auto& w = toks[i].norm;
            if (IsStopword(w) || IsFiller(w) || w.size() < 3) continue;
            bags[s].push_back(ids.emplace(w, static_cast<int>(ids.size())).first->second);
        }
        std::sort(bags[s].begin(), bags[s].end());
        bags[s].erase(std::unique(bags[s].begin(), bags[s].end()), bags[s].end());
    }
    return bags;
}

using Graph = std::vector<std::vector<std::pair<size_t, double>>>;

// TextRank's sentence graph: two sentences are joined by the content words they share over the sum of the logs of
// their sizes. Pairs are found through each word's sentences, so the work is the sum of the squares of the words'
// sentence counts, at most n^2/2 however the words repeat. Sentences of fewer than 4 content words stay unjoined.
Graph SentenceGraph(const std::vector<std::vector<int>>& bags) {
    const size_t n = bags.size();
    std::map<int, std::vector<size_t>> postings;
    for (size_t s = 0; s < n; ++s) {
        if (bags[s].size() >= 4)
            for (int w : bags[s]) postings[w].push_back(s);
    }
    Graph edges(n);
    std::vector<int> common(n, 0);
    std::vector<size_t> touched;
    for (size_t a = 0; a < n; ++a) {
        if (bags[a].size() < 4) continue;
        for (int w : bags[a]) {
            const auto& p = postings[w];
            for (auto it = std::upper_bound(p.begin(), p.end(), a); it != p.end(); ++it) {
                if (common[*it]++ == 0) touched.push_back(*it);
            }
        }
        for (size_t b : touched) {
            const double w = common[b] / (std::log(static_cast<double>(bags[a].size())) +
                                          std::log(static_cast<double>(bags[b].size())));
            edges[a].emplace_back(b, w), edges[b].emplace_back(a, w);
            common[b] = 0;
        }
        touched.clear();
    }
    return edges;
}

// TextRank (PageRank with damping 0.85, 30 rounds) over the sentence graph, reported as each sentence's
// percentile. Bounded by kMaxRankedSentences.
std::vector<std::pair<Ms, double>> Centrality(const std::vector<Token>& toks,
                                              const std::vector<std::pair<size_t, size_t>>& sents) {
    const size_t n = sents.size();
    if (n < 2 || n > kMaxRankedSentences) return {};
    const Graph edges = SentenceGraph(ContentBags(toks, sents));
    std::vector<double> out_sum(n, 0.0);
    for (size_t a = 0; a < n; ++a)
        for (const auto& [b, w] : edges[a]) out_sum[a] += w;
    std::vector<double> rank(n, 1.0), next(n);
    for (int round = 0; round < 30; ++round) {
        for (size_t a = 0; a < n; ++a) {
            double r = 0;
            for (const auto& [b, w] : edges[a]) r += w / out_sum[b] * rank[b];
            next[a] = 0.15 + 0.85 * r;
        }
        rank.swap(next);
    }
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return rank[x] < rank[y]; });
    std::vector<std::pair<Ms, double>> out(n);
    for (size_t k = 0; k < n; ++k) {
        out[order[k]] = {toks[sents[order[k]].first].start_ms, static_cast<double>(k) / static_cast<double>(n - 1)};
    }
    return out;
}

// The chapters' starts (but a first one at the very start) with the inferred boundaries no chapter start is near.
std::vector<Ms> WithChapters(std::vector<Ms> inferred, const std::vector<Chapter>& chapters) {
    if (chapters.empty()) return inferred;
    std::vector<Ms> out;
    for (const Chapter& c : chapters) {
        if (c.start_ms > kChapterSnapMs) out.push_back(c.start_ms);
    }
    for (Ms b : inferred) {
        const bool near = std::any_of(chapters.begin(), chapters.end(),
                                      [&](const Chapter& c) { return std::abs(c.start_ms - b) <= kChapterSnapMs; });
        if (!near) out.push_back(b);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace

EpisodeContext BuildEpisodeContext(const std::vector<Word>& words, const std::vector<SoundEvent>& events,
                                   const std::vector<AdSpan>& ads, const std::vector<Chapter>& chapters) {
    EpisodeContext ctx;
    const auto toks = Tokenize(words, 0, words.size());
    const auto sentences = SentenceRanges(toks);
    ctx.reactions = FindReactions(toks, sentences, events);
    ctx.topic_boundaries_ms = WithChapters(TopicBoundaries(toks, sentences), chapters);
    ctx.teases = FindTeases(toks, ads);
    ctx.centrality = Centrality(toks, sentences);
    return ctx;
}

}  // namespace podpromo
