#include "podpromo/scoring/platform.h"

#include "lookup.h"

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

}  // namespace podpromo
