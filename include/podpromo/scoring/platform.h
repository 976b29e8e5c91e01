// Target platforms and their clip-length ranges.
// Constant data and pure lookups; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

constexpr Ms kMinClipMs = 12000;
constexpr Ms kMaxClipMs = 60000;

struct Platform {
    std::string name;     // "tiktok"
    std::string display;  // "TikTok"
    Ms optimal_min_ms, optimal_max_ms;
    Ms min_ms, max_ms;  // acceptable range, always inside [kMinClipMs, kMaxClipMs]
};

const std::vector<Platform>& AllPlatforms();
// InvalidInput listing the valid names when `name` is unknown.
Result<Platform> PlatformByName(std::string_view name);

// 1 inside the optimal range, falling linearly to 0.5 at the acceptable edges, 0 outside.
double LengthMatch(const Platform& p, Ms duration_ms);

// The text to post a clip with on `platform`, in that platform's manner and within its limit (in characters):
// TikTok and Reels the title, a line of the clip's words and five hashtags; Shorts a title of at most 100 characters
// with #Shorts; LinkedIn the title, the quoted line and three hashtags; X the title and two hashtags in 280. A title or
// quote that does not fit is cut at a word, with an ellipsis. `quote` is the clip's words; `hashtags` start with #.
struct PostText {
    std::string text;
    size_t limit = 0;  // the platform's caption limit, in characters
};
PostText PostTextFor(const Platform& platform, const std::string& title, const std::string& quote,
                     const std::vector<std::string>& hashtags);

}  // namespace podpromo
