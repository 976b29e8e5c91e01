#include "podpromo/core/utf8.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

namespace podpromo {

bool IsValidUtf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n = 0;
        uint32_t cp = 0, min = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;  // truncated
        for (size_t k = 1; k <= n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

size_t Utf8Length(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

std::string TruncateUtf8(std::string_view s, size_t max_code_points) {
    size_t points = 0, i = 0;
    for (; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
        if (points == max_code_points) break;
        ++points;
    }
    return std::string(s.substr(0, i));
}

std::string Cp1252ToUtf8(std::string_view s) {
    // 0x80-0x9F in Windows-1252; 0 where 1252 defines nothing (the Latin-1 control character stands).
    static constexpr std::array<uint16_t, 32> kHigh = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                                       0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
                                                       0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                                       0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    for (unsigned char c : s) {
        uint32_t cp = c;
        if (c >= 0x80 && c < 0xA0 && kHigh[c - 0x80] != 0) cp = kHigh[c - 0x80];
        AppendUtf8(cp, &out);
    }
    return out;
}

void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
        *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        *out += static_cast<char>(0xC0 | (cp >> 6));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out += static_cast<char>(0xE0 | (cp >> 12));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        *out += static_cast<char>(0xF0 | (cp >> 18));
        *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

namespace {

// The code point of a numeric reference's inside ("#233", "#xE9"), or 0 when it names none.
uint32_t NumericReference(std::string_view name) {
    const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
    const std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty() || digits.size() > 6) return 0;
    uint32_t cp = 0;
    for (char c : digits) {
        const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : hex && std::isxdigit(static_cast<unsigned char>(c))
                          ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                          : -1;
        if (v < 0) return 0;
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
    }
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    return cp > 0x10FFFF || surrogate ? 0 : cp;
}

// What the reference `name` (between '&' and ';') stands for; false when it is not one decoded here.
bool DecodeReference(std::string_view name, std::string* out) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kNamed = {{{"amp", "&"},
                                                                                             {"lt", "<"},
                                                                                             {"gt", ">"},
                                                                                             {"quot", "\""},
                                                                                             {"apos", "'"},
                                                                                             {"nbsp", " "},
                                                                                             {"lrm", ""},
                                                                                             {"rlm", ""}}};
    for (const auto& [n, text] : kNamed) {
        if (name == n) {
            *out += text;
            return true;
        }
    }
    if (name.empty() || name[0] != '#') return false;
    const uint32_t cp = NumericReference(name);
    if (cp == 0) return false;
    AppendUtf8(cp, out);
    return true;
}

}  // namespace

std::string DecodeCharacterReferences(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        // The ';' is looked for only as far as the longest reference reaches (8 characters), so a line of '&'
        // without one costs a pass, not a pass per '&'.
        const size_t semi = s[i] == '&' ? s.substr(i + 1, 9).find(';') : std::string_view::npos;
        if (semi != std::string_view::npos && DecodeReference(s.substr(i + 1, semi), &out)) {
            i += semi + 1;
        } else {
            out += s[i];
        }
    }
    return out;
}

nlohmann::json ParseJsonOr(const std::string& text, const nlohmann::json& fallback) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    return j.is_discarded() ? fallback : j;
}

std::string DumpJson(const nlohmann::json& j, int indent) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string AsciiLower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string EscapeXml(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string PercentEncode(std::string_view s, std::string_view keep) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char ch : s) {
        if (std::isalnum(ch) || keep.find(static_cast<char>(ch)) != std::string_view::npos) {
            out.push_back(static_cast<char>(ch));
        } else {
            out += {'%', kHex[ch >> 4], kHex[ch & 15]};
        }
    }
    return out;
}

std::string CaptionWord(std::string_view word) {
    std::string out(word);
    if (out.empty() || out[0] != 'i') return out;
    const std::string_view rest = word.substr(1);
    // "i" with punctuation after it ("i,", "i?"), or a contraction: ' or ’ (E2 80 99) then letters.
    const bool alone = std::all_of(rest.begin(), rest.end(),
                                   [](char c) { return std::ispunct(static_cast<unsigned char>(c)) && c != '\''; });
    const bool contraction = rest.rfind('\'', 0) == 0 || rest.rfind("\xE2\x80\x99", 0) == 0;
    if (alone || contraction) out[0] = 'I';
    return out;
}

std::string TrimAscii(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    return std::string(s.substr(a, b - a));
}

}  // namespace podpromo
