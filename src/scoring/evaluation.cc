#include "podpromo/scoring/evaluation.h"

#include <algorithm>
#include <random>
#include <sstream>

#include "podpromo/scoring/text.h"

namespace podpromo {

Ms OverlapMs(const TimeSpan& a, const TimeSpan& b) {
    return std::max<Ms>(0, std::min(a.end_ms, b.end_ms) - std::max(a.start_ms, b.start_ms));
}

bool ClipFindsMoment(const TimeSpan& clip, const TimeSpan& moment) {
    const Ms shorter = std::min(clip.DurationMs(), moment.DurationMs());
    return shorter > 0 && 2 * OverlapMs(clip, moment) >= shorter;
}

int MomentsFound(const std::vector<TimeSpan>& clips, const std::vector<TimeSpan>& moments) {
    int found = 0;
    for (const auto& m : moments) {
        found += std::any_of(clips.begin(), clips.end(), [&](const TimeSpan& c) { return ClipFindsMoment(c, m); });
    }
    return found;
}

double RandomMomentsFound(const std::vector<Ms>& lengths_ms, const std::vector<TimeSpan>& moments, Ms duration_ms,
                          int trials, uint32_t seed) {
    if (trials <= 0 || lengths_ms.empty()) return 0;
    std::mt19937 rng(seed);
    long total = 0;
    std::vector<TimeSpan> clips(lengths_ms.size());
    for (int t = 0; t < trials; ++t) {
        for (size_t i = 0; i < lengths_ms.size(); ++i) {
            const Ms room = std::max<Ms>(0, duration_ms - lengths_ms[i]);
            const Ms start = std::uniform_int_distribution<Ms>(0, room)(rng);
            clips[i] = {start, start + lengths_ms[i]};
        }
        total += MomentsFound(clips, moments);
    }
    return static_cast<double>(total) / trials;
}

int ClipsOverlapping(const std::vector<TimeSpan>& clips, const std::vector<TimeSpan>& blocks, Ms tolerance_ms) {
    int n = 0;
    for (const auto& c : clips) {
        n += std::any_of(blocks.begin(), blocks.end(),
                         [&](const TimeSpan& b) { return OverlapMs(c, b) > tolerance_ms; });
    }
    return n;
}

bool TitleEndsMidPhrase(const std::string& title) {
    std::istringstream in(title);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    if (words.empty()) return true;
    // Words that cannot end an English phrase (unlike "on", "to" or "you", which end "move on", "go to").
    static const std::vector<std::string> kNeedsMore = {"the", "a",    "an",      "and",   "but",   "or",  "nor",
                                                        "of",  "my",   "your",    "our",   "their", "its", "because",
                                                        "if",  "than", "whether", "whose", "very"};
    const std::string last = NormalizeWord(words.back());
    if (std::find(kNeedsMore.begin(), kNeedsMore.end(), last) != kNeedsMore.end()) return true;
    // Words after the last internal sentence end.
    size_t tail = 0;
    for (size_t i = 0; i + 1 < words.size(); ++i) {
        const char last = words[i].back();
        if (last == '.' || last == '!' || last == '?') tail = i + 1;
    }
    const char end = words.back().back();
    const bool closed = end == '.' || end == '!' || end == '?' || end == '"' || end == '\'';
    return tail > 0 && !closed && words.size() - tail <= 2;
}

}  // namespace podpromo

namespace podpromo {

bool HasSpeakerPrefix(const std::string& text) {
    if (text.find(">>") != std::string::npos) return true;
    std::istringstream in(text);
    std::string prev;
    for (std::string w; in >> w; prev = w) {
        if (w.size() < 2 || w.back() != ':') continue;
        const std::string name = w.substr(0, w.size() - 1);
        const bool digits = std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(c); });
        const bool caps = name.size() >= 2 && std::all_of(name.begin(), name.end(), [](char c) {
                              return std::isupper(static_cast<unsigned char>(c)) || c == '.' || c == '-';
                          });
        if ((digits && (prev == "Speaker" || prev == "SPEAKER")) || caps || name == "Speaker") return true;
    }
    return false;
}

}  // namespace podpromo
