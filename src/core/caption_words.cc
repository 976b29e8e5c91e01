#include "podpromo/core/caption_words.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {

enum class Kind { kNone, kZero, kUnit, kTeen, kTen, kHundred, kScale, kAnd };
struct Token {
    Kind kind = Kind::kNone;
    int64_t value = 0;
};

std::optional<Token> NumberWord(std::string_view w) {
    static const std::map<std::string_view, Token> kWords = {{"zero", {Kind::kZero, 0}},
                                                             {"one", {Kind::kUnit, 1}},
                                                             {"two", {Kind::kUnit, 2}},
                                                             {"three", {Kind::kUnit, 3}},
                                                             {"four", {Kind::kUnit, 4}},
                                                             {"five", {Kind::kUnit, 5}},
                                                             {"six", {Kind::kUnit, 6}},
                                                             {"seven", {Kind::kUnit, 7}},
                                                             {"eight", {Kind::kUnit, 8}},
                                                             {"nine", {Kind::kUnit, 9}},
                                                             {"ten", {Kind::kTeen, 10}},
                                                             {"eleven", {Kind::kTeen, 11}},
                                                             {"twelve", {Kind::kTeen, 12}},
                                                             {"thirteen", {Kind::kTeen, 13}},
                                                             {"fourteen", {Kind::kTeen, 14}},
                                                             {"fifteen", {Kind::kTeen, 15}},
                                                             {"sixteen", {Kind::kTeen, 16}},
                                                             {"seventeen", {Kind::kTeen, 17}},
                                                             {"eighteen", {Kind::kTeen, 18}},
                                                             {"nineteen", {Kind::kTeen, 19}},
                                                             {"twenty", {Kind::kTen, 20}},
                                                             {"thirty", {Kind::kTen, 30}},
                                                             {"forty", {Kind::kTen, 40}},
                                                             {"fifty", {Kind::kTen, 50}},
                                                             {"sixty", {Kind::kTen, 60}},
                                                             {"seventy", {Kind::kTen, 70}},
                                                             {"eighty", {Kind::kTen, 80}},
                                                             {"ninety", {Kind::kTen, 90}},
                                                             {"hundred", {Kind::kHundred, 100}},
                                                             {"thousand", {Kind::kScale, 1000}},
                                                             {"million", {Kind::kScale, 1000000}},
                                                             {"billion", {Kind::kScale, 1000000000}},
                                                             {"and", {Kind::kAnd, 0}}};
    const auto it = kWords.find(w);
    if (it == kWords.end()) return std::nullopt;
    return it->second;
}

// A word cut into its leading punctuation, its lower-case letters and its trailing punctuation.
struct Split {
    std::string lead, core, trail;
};
Split SplitWord(std::string_view w) {
    size_t a = 0, b = w.size();
    while (a < b && std::ispunct(static_cast<unsigned char>(w[a])) && w[a] != '-') ++a;
    while (b > a && std::ispunct(static_cast<unsigned char>(w[b - 1])) && w[b - 1] != '-') --b;
    return {std::string(w.substr(0, a)), AsciiLower(w.substr(a, b - a)), std::string(w.substr(b))};
}

// A cardinal number said in words, token by token: "one hundred and twenty three thousand four hundred".
class Cardinal {
  public:
    // Takes `t` when the number can go on with it; false (and unchanged) when it cannot.
    bool Take(const Token& t) {
        switch (t.kind) {
            case Kind::kZero:
                if (last_ != Kind::kNone) return false;
                break;
            case Kind::kUnit:
                if (!Any({Kind::kNone, Kind::kTen, Kind::kHundred, Kind::kScale, Kind::kAnd})) return false;
                seg_ += t.value;
                break;
            case Kind::kTeen:
            case Kind::kTen:
                if (!Any({Kind::kNone, Kind::kHundred, Kind::kScale, Kind::kAnd})) return false;
                seg_ += t.value;
                break;
            case Kind::kHundred:
                if (!Any({Kind::kUnit, Kind::kTeen}) || seg_ >= 100) return false;
                seg_ *= 100;
                small_ = false;
                break;
            case Kind::kScale:
                if (!Any({Kind::kUnit, Kind::kTeen, Kind::kTen, Kind::kHundred}) || t.value >= scale_) return false;
                total_ += seg_ * t.value;
                seg_ = 0;
                scale_ = t.value;
                small_ = false;
                break;
            case Kind::kAnd:
                if (!Any({Kind::kHundred, Kind::kScale})) return false;
                break;
            case Kind::kNone:
                return false;
        }
        last_ = t.kind;
        return true;
    }
    int64_t value() const { return total_ + seg_; }
    // Ends well: not on "and" (which then belongs to the sentence).
    bool complete() const { return last_ != Kind::kNone && last_ != Kind::kAnd; }
    // Said as two digits at most ("nineteen", "ninety four"): the half of a year.
    bool two_digit() const { return small_ && value() >= 10 && value() <= 99; }

