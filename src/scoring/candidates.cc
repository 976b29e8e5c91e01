#include "podpromo/scoring/candidates.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "podpromo/scoring/text.h"

namespace podpromo {
namespace {

// Phrases that by themselves mark a sponsor read, a cross-promotion, self-promotion or a break (Reddy et al.,
// "Detecting Extraneous Content in Podcasts", 2021, list the same families).
const std::vector<std::string>& StrongAdCues() {
    static const std::vector<std::string> k = {
        // sponsor reads
        "sponsored by", "brought to you by", "presented by", "support for this show", "support for this podcast",
        "support for this episode", "this portion of", "our sponsor", "our sponsors", "today's sponsor",
        "this episode is sponsored", "thanks to our sponsor", "thank you to our sponsor", "episode is brought",
        "use code", "use the code", "promo code", "discount code", "offer code", "coupon code", "code word",
        "percent off", "per cent off", "off your first", "dot com slash", "com slash", "free trial", "first month free",
        "link in the description", "link in the show notes", "links in the show notes",
        // self-promotion and the show's own plugs
        "rate and review", "rate review", "leave us a review", "leave a review", "five star review", "5 star review",
        "rating or review", "subscribe to the show", "subscribe to the podcast", "subscribe to our",
        "subscribe on youtube", "hit subscribe", "hit that subscribe", "smash that", "don't forget to subscribe",
        "wherever you get your podcasts", "wherever you listen", "wherever podcasts are", "wherever you get podcasts",
        "patreon", "merch", "tour dates", "tickets are on sale", "tickets on sale", "get your tickets",
        "our newsletter", "my newsletter", "support the show", "support the podcast", "become a member",
        "become a patron", "is a production of", "a production of", "follow the show", "follow us on", "find us on",
        "find us at", "find me at", "where can people find you", "where can people find", "call to action",
        "in the comments", "let us know what you think",
        // breaks
        "we'll be right back", "be right back after", "after the break", "after this break", "after these messages",
        "a quick break", "short break", "and we're back", "we are back"};
    return k;
}
const std::vector<std::string>& WeakAdCues() {
    static const std::vector<std::string> k = {
        "dot com",   "go to",      "visit",     "sign up",   "first month",   "discount",   "offer",
        "deal",      "show notes", "check out", "website",   "free shipping", "subscribe",  "sponsor",
        "sponsored", "percent",    "order",     "exclusive", "listeners",     "slash",      "promo",
        "podcast",   "episode",    "youtube",   "instagram", "twitter",       "tiktok",     "newsletter",
        "link",      "links",      "sale",      "tickets",   "members",       "membership", "for free",
        "today",     "special",    "support",   "follow",    "review",        "register"};
    return k;
}

// A web address in a word as written: "acme.com", "MaximumFun.org/join", "bit.ly/x" (the spoken "dot com" is a
// phrase cue). Sponsor reads and plugs nearly always give one.
bool IsWebAddress(const std::string& raw) {
    static const char* kTlds[] = {".com", ".org", ".net", ".co",  ".io", ".ai",
                                  ".fm",  ".ly",  ".tv",  ".app", ".us", ".uk"};
    for (const char* tld : kTlds) {
        const size_t at = raw.find(tld);
        if (at == std::string::npos || at == 0 || !std::isalnum(static_cast<unsigned char>(raw[at - 1]))) continue;
        const size_t after = at + std::strlen(tld);
        if (after == raw.size() || !std::isalpha(static_cast<unsigned char>(raw[after]))) return true;
    }
    return false;
}

// A sponsor's name: the capitalised words right after "brought to you by", "sponsored by", "presented by" or
// "support ... comes from" in a sentence; lower-cased, as the scorer's tokens are.
std::vector<std::string> SponsorNames(const std::vector<Token>& toks, size_t from, size_t to) {
    std::vector<std::string> names;
    for (const char* cue : {"brought to you by", "sponsored by", "presented by", "comes from", "thanks to"}) {
        const size_t at = FindPhrase(toks, cue, from, to);
        if (at == std::string::npos) continue;
        size_t k = at + static_cast<size_t>(std::count(cue, cue + std::strlen(cue), ' ')) + 1;
        std::string name;
        for (size_t n = 0;
             k < to && n < 3 && !toks[k].raw.empty() && std::isupper(static_cast<unsigned char>(toks[k].raw[0]));
             ++k, ++n) {
            name += (name.empty() ? "" : " ") + toks[k].norm;
            if (toks[k].sentence_end || toks[k].raw.back() == ',') break;
        }
        if (!name.empty() && !IsStopword(name)) names.push_back(name);
    }
    return names;
}

bool EndsSentence(const std::string& text) {
    size_t n = text.size();
    while (n > 0 && (text[n - 1] == '"' || text[n - 1] == '\'' || text[n - 1] == ')')) --n;
    return n > 0 && (text[n - 1] == '.' || text[n - 1] == '!' || text[n - 1] == '?');
}

struct Sentence {
    size_t first = 0, end = 0;          // words
    size_t tok_first = 0, tok_end = 0;  // tokens
    int strong = 0, weak = 0;
    std::string cue;
};

}  // namespace

bool IsPunctuated(const std::vector<Word>& words) {
    size_t ends = 0;
    for (const auto& w : words) ends += EndsSentence(w.text);
    return !words.empty() && ends * 60 >= words.size();
}

std::vector<bool> SentenceStarts(const std::vector<Word>& words, Ms pause_ms) {
    std::vector<bool> starts(words.size(), false);
    if (words.empty()) return starts;
    starts[0] = true;
    if (IsPunctuated(words)) {
        // The transcript's own punctuation decides; a cue's gap inside a sentence does not. Only a long silence
        // before a capitalised word also begins one (a speaker who trailed off).
        for (size_t i = 1; i < words.size(); ++i) {
            const bool capital = !words[i].text.empty() && std::isupper(static_cast<unsigned char>(words[i].text[0]));
            starts[i] = EndsSentence(words[i - 1].text) ||
                        (capital && words[i].start_ms - words[i - 1].end_ms >= std::max<Ms>(pause_ms, 1500));
        }
        return starts;
    }
    // Bare words (a recogniser, automatic captions): pauses are the only boundaries. When the times hold too few
    // pauses (captions with contiguous cues), the longest gaps are taken instead, about one per 15 words.
    std::vector<Ms> gaps(words.size(), 0);
    for (size_t i = 1; i < words.size(); ++i) gaps[i] = words[i].start_ms - words[i - 1].end_ms;
    size_t found = 0;
    for (size_t i = 1; i < words.size(); ++i) found += gaps[i] >= pause_ms;
    Ms threshold = pause_ms;
    if (found * 40 < words.size() && words.size() >= 40) {
        std::vector<Ms> sorted(gaps.begin() + 1, gaps.end());
        const size_t k = sorted.size() - sorted.size() / 15;
        std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(k), sorted.end());
        threshold = std::max<Ms>(1, sorted[k]);
    }
    for (size_t i = 1; i < words.size(); ++i) starts[i] = gaps[i] >= threshold;
    return starts;
}

