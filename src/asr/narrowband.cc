// Narrowband speech found in log-mel frames and its missing upper band predicted (see narrowband.h).
#include "podpromo/asr/narrowband.h"

#include <algorithm>
#include <cmath>

namespace podpromo {
namespace {

#include "narrowband_table.inc"

static_assert(kTableBands == kMelBands && kTableNarrowBands == kNarrowBands, "table made for another filterbank");
constexpr int kUpperBands = kMelBands - kNarrowBands;

constexpr size_t kWindowFrames = 200;  // 2 s
constexpr size_t kHopFrames = 100;     // 1 s
constexpr double kCliffDb = -30.0;
constexpr int kMedianWindows = 5;

// Each filter's noise floor: twice the tenth percentile of its energy over all the frames.
std::array<double, kMelBands> NoiseFloor(std::span<const MelFrame> frames) {
    std::array<double, kMelBands> floor{};
    std::vector<double> energy(frames.size());
    for (int b = 0; b < kMelBands; ++b) {
        for (size_t t = 0; t < frames.size(); ++t) energy[t] = std::exp(static_cast<double>(frames[t][b]));
        auto tenth = energy.begin() + static_cast<long>(energy.size() / 10);
        std::nth_element(energy.begin(), tenth, energy.end());
        floor[b] = 2.0 * *tenth;
    }
    return floor;
}

// Energy above the noise floor in filters 21-22 against that in filters 16-18 over each window, in dB. (Measured
// above the floor, a line's hiss does not fill the band it cannot carry.) Windows start every second; the last one
// may be shorter.
std::vector<double> WindowCliffs(std::span<const MelFrame> frames) {
    const std::array<double, kMelBands> floor = NoiseFloor(frames);
    auto above_floor = [&](size_t t, int b) {
        return std::max(0.0, std::exp(static_cast<double>(frames[t][b])) - floor[b]);
    };
    const size_t n = frames.size();
    const size_t windows = n <= kWindowFrames ? 1 : 1 + (n - kWindowFrames + kHopFrames - 1) / kHopFrames;
    std::vector<double> cliffs;
    for (size_t w = 0; w < windows; ++w) {
        double upper = 1e-9, lower = 1e-9;
        for (size_t t = w * kHopFrames; t < std::min(n, w * kHopFrames + kWindowFrames); ++t) {
            for (int b = 21; b <= 22; ++b) upper += above_floor(t, b);
            for (int b = 16; b <= 18; ++b) lower += above_floor(t, b);
        }
        cliffs.push_back(10.0 * std::log10(upper / lower));
    }
    return cliffs;
}

}  // namespace

std::vector<bool> FindNarrowbandFrames(std::span<const MelFrame> frames) {
    std::vector<bool> narrow(frames.size(), false);
    if (frames.empty()) return narrow;
    const std::vector<double> cliffs = WindowCliffs(frames);
    const long windows = static_cast<long>(cliffs.size());
    std::vector<bool> verdict(cliffs.size());
    for (long w = 0; w < windows; ++w) {
        std::vector<double> around;
        for (long k = std::max(0L, w - kMedianWindows / 2); k <= std::min(windows - 1, w + kMedianWindows / 2); ++k) {
            around.push_back(cliffs[static_cast<size_t>(k)]);
        }
        std::nth_element(around.begin(), around.begin() + static_cast<long>(around.size() / 2), around.end());
        verdict[static_cast<size_t>(w)] = around[around.size() / 2] < kCliffDb;
    }
    // Each frame takes the verdict of the window centred nearest to it.
    for (size_t t = 0; t < frames.size(); ++t) {
        const long nearest = std::lround((static_cast<double>(t) - kWindowFrames / 2.0) / kHopFrames);
        narrow[t] = verdict[static_cast<size_t>(std::clamp(nearest, 0L, windows - 1))];
    }
    return narrow;
}

size_t ExtendBandwidth(std::span<MelFrame> frames, const std::vector<bool>& narrow) {
    size_t changed = 0;
    for (size_t t = 0; t < frames.size() && t < narrow.size(); ++t) {
        if (!narrow[t]) continue;
        MelFrame& f = frames[t];
        int best = 0;
        double best_d = INFINITY;
        for (int c = 0; c < kClusters; ++c) {
            double d = 0;
            for (int i = 0; i < kNarrowBands; ++i) {
                const double e = f[i] - kCentroids[c][i];
                d += e * e;
            }
            if (d < best_d) {
                best_d = d;
                best = c;
            }
        }
        for (int h = 0; h < kUpperBands; ++h) {
            double y = kMaps[best][kNarrowBands][h];  // the constant term
            for (int i = 0; i < kNarrowBands; ++i) y += kMaps[best][i][h] * f[i];
            f[kNarrowBands + h] = static_cast<float>(y);
        }
        ++changed;
    }
    return changed;
}

}  // namespace podpromo
