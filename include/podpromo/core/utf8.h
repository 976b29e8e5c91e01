// UTF-8 text as every external string must be before it is stored or written: checked, cut on code points, and
// written into JSON so that serialisation cannot throw. Pure; thread-safe; nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace podpromo {

// True when `s` is well-formed UTF-8: no stray continuation bytes, no truncated or overlong sequences, no
// surrogates, nothing past U+10FFFF.
bool IsValidUtf8(std::string_view s);

// The number of code points in `s` (continuation bytes are not counted).
size_t Utf8Length(std::string_view s);

// The first `max_code_points` code points of `s`: a multi-byte character is never cut in two.
std::string TruncateUtf8(std::string_view s, size_t max_code_points);

// `s` with its ASCII letters in lower case (every other byte as it is).
std::string AsciiLower(std::string_view s);
// `s` without its leading and trailing ASCII white space.
std::string TrimAscii(std::string_view s);
// `text` with the five XML special characters escaped (&amp; &lt; &gt; &quot; &apos;), fit for an element or attribute.
std::string EscapeXml(std::string_view text);
// `s` with every byte that is neither an ASCII letter or digit nor one of `keep` written as %XX (upper-case hex).
std::string PercentEncode(std::string_view s, std::string_view keep);
// A word as captions show it: the pronoun "i" and its contractions ("i'm", "i'll", "i'd", "i've", with a straight or
// curly apostrophe, and any punctuation after) get their capital, as recognisers that write lower case leave them;
// every other word is returned as it is.
std::string CaptionWord(std::string_view word);

// Appends code point `cp` (at most U+10FFFF, not a surrogate) to `out` as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out);
// `s` with the character references caption files write decoded: &amp; &lt; &gt; &quot; &apos;, &nbsp; (as a plain
// space, so it still parts words) and numeric ones (&#233; &#xE9;); &lrm; and &rlm; are dropped. A reference that
// is unknown, unterminated or names no character (&#0;, a surrogate) is left as it stands.
std::string DecodeCharacterReferences(std::string_view s);

// `s` read as Windows-1252 (the "ANSI" many subtitle editors still write), as UTF-8. Every byte maps: the five
// bytes 1252 leaves undefined keep their Latin-1 meaning.
std::string Cp1252ToUtf8(std::string_view s);

// `j` as text (indented by `indent` spaces when >= 0). Invalid UTF-8 in a string is written as U+FFFD instead of
// throwing, so a bad byte that got past validation still cannot fail a response, a log line or a job.
std::string DumpJson(const nlohmann::json& j, int indent = -1);
// `text` parsed as JSON; `fallback` when it is not JSON (a damaged column, say). Never throws.
nlohmann::json ParseJsonOr(const std::string& text, const nlohmann::json& fallback);

}  // namespace podpromo
