#include "podpromo/scoring/candidates.h"

#include <algorithm>

#include "podpromo/scoring/text.h"

namespace podpromo {
namespace {

const std::vector<std::string>& StrongAdCues() {
    static const std::vector<std::string> k = {"sponsored by",
                                               "brought to you by",
                                               "use code",
                                               "use the code",
                                               "promo code",
                                               "discount code",
                                               "offer code",
                                               "coupon code",
                                               "percent off",
                                               "per cent off",
                                               "dot com slash",
                                               "our sponsor",
                                               "today's sponsor",
                                               "this episode is sponsored",
                                               "free trial",
                                               "code podcast",
                                               "off your first",
                                               "link in the description",
                                               "link in the show notes",
                                               "thanks to our sponsor",
                                               "episode is brought"};
    return k;
}
const std::vector<std::string>& WeakAdCues() {
    static const std::vector<std::string> k = {"dot com",  "go to",         "visit",     "sign up",    "first month",
                                               "discount", "offer",         "deal",      "show notes", "check out",
                                               "website",  "free shipping", "subscribe", "sponsor",    "sponsored",
                                               "code",     "percent",       "today",     "order",      "download",
                                               "app",      "exclusive",     "listeners", "slash",      "promo"};
    return k;
}

struct Sentence {
    size_t first = 0, end = 0;
    int strong = 0, weak = 0;
    std::string cue;
};

}  // namespace

std::vector<bool> SentenceStarts(const std::vector<Word>& words, Ms pause_ms) {
    std::vector<bool> starts(words.size(), false);
    for (size_t i = 0; i < words.size(); ++i) {
        if (i == 0) {
            starts[i] = true;
            continue;
        }
        const std::string& prev = words[i - 1].text;
        const char last = prev.empty() ? ' ' : prev.back();
        starts[i] = last == '.' || last == '!' || last == '?' || words[i].start_ms - words[i - 1].end_ms >= pause_ms;
    }
    return starts;
}

std::vector<AdSpan> DetectAdSpans(const std::vector<Word>& words) {
    std::vector<AdSpan> spans;
    if (words.empty()) return spans;
    const auto starts = SentenceStarts(words, 450);
    std::vector<Sentence> sents;
    for (size_t i = 0; i < words.size(); ++i) {
        if (starts[i] || sents.empty()) sents.push_back({i, i, 0, 0, ""});
        sents.back().end = i + 1;
    }
    const auto toks = Tokenize(words, 0, words.size());
    // Tokenize drops empty words; map by time instead of index to stay robust. Sentences are in time order,
    // so the token search moves forward only.
    size_t ta = 0;
    for (auto& s : sents) {
        const Ms a = words[s.first].start_ms, b = words[s.end - 1].end_ms;
        while (ta < toks.size() && toks[ta].start_ms < a) ++ta;
        size_t tb = ta;
        while (tb < toks.size() && toks[tb].end_ms <= b) ++tb;
        size_t at = 0;
        s.cue = FirstPhrase(toks, StrongAdCues(), ta, tb, &at);
        s.strong = CountPhrases(toks, StrongAdCues(), ta, tb);
        s.weak = CountPhrases(toks, WeakAdCues(), ta, tb);
        if (s.cue.empty() && s.weak >= 3) s.cue = FirstPhrase(toks, WeakAdCues(), ta, tb);
    }
    std::vector<bool> ad(sents.size(), false);
    for (size_t i = 0; i < sents.size(); ++i) ad[i] = sents[i].strong >= 1 || sents[i].weak >= 3;
    // Join across one ordinary sentence between two ad sentences less than 30 s apart.
    for (size_t i = 1; i + 1 < sents.size(); ++i) {
        if (!ad[i] && ad[i - 1] && ad[i + 1] &&
            words[sents[i + 1].first].start_ms - words[sents[i - 1].end - 1].end_ms < 30000) {
            ad[i] = true;
        }
    }
    // Widen by a neighbour that still sounds promotional.
    std::vector<bool> widened = ad;
    for (size_t i = 0; i < sents.size(); ++i) {
        if (ad[i]) continue;
        const bool next_to_ad = (i > 0 && ad[i - 1]) || (i + 1 < sents.size() && ad[i + 1]);
        if (next_to_ad && sents[i].weak >= 1) widened[i] = true;
    }
    for (size_t i = 0; i < sents.size();) {
        if (!widened[i]) {
            ++i;
            continue;
        }
        AdSpan span{words[sents[i].first].start_ms, 0, ""};
        while (i < sents.size() && widened[i]) {
            if (span.cue.empty()) span.cue = sents[i].cue;
            span.end_ms = words[sents[i].end - 1].end_ms;
            ++i;
        }
        spans.push_back(span);
    }
    return spans;
}

std::vector<Candidate> GenerateCandidates(const std::vector<Word>& words, const Platform& platform,
                                          const std::vector<AdSpan>& ads, Ms ad_margin_ms) {
    std::vector<Candidate> out;
    const auto starts = SentenceStarts(words);
    const Ms min_ms = std::max(kMinClipMs, platform.min_ms), max_ms = std::min(kMaxClipMs, platform.max_ms);
    auto touches_ad = [&](Ms a, Ms b) {
        for (const auto& ad : ads) {
            if (a < ad.end_ms + ad_margin_ms && b > ad.start_ms - ad_margin_ms) return true;
        }
        return false;
    };
    for (size_t i = 0; i < words.size(); ++i) {
        if (!starts[i]) continue;
        for (size_t j = i + 1; j <= words.size(); ++j) {
            // j is the exclusive end: a boundary when it is the end of the words or the start of a sentence.
            if (j < words.size() && !starts[j]) continue;
            const Ms a = words[i].start_ms, b = words[j - 1].end_ms;
            if (b - a > max_ms) break;
            if (b - a < min_ms) continue;
            if (j - i < 20) continue;  // near-empty: mostly silence
            if (touches_ad(a, b)) continue;
            out.push_back({i, j, a, b});
        }
    }
    return out;
}

}  // namespace podpromo
