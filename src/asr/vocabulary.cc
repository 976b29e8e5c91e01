#include "podpromo/asr/vocabulary.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "podpromo/core/subprocess.h"
#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {

// The ASCII letter of a Latin-1 letter U+00C0..U+00FF (its accent dropped), or 0 for the two signs among them.
char Unaccented(unsigned code) {
    static const char kBase[] = "AAAAAAACEEEEIIIIDNOOOOO\0OUUUUYTsaaaaaaaceeeeiiiidnooooo\0ouuuuyty";
    return code >= 0xC0 && code <= 0xFF ? kBase[code - 0xC0] : 0;
}

// Words of `text`: runs of letters and digits with inner apostrophes, lower case, accents dropped (the
// recogniser's dictionary is ASCII). Other characters split words.
std::vector<std::string> Words(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        while (!cur.empty() && cur.back() == '\'') cur.pop_back();
        if (!cur.empty()) out.push_back(AsciiLower(cur));
        cur.clear();
    };
    for (size_t i = 0; i < text.size(); ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        if (u < 128 && std::isalnum(u)) {
            cur += static_cast<char>(u);
        } else if (u == '\'' && !cur.empty()) {
            cur += '\'';
        } else if ((u == 0xC3) && i + 1 < text.size() &&
                   Unaccented(0x40u + static_cast<unsigned char>(text[i + 1])) != 0) {
            cur += Unaccented(0x40u + static_cast<unsigned char>(text[i + 1]));  // U+00C0..U+00FF is C3 80..C3 BF
            ++i;
        } else {
            flush();
        }
    }
    flush();
    return out;
}

// IPA symbols (as espeak-ng writes them for American English) and their ARPAbet phones, longest first when
// matched.
const std::vector<std::pair<std::string, std::string>>& IpaTable() {
    static const auto table = [] {
        std::vector<std::pair<std::string, std::string>> t = {
            {"aɪ", "AY"}, {"aʊ", "AW"}, {"eɪ", "EY"}, {"oʊ", "OW"}, {"ɔɪ", "OY"}, {"tʃ", "CH"}, {"dʒ", "JH"},
            {"ɑ", "AA"},  {"ɒ", "AA"},  {"a", "AE"},  {"æ", "AE"},  {"ʌ", "AH"},  {"ə", "AH"},  {"ɐ", "AH"},
            {"ɔ", "AO"},  {"ɛ", "EH"},  {"e", "EH"},  {"ɚ", "ER"},  {"ɜ", "ER"},  {"ɝ", "ER"},  {"ɪ", "IH"},
            {"ᵻ", "IH"},  {"i", "IY"},  {"o", "OW"},  {"ʊ", "UH"},  {"u", "UW"},  {"b", "B"},   {"d", "D"},
            {"ð", "DH"},  {"f", "F"},   {"ɡ", "G"},   {"g", "G"},   {"h", "HH"},  {"k", "K"},   {"x", "K"},
            {"l", "L"},   {"ɫ", "L"},   {"m", "M"},   {"n", "N"},   {"ŋ", "NG"},  {"p", "P"},   {"ɹ", "R"},
            {"r", "R"},   {"s", "S"},   {"ʃ", "SH"},  {"t", "T"},   {"ɾ", "T"},   {"ʔ", "T"},   {"θ", "TH"},
            {"v", "V"},   {"w", "W"},   {"j", "Y"},   {"z", "Z"},   {"ʒ", "ZH"}};
        std::stable_sort(t.begin(), t.end(),
                         [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
        return t;
    }();
    return table;
}

}  // namespace

std::vector<std::string> ParseTerms(std::string_view list) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    size_t start = 0;
    for (size_t i = 0; i <= list.size(); ++i) {
        if (i < list.size() && list[i] != ',' && list[i] != ';' && list[i] != '\n') continue;
        std::string term = TrimAscii(list.substr(start, i - start));
        start = i + 1;
        if (term.empty() || term.size() > 60 || !seen.insert(AsciiLower(term)).second) continue;
        out.push_back(std::move(term));
        if (out.size() >= 100) break;
    }
    return out;
}

