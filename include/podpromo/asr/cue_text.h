// What a caption line says besides its words: the speaker it names ("Speaker 1:", "JOHN:", "<v Ann>", ">>")
// and the sounds it marks ("[MUSIC]", "(laughs)", "♪"). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace podpromo {

// A sound tag found in a line; `offset` is where it stood in the cleaned text (in bytes), so a caller can place
// it in time.
struct SoundTag {
    std::string kind;  // "laughter", "applause", "music" or "sound"
    size_t offset = 0;
};

struct CueLine {
    std::string text;              // the spoken words alone
    std::string speaker;           // the name the line gives, "" when none
    bool speaker_certain = false;  // "Speaker 2", an all-capitals name or a <v> tag: a label whatever follows
    bool new_turn = false;         // ">>" or "- " opened the line, or it names a speaker
    std::vector<SoundTag> sounds;
};

// Splits one caption line into its words, speaker and sounds. Markup tags (<i>, <c.x>, timestamps) are dropped;
// character references (&amp;, &#233;) are decoded.
// A leading "Name:" of one to three capitalised words is taken as a speaker; callers should keep only
// uncertain names that recur (a word before a colon can be prose).
CueLine ParseCueLine(std::string_view line);

// The sound kind of a bracketed tag's inside ("laughs" -> "laughter"), or "" when it is not a sound tag.
std::string SoundKind(std::string_view inside, bool square_brackets);

}  // namespace podpromo
