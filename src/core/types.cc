#include "podpromo/core/types.h"

#include <fmt/format.h>

#include <charconv>

namespace podpromo {

size_t Transcript::WordCount() const {
    size_t n = 0;
    for (const auto& s : segments) n += s.words.size();
    return n;
}

std::vector<Word> Transcript::AllWords() const {
    std::vector<Word> out;
    out.reserve(WordCount());
    for (const auto& s : segments) out.insert(out.end(), s.words.begin(), s.words.end());
    return out;
}

std::string FormatClock(Ms ms, bool tenths) {
    if (ms < 0) ms = 0;
    const Ms total_s = ms / 1000;
    const Ms h = total_s / 3600, m = (total_s / 60) % 60, s = total_s % 60;
    std::string out = h > 0 ? fmt::format("{}:{:02}:{:02}", h, m, s) : fmt::format("{}:{:02}", m, s);
    if (tenths) out += fmt::format(".{}", (ms % 1000) / 100);
    return out;
}

std::optional<int64_t> ParseInt(std::string_view text) {
    int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    return value;
}

}  // namespace podpromo
