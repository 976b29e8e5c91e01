#include "podpromo/scoring/platform.h"

#include "lookup.h"
#include "podpromo/core/utf8.h"

namespace podpromo {

const std::vector<Platform>& AllPlatforms() {
    static const std::vector<Platform> kPlatforms = {
        {"tiktok", "TikTok", 15000, 30000, 12000, 45000},
        {"shorts", "YouTube Shorts", 20000, 45000, 15000, 60000},
        {"reels", "Instagram Reels", 15000, 30000, 12000, 60000},
        {"linkedin", "LinkedIn", 30000, 60000, 20000, 60000},
        {"x", "X", 15000, 45000, 12000, 60000},
    };
    return kPlatforms;
}

Result<Platform> PlatformByName(std::string_view name) { return FindByName(AllPlatforms(), name, "platform"); }

double LengthMatch(const Platform& p, Ms d) {
    if (d < p.min_ms || d > p.max_ms) return 0.0;
    if (d >= p.optimal_min_ms && d <= p.optimal_max_ms) return 1.0;
    if (d < p.optimal_min_ms) {
        const double span = static_cast<double>(p.optimal_min_ms - p.min_ms);
        return span <= 0 ? 1.0 : 0.5 + 0.5 * static_cast<double>(d - p.min_ms) / span;
    }
    const double span = static_cast<double>(p.max_ms - p.optimal_max_ms);
    return span <= 0 ? 1.0 : 0.5 + 0.5 * static_cast<double>(p.max_ms - d) / span;
}

namespace {

// `s` cut to at most `max` characters at a word, with an ellipsis when cut.
std::string CutAtWord(const std::string& s, size_t max) {
    if (Utf8Length(s) <= max) return s;
    std::string cut = TruncateUtf8(s, max > 1 ? max - 1 : 0);
    const size_t space = cut.rfind(' ');
    if (space != std::string::npos && space > cut.size() / 2) cut.resize(space);
    while (!cut.empty() && (cut.back() == ' ' || cut.back() == ',' || cut.back() == '.')) cut.pop_back();
    return cut + "…";
}

std::string Tags(const std::vector<std::string>& hashtags, size_t n, const std::string& first = "") {
    std::string out = first;
    for (size_t i = 0; i < hashtags.size() && i < n; ++i) {
        if (hashtags[i] == first) continue;
        out += (out.empty() ? "" : " ") + hashtags[i];
    }
    return out;
}

}  // namespace

PostText PostTextFor(const Platform& platform, const std::string& title, const std::string& quote,
                     const std::vector<std::string>& hashtags) {
    const std::string line = CutAtWord(quote, 180);
    PostText p;
    if (platform.name == "x") {
        p.limit = 280;
        const std::string tags = Tags(hashtags, 2);
        p.text = CutAtWord(title, p.limit - Utf8Length(tags) - 2) + "\n\n" + tags;
    } else if (platform.name == "shorts") {
        p.limit = 100;  // a Short's title
        const std::string tags = Tags(hashtags, 2, "#Shorts");
        p.text = CutAtWord(title, p.limit - Utf8Length(tags) - 1) + " " + tags;
    } else if (platform.name == "linkedin") {
        p.limit = 3000;
        p.text = title + "\n\n“" + line + "”\n\n" + Tags(hashtags, 3);
    } else {
        p.limit = platform.name == "reels" ? 2200 : 4000;
        p.text = title + "\n\n" + line + "\n\n" + Tags(hashtags, 5);
    }
    return p;
}

}  // namespace podpromo
