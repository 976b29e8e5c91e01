#include "podpromo/asr/cue_text.h"

#include <algorithm>
#include <cctype>

#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {

bool IsUpper(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }
bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// "<v Ann>" or "<v.loud Ann Lee>" at the start of `s`: the name, and how much of `s` the tag takes.
std::string VoiceTag(std::string_view s, size_t* taken) {
    if (s.rfind("<v", 0) != 0 || s.size() < 4 || (s[2] != ' ' && s[2] != '.')) return "";
    const size_t close = s.find('>');
    const size_t space = s.find(' ');
    if (close == std::string_view::npos || space == std::string_view::npos || space > close) return "";
    *taken = close + 1;
    return TruncateUtf8(TrimAscii(DecodeCharacterReferences(s.substr(space + 1, close - space - 1))), 40);
}

std::string StripMarkup(std::string_view s) {
    std::string out;
    bool in_tag = false;
    for (char c : s) {
        if (c == '<') {
            in_tag = true;
        } else if (c == '>' && in_tag) {
            in_tag = false;
        } else if (!in_tag) {
            out += c;
        }
    }
    return out;
}

// A leading "Name:" (one to three words, each capitalised or a number, at most 32 bytes): the name, and
// whether it is surely a label. "" when the line does not start so.
std::string SpeakerPrefix(const std::string& s, size_t* taken, bool* certain) {
    const size_t colon = s.find(':');
    if (colon == std::string::npos || colon == 0 || colon > 32) return "";
    if (colon + 1 < s.size() && s[colon + 1] != ' ') return "";  // "10:30", "http://"
    std::string name = s.substr(0, colon);
    int words = 0, letters = 0, lower = 0;
    bool word_start = true;
    for (char c : name) {
        if (c == ' ') {
            word_start = true;
            continue;
        }
        if (!IsAlpha(c) && !IsDigit(c) && c != '.' && c != '\'' && c != '-' && c != '_') return "";
        if (word_start) {
            ++words;
            if (!IsUpper(c) && !IsDigit(c)) return "";
        }
        word_start = false;
        letters += IsAlpha(c);
        lower += IsAlpha(c) && !IsUpper(c);
    }
    if (words == 0 || words > 3 || letters == 0) return "";
    const std::string low = AsciiLower(name);
    const bool numbered = low.rfind("speaker", 0) == 0 && IsDigit(name.back());
    *certain = numbered || (lower == 0 && letters >= 2);
    *taken = colon + 1;
    return name;
}

}  // namespace

std::string SoundKind(std::string_view inside, bool square_brackets) {
    const std::string s = AsciiLower(inside);
    auto has = [&](const char* w) { return s.find(w) != std::string::npos; };
    if (has("laugh") || has("chuckl") || has("giggl")) return "laughter";
    if (has("applau") || has("cheer") || has("clapping")) return "applause";
    if (has("music") || has("jingle") || has("theme song")) return "music";
    if (square_brackets) return "sound";
    for (const char* w : {"inaudible", "crosstalk", "sigh", "cough", "silence", "pause", "gasp", "groan", "noise",
                          "static", "beep", "unintelligible", "indistinct"}) {
        if (has(w)) return "sound";
    }
    return "";
}

CueLine ParseCueLine(std::string_view raw) {
    CueLine out;
    std::string_view line = raw;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    size_t taken = 0;
    if (std::string v = VoiceTag(line, &taken); !v.empty()) {
        out.speaker = v;
        out.speaker_certain = out.new_turn = true;
        line.remove_prefix(taken);
    }
    std::string s = TrimAscii(DecodeCharacterReferences(StripMarkup(line)));  // after the tags: "&lt;" is text
    if (s.rfind(">>", 0) == 0 || s.rfind("- ", 0) == 0 || s.rfind("\xE2\x80\x94 ", 0) == 0) {  // ">>", "- ", "— "
        out.new_turn = true;
        s = TrimAscii(s.substr(s[0] == '>' || s[0] == '-' ? 2 : 4));
    }
    bool certain = false;
    if (std::string name = SpeakerPrefix(s, &taken, &certain); !name.empty() && out.speaker.empty()) {
        out.speaker = name;
        out.speaker_certain = certain;
        out.new_turn = true;
        s = TrimAscii(s.substr(taken));
    }
    // Sound tags and music notes out of the words, each remembered where it stood.
    std::string text;
    for (size_t i = 0; i < s.size();) {
        const char open = s[i];
        if (open == '[' || open == '(') {
            const size_t close = s.find(open == '[' ? ']' : ')', i + 1);
            if (close != std::string::npos && close - i <= 40) {
                const std::string kind = SoundKind(std::string_view(s).substr(i + 1, close - i - 1), open == '[');
                if (!kind.empty()) {
                    out.sounds.push_back({kind, text.size()});
                    i = close + 1;
                    continue;
                }
            }
        }
        if (s.compare(i, 3, "\xE2\x99\xAA") == 0 || s.compare(i, 3, "\xE2\x99\xAB") == 0) {  // ♪ ♫
            if (out.sounds.empty() || out.sounds.back().kind != "music") out.sounds.push_back({"music", text.size()});
            i += 3;
            continue;
        }
        if (!(std::isspace(static_cast<unsigned char>(s[i])) && (text.empty() || text.back() == ' '))) {
            text += std::isspace(static_cast<unsigned char>(s[i])) ? ' ' : s[i];
        }
        ++i;
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    for (auto& snd : out.sounds) snd.offset = std::min(snd.offset, text.size());
    out.text = std::move(text);
    return out;
}

}  // namespace podpromo