std::string WhisperPrompt(const Vocabulary& v) {
    std::string prompt;
    auto sentence = [&](const std::string& s) {
        const std::string t = TrimAscii(s);
        if (t.empty()) return;
        if (!prompt.empty()) prompt += ' ';
        prompt += t;
        if (t.back() != '.' && t.back() != '?' && t.back() != '!') prompt += '.';
    };
    sentence(v.show);
    sentence(v.title);
    std::string terms;
    for (const auto& t : v.terms) {
        if (prompt.size() + terms.size() + t.size() + 2 > 800) break;
        terms += (terms.empty() ? "" : ", ") + t;
    }
    sentence(terms);
    return prompt;
}

std::vector<VocabularyWord> VocabularyWords(const Vocabulary& v) {
    std::vector<VocabularyWord> out;
    std::map<std::string, size_t> at;
    auto add = [&](const std::string& text, bool boost) {
        for (auto& w : Words(text)) {
            if (w.size() > 40) continue;
            const auto it = at.find(w);
            if (it != at.end()) {
                out[it->second].boost = out[it->second].boost || boost;
                continue;
            }
            at[w] = out.size();
            out.push_back({w, boost});
        }
    };
    add(v.show, true);
    for (const auto& t : v.terms) add(t, true);
    add(v.title, false);
    return out;
}

std::optional<std::string> IpaToArpabet(std::string_view ipa) {
    // Stress and length marks carry nothing the phone set keeps; a syllabic mark (n̩, l̩) gets its schwa back.
    static const std::vector<std::string> kDrop = {"ˈ", "ˌ", "ː", "ˑ", "‿", "ʲ"};
    static const std::string kSyllabic = "\xCC\xA9";  // U+0329
    std::string phones;
    std::string unit;
    auto emit = [&](const std::string& p) { phones += (phones.empty() ? "" : " ") + p; };
    auto flush = [&]() -> bool {
        std::string u = unit;
        unit.clear();
        for (const auto& d : kDrop) {
            for (size_t p; (p = u.find(d)) != std::string::npos;) u.erase(p, d.size());
        }
        if (u.empty()) return true;
        if (const auto p = u.find(kSyllabic); p != std::string::npos) {
            u.erase(p, kSyllabic.size());
            emit("AH");
        }
        size_t i = 0;
        while (i < u.size()) {
            bool found = false;
            for (const auto& [sym, arpa] : IpaTable()) {
                if (u.compare(i, sym.size(), sym) == 0) {
                    emit(arpa);
                    i += sym.size();
                    found = true;
                    break;
                }
            }
            if (!found) return false;
        }
        return true;
    };
    for (const char ch : ipa) {
        if (ch == '_' || ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
            if (!flush()) return std::nullopt;
        } else {
            unit += ch;
        }
    }
    if (!flush() || phones.empty()) return std::nullopt;
    return phones;
}

Result<std::string> GeneratePronunciation(const std::string& word) {
    static std::mutex mu;
    static std::map<std::string, std::string> cache;
    {
        std::lock_guard<std::mutex> lock(mu);
        if (const auto it = cache.find(word); it != cache.end()) return it->second;
    }
    if (word.empty() || word[0] == '-') return Status::InvalidInput("not a word: " + word);
    auto run =
        RunProcess({"espeak-ng", "-q", "--ipa", "--sep=_", "-v", "en-us", word}, nullptr, 10000, kChildMemoryBytes / 8);
    if (!run.ok()) return Status::Unavailable("espeak-ng is not available to spell out new words");
    if (run->exit_code != 0) return Status::InvalidInput("espeak-ng could not pronounce " + word);
    const auto phones = IpaToArpabet(run->out);
    if (!phones) return Status::InvalidInput("no pronunciation for " + word + " in " + TrimAscii(run->out));
    std::lock_guard<std::mutex> lock(mu);
    cache[word] = *phones;
    return *phones;
}

}  // namespace podpromo