namespace {

// The sentences of `words` with their ad cues counted (`tok_first`/`tok_end` index the episode's tokens).
std::vector<Sentence> CueSentences(const std::vector<Word>& words, const std::vector<Token>& toks) {
    const auto starts = SentenceStarts(words, 450);
    std::vector<Sentence> sents;
    for (size_t i = 0; i < words.size(); ++i) {
        if (starts[i] || sents.empty()) sents.push_back({i, i, 0, 0, 0, 0, ""});
        sents.back().end = i + 1;
    }
    // Tokenize drops empty words; map by time instead of index to stay robust. Sentences are in time order,
    // so the token search moves forward only.
    std::vector<std::string> sponsors;
    size_t ta = 0;
    for (auto& s : sents) {
        const Ms a = words[s.first].start_ms, b = words[s.end - 1].end_ms;
        while (ta < toks.size() && toks[ta].start_ms < a) ++ta;
        size_t tb = ta;
        while (tb < toks.size() && toks[tb].end_ms <= b) ++tb;
        s.tok_first = ta;
        s.tok_end = tb;
        s.cue = FirstPhrase(toks, StrongAdCues(), ta, tb);
        s.strong = CountPhrases(toks, StrongAdCues(), ta, tb);
        s.weak = CountPhrases(toks, WeakAdCues(), ta, tb);
        if (s.cue.empty() && s.weak >= 3) s.cue = FirstPhrase(toks, WeakAdCues(), ta, tb);
        for (size_t k = ta; k < tb; ++k) {
            if (!IsWebAddress(toks[k].raw)) continue;
            s.strong += 1;
            if (s.cue.empty()) s.cue = toks[k].raw;
            // The brand in the address ("Plaud.ai" -> "plaud") names the sponsor, as the read says it.
            const std::string brand = NormalizeWord(toks[k].raw.substr(0, toks[k].raw.find('.')));
            if (brand.size() >= 3 && !IsStopword(brand)) sponsors.push_back(brand);
        }
        for (auto& name : SponsorNames(toks, ta, tb)) sponsors.push_back(std::move(name));
    }
    // The sponsor named once ("brought to you by Acme") gives away the rest of its read, and its plugs elsewhere.
    for (auto& s : sents) {
        if (sponsors.empty()) break;
        const std::string name = FirstPhrase(toks, sponsors, s.tok_first, s.tok_end);
        if (name.empty()) continue;
        if (s.weak >= 1) s.strong += 1;
        s.weak += 2;
        if (s.cue.empty()) s.cue = name;
    }
    return sents;
}

// Which sentences are promotion: a strong cue, or three weak ones in a short sentence; the cue-less middle of a
// read; and a neighbour that still sounds promotional.
std::vector<bool> MarkAdSentences(const std::vector<Word>& words, const std::vector<Sentence>& sents) {
    std::vector<bool> ad(sents.size(), false);
    for (size_t i = 0; i < sents.size(); ++i) {
        const size_t n = sents[i].tok_end - sents[i].tok_first;
        ad[i] = sents[i].strong >= 1 || (sents[i].weak >= 3 && static_cast<size_t>(sents[i].weak) * 10 >= n) ||
                sents[i].weak >= 4;
    }
    // A read's middle sentences need no cue of their own: join across up to two ordinary sentences between two ad
    // sentences less than 45 s apart.
    for (size_t i = 0; i + 2 < sents.size(); ++i) {
        if (!ad[i]) continue;
        for (size_t j = i + 2; j <= i + 3 && j < sents.size(); ++j) {
            if (!ad[j] || words[sents[j].first].start_ms - words[sents[i].end - 1].end_ms >= 45000) continue;
            for (size_t k = i + 1; k < j; ++k) ad[k] = true;
            break;
        }
    }
    std::vector<bool> widened = ad;
    for (size_t i = 0; i < sents.size(); ++i) {
        if (ad[i]) continue;
        const bool next_to_ad = (i > 0 && ad[i - 1]) || (i + 1 < sents.size() && ad[i + 1]);
        if (next_to_ad && sents[i].weak >= 1) widened[i] = true;
    }
    return widened;
}

// Runs of marked sentences as blocks, with a read's pieces joined and the outro run to the end.
std::vector<AdSpan> AdBlocks(const std::vector<Word>& words, const std::vector<Sentence>& sents,
                             const std::vector<bool>& marked) {
    std::vector<AdSpan> spans;
    int last_strong = 0;  // strong cues in spans.back()
    for (size_t i = 0; i < sents.size();) {
        if (!marked[i]) {
            ++i;
            continue;
        }
        AdSpan span{words[sents[i].first].start_ms, 0, ""};
        int strong = 0;
        for (; i < sents.size() && marked[i]; ++i) {
            strong += sents[i].strong;
            if (span.cue.empty()) span.cue = sents[i].cue;
            span.end_ms = words[sents[i].end - 1].end_ms;
        }
        // A read is one block: pieces less than 30 s apart are one read with its cue-less middle, and so are two
        // pieces that both say a strong cue less than 75 s apart (a product described at length between its
        // introduction and its offer).
        const Ms gap = spans.empty() ? 0 : span.start_ms - spans.back().end_ms;
        if (!spans.empty() && (gap < 30000 || (gap < 75000 && strong > 0 && last_strong > 0))) {
            spans.back().end_ms = span.end_ms;
            last_strong += strong;
        } else {
            spans.push_back(span);
            last_strong = strong;
        }
    }
    // Promotion in the last four minutes of an episode (of ten minutes or more) is the outro: plugs, credits and
    // "see you next week" run to the end.
    const Ms episode_end = words.back().end_ms;
    if (!spans.empty() && episode_end >= 600000 && episode_end - spans.back().start_ms < 240000) {
        spans.back().end_ms = episode_end;
    }
    return spans;
}

}  // namespace

std::vector<AdSpan> DetectAdSpans(const std::vector<Word>& words) {
    if (words.empty()) return {};
    const auto toks = Tokenize(words, 0, words.size());
    const auto sents = CueSentences(words, toks);
    return AdBlocks(words, sents, MarkAdSentences(words, sents));
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
