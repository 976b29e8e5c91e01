#include "podpromo/scoring/text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>
#include <unordered_set>

namespace podpromo {

std::string NormalizeWord(std::string_view raw) {
    // Letters and digits lower-cased; apostrophes inside words ("here's") and decimal points inside numbers
    // ("2.5") kept; everything else dropped.
    std::string out;
    for (char ch : raw) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c)) {
            out += static_cast<char>(std::tolower(c));
        } else if (c == '\'' && !out.empty()) {
            out += '\'';
        } else if (c == '.' && !out.empty() && std::isdigit(static_cast<unsigned char>(out.back()))) {
            out += '.';
        }
    }
    while (!out.empty() && (out.back() == '\'' || out.back() == '.')) out.pop_back();
    return out;
}

std::vector<Token> Tokenize(const std::vector<Word>& words, size_t begin, size_t end) {
    std::vector<Token> toks;
    end = std::min(end, words.size());
    for (size_t i = begin; i < end; ++i) {
        const Word& w = words[i];
        // A word may hold several tokens ("well,that's"); split on spaces only, keep punctuation as markers.
        Token t;
        t.raw = w.text;
        t.norm = NormalizeWord(w.text);
        if (t.norm.empty()) continue;
        t.start_ms = w.start_ms;
        t.end_ms = w.end_ms;
        t.weight = WordWeight(w.confidence);
        const char last = w.text.empty() ? ' ' : w.text.back();
        t.question_mark = last == '?';
        t.sentence_end = last == '.' || last == '!' || last == '?';
        if (i + 1 < words.size() && words[i + 1].start_ms - w.end_ms >= 450) t.sentence_end = true;
        const bool after_end = toks.empty() || toks.back().sentence_end;
        t.capitalised = !after_end && std::isupper(static_cast<unsigned char>(w.text[0])) && t.norm != "i" &&
                        t.norm.rfind("i'", 0) != 0;
        toks.push_back(std::move(t));
    }
    return toks;
}

namespace {

// Matches one phrase part against a token; a trailing '*' matches any word starting with the stem.
bool PartMatches(std::string_view want, const std::string& have) {
    if (!want.empty() && want.back() == '*')
        return have.compare(0, want.size() - 1, want.substr(0, want.size() - 1)) == 0;
    return have == want;
}

}  // namespace

namespace {

// Splits a phrase into its words without allocating (phrases have at most a handful of words).
constexpr size_t kMaxParts = 12;
size_t SplitPhrase(std::string_view phrase, std::string_view (&parts)[kMaxParts]) {
    size_t n = 0, pos = 0;
    while (pos < phrase.size() && n < kMaxParts) {
        while (pos < phrase.size() && phrase[pos] == ' ') ++pos;
        const size_t end = std::min(phrase.find(' ', pos), phrase.size());
        if (end > pos) parts[n++] = phrase.substr(pos, end - pos);
        pos = end;
    }
    return n;
}

bool MatchesAt(const std::vector<Token>& toks, const std::string_view* parts, size_t n, size_t i, size_t to) {
    if (i + n > to) return false;
    for (size_t k = 0; k < n; ++k)
        if (!PartMatches(parts[k], toks[i + k].norm)) return false;
    return true;
}

}  // namespace

size_t FindPhrase(const std::vector<Token>& toks, std::string_view phrase, size_t from, size_t to) {
    std::string_view parts[kMaxParts];
    const size_t n = SplitPhrase(phrase, parts);
    to = std::min(to, toks.size());
    if (n == 0) return std::string::npos;
    for (size_t i = from; i + n <= to; ++i)
        if (MatchesAt(toks, parts, n, i, to)) return i;
    return std::string::npos;
}

std::string FirstPhrase(const std::vector<Token>& toks, const std::vector<std::string>& phrases, size_t from, size_t to,
                        size_t* at) {
    size_t best = std::string::npos;
    std::string found;
    for (const auto& ph : phrases) {
        const size_t i = FindPhrase(toks, ph, from, to);
        if (i != std::string::npos && (best == std::string::npos || i < best)) {
            best = i;
            found = ph;
        }
    }
    if (at) *at = best;
    return found;
}

namespace {

// Matches of any phrase in toks[from, to), each position counted once: their number, or (weighted) the sum of
// the matched words' mean weights. Linear in the tokens: each position is tested against each phrase once.
double Matches(const std::vector<Token>& toks, const std::vector<std::string>& phrases, size_t from, size_t to,
               bool weighted) {
    to = std::min(to, toks.size());
    std::vector<std::pair<std::array<std::string_view, kMaxParts>, size_t>> split(phrases.size());
    for (size_t p = 0; p < phrases.size(); ++p) {
        std::string_view parts[kMaxParts];
        split[p].second = SplitPhrase(phrases[p], parts);
        std::copy(std::begin(parts), std::end(parts), split[p].first.begin());
    }
    double n = 0;
    for (size_t i = from; i < to; ++i) {
        for (const auto& [parts, len] : split) {
            if (len > 0 && MatchesAt(toks, parts.data(), len, i, to)) {
                n += weighted ? MatchWeight(toks, i, len) : 1.0;
                break;
            }
        }
    }
    return n;
}

}  // namespace