  private:
    bool Any(std::initializer_list<Kind> kinds) const {
        return std::find(kinds.begin(), kinds.end(), last_) != kinds.end();
    }
    int64_t total_ = 0, seg_ = 0, scale_ = INT64_MAX;
    Kind last_ = Kind::kNone;
    bool small_ = true;
};

// The number word tokens of `core` ("twenty-five" is two), or none when any part is no number word.
std::vector<Token> Tokens(const std::string& core) {
    std::vector<Token> out;
    size_t at = 0;
    while (at <= core.size()) {
        const size_t dash = std::min(core.find('-', at), core.size());
        auto t = NumberWord(std::string_view(core).substr(at, dash - at));
        if (!t) return {};
        out.push_back(*t);
        at = dash + 1;
    }
    return out;
}

struct Spoken {
    size_t end = 0;  // one past the last word it took
    Cardinal number;
    std::string trail;  // the last word's trailing punctuation
};

// The longest cardinal number starting at words[i] (none when words[i] starts none).
std::optional<Spoken> ReadCardinal(const std::vector<Split>& words, size_t i, bool small_only = false) {
    Spoken best, cur;
    bool found = false;
    for (size_t j = i; j < words.size(); ++j) {
        const auto tokens = Tokens(words[j].core);
        if (tokens.empty() || (j > i && !words[j].lead.empty())) break;
        Cardinal next = cur.number;
        if (!std::all_of(tokens.begin(), tokens.end(), [&](const Token& t) { return next.Take(t); })) break;
        if (small_only && !next.two_digit()) break;
        cur = {j + 1, next, words[j].trail};
        if (next.complete()) {
            best = cur;
            found = true;
        }
        if (!words[j].trail.empty()) break;
    }
    if (!found) return std::nullopt;
    return best;
}

std::string Grouped(int64_t v) {
    // Whole millions and billions as people write them ("2 million dollars").
    if (v >= 1000000000 && v % 1000000000 == 0) return std::to_string(v / 1000000000) + " billion";
    if (v >= 1000000 && v % 1000000 == 0) return std::to_string(v / 1000000) + " million";
    std::string digits = std::to_string(v);
    if (v < 10000) return digits;
    std::string out;
    for (size_t k = 0; k < digits.size(); ++k) {
        if (k > 0 && (digits.size() - k) % 3 == 0) out += ',';
        out += digits[k];
    }
    return out;
}

// The number said from words[i], as the caption shows it, and the words it took; none when words[i] starts no
// number, or one better left in words.
std::optional<std::pair<std::string, size_t>> ReadNumber(const std::vector<Split>& words, size_t i) {
    auto n = ReadCardinal(words, i);
    if (!n) return std::nullopt;
    std::string text = Grouped(n->number.value());
    bool marked = n->end - i >= 2 || n->number.value() >= 10;
    auto word_is = [&](size_t k, const char* w) { return k < words.size() && words[k].core == w; };
    if (n->trail.empty() && n->number.two_digit() && n->number.value() >= 11 && n->number.value() <= 20) {
        if (auto year = ReadCardinal(words, n->end, true); year && words[n->end].lead.empty()) {
            text = std::to_string(n->number.value() * 100 + year->number.value());
            n->end = year->end;
            n->trail = year->trail;
        }
    }
    if (n->trail.empty() && word_is(n->end, "point")) {
        std::string decimals;
        size_t k = n->end + 1;
        for (; k < words.size() && decimals.size() < 6; ++k) {
            const auto t = NumberWord(words[k].core);
            if (!t || (t->kind != Kind::kUnit && t->kind != Kind::kZero) || !words[k].lead.empty()) break;
            decimals += std::to_string(t->value);
            if (!words[k].trail.empty()) {
                ++k;
                break;
            }
        }
        if (!decimals.empty()) {
            text += "." + decimals;
            n->trail = words[k - 1].trail;
            n->end = k;
            marked = true;
        }
    }
    if (n->trail.empty() && (word_is(n->end, "percent") || (word_is(n->end, "per") && word_is(n->end + 1, "cent")))) {
        n->end += words[n->end].core == "per" ? 2 : 1;
        text += "%";
        n->trail = words[n->end - 1].trail;
        marked = true;
    }
    if (!marked) return std::nullopt;
    return std::pair{words[i].lead + text + n->trail, n->end};
}

}  // namespace

std::vector<Word> CaptionWords(const std::vector<Word>& words) {
    std::vector<Split> split;
    split.reserve(words.size());
    for (const Word& w : words) split.push_back(SplitWord(w.text));
    std::vector<Word> out;
    out.reserve(words.size());
    for (size_t i = 0; i < words.size();) {
        if (auto n = ReadNumber(split, i)) {
            Word w = words[i];
            w.text = n->first;
            w.end_ms = std::max(w.end_ms, words[n->second - 1].end_ms);
            for (size_t k = i; k < n->second; ++k) w.confidence = std::min(w.confidence, words[k].confidence);
            out.push_back(std::move(w));
            i = n->second;
        } else {
            Word w = words[i];
            w.text = CaptionWord(w.text);
            out.push_back(std::move(w));
            ++i;
        }
    }
    return out;
}

}  // namespace podpromo