int CountPhrases(const std::vector<Token>& toks, const std::vector<std::string>& phrases, size_t from, size_t to) {
    return static_cast<int>(Matches(toks, phrases, from, to, false));
}

double WeighPhrases(const std::vector<Token>& toks, const std::vector<std::string>& phrases, size_t from, size_t to) {
    return Matches(toks, phrases, from, to, true);
}

double MatchWeight(const std::vector<Token>& toks, size_t at, size_t len) {
    double sum = 0;
    size_t n = 0;
    for (size_t i = at; i < toks.size() && i < at + len; ++i, ++n) sum += toks[i].weight;
    return n == 0 ? 0.0 : sum / static_cast<double>(n);
}

double WordWeight(double confidence) { return 0.25 + 0.75 * std::clamp(confidence / kSureConfidence, 0.0, 1.0); }

bool IsNumberWord(std::string_view w) {
    static const std::unordered_set<std::string_view> kWords = {
        "two",      "three",   "four",      "five",     "six",      "seven",   "eight",     "nine",     "ten",
        "eleven",   "twelve",  "thirteen",  "fourteen", "fifteen",  "sixteen", "seventeen", "eighteen", "nineteen",
        "twenty",   "thirty",  "forty",     "fifty",    "sixty",    "seventy", "eighty",    "ninety",   "hundred",
        "thousand", "million", "millions",  "billion",  "billions", "percent", "dollars",   "half",     "double",
        "triple",   "tenfold", "thousands", "hundreds", "dozen"};
    if (w.empty()) return false;
    if (std::isdigit(static_cast<unsigned char>(w[0]))) return true;
    return kWords.count(w) > 0;
}

bool IsFiller(std::string_view w) {
    static const std::unordered_set<std::string_view> kWords = {
        "um",       "uh",    "umm",   "uhm",   "er",     "erm",       "ah",       "hmm",       "mm",
        "like",     "yeah",  "okay",  "ok",    "anyway", "basically", "actually", "literally", "stuff",
        "whatever", "kinda", "sorta", "guess", "mean",   "right",     "so",       "well",      "oh"};
    return kWords.count(w) > 0;
}

bool IsStopword(std::string_view w) {
    static const std::unordered_set<std::string_view> kWords = {
        "a",         "an",      "the",        "and",     "or",     "but",     "so",      "to",     "of",     "in",
        "on",        "at",      "for",        "with",    "from",   "by",      "as",      "is",     "are",    "was",
        "were",      "be",      "been",       "being",   "it",     "its",     "it's",    "this",   "that",   "these",
        "those",     "i",       "you",        "he",      "she",    "we",      "they",    "me",     "him",    "her",
        "us",        "them",    "my",         "your",    "his",    "our",     "their",   "what",   "which",  "who",
        "whom",      "when",    "where",      "why",     "how",    "do",      "does",    "did",    "have",   "has",
        "had",       "not",     "no",         "yes",     "if",     "then",    "than",    "there",  "here",   "just",
        "very",      "really",  "can",        "could",   "would",  "should",  "will",    "about",  "into",   "out",
        "up",        "down",    "over",       "all",     "any",    "some",    "one",     "more",   "most",   "i'm",
        "i've",      "don't",   "that's",     "there's", "here's", "we're",   "they're", "you're", "know",   "think",
        "got",       "get",     "going",      "go",      "thing",  "things",  "said",    "say",    "told",   "tell",
        "let",       "let's",   "every",      "never",   "always", "because", "also",    "even",   "still",  "much",
        "many",      "lot",     "make",       "made",    "want",   "see",     "back",    "time",   "day",    "people",
        "something", "nothing", "everything", "way",     "now",    "first",   "last",    "after",  "before", "again",
        "only",      "other",   "own",        "same",    "too",    "each",    "both",    "few",    "while",  "through",
        "during"};
    return kWords.count(w) > 0 || IsFiller(w);
}

bool IsDanglingEnd(std::string_view w) {
    static const std::unordered_set<std::string_view> kWords = {
        "and",   "but",   "or",   "so",  "because", "that", "which", "the",  "a",  "an",   "of",  "to",
        "in",    "on",    "with", "for", "from",    "if",   "when",  "then", "my", "your", "our", "their",
        "is",    "was",   "were", "are", "like",    "um",   "uh",    "at",   "by", "as",   "who", "where",
        "while", "about", "into", "i",   "we",      "they", "he",    "she",  "you"};
    return kWords.count(w) > 0;
}

std::string JoinRaw(const std::vector<Token>& toks, size_t from, size_t to) {
    std::string out;
    to = std::min(to, toks.size());
    for (size_t i = from; i < to; ++i) {
        if (!out.empty()) out += ' ';
        out += toks[i].raw;
    }
    return out;
}

}  // namespace podpromo
