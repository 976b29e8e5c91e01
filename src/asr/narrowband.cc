// Narrowband speech found in log-mel frames and its missing upper band predicted (see narrowband.h).
#include "podpromo/asr/narrowband.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace podpromo {
namespace {

#include "narrowband_table.inc"

static_assert(kTableBands == kMelBands && kTableNarrowBands == kNarrowBands, "table made for another filterbank");
constexpr int kUpperBands = kMelBands - kNarrowBands;

constexpr size_t kWindowFrames = 200;  // 2 s
constexpr size_t kHopFrames = 100;     // 1 s
constexpr double kCliffDb = -30.0;
constexpr int kMedianWindows = 5;

// The filters compared: 16-18 (3-3.9 kHz), which an 8 kHz line carries, and 21-22 (4.2-5 kHz), which it cannot.
constexpr int kBelowEdge[] = {16, 17, 18};
constexpr int kAboveEdge[] = {21, 22};

// Per frame, the energy above the noise floor of each compared filter, summed below and above the edge. A filter's
// floor is twice the tenth percentile of its energy over all the frames: measured above it, a line's hiss does not
// fill the band the line cannot carry.
std::vector<std::pair<double, double>> EnergyAboveFloor(std::span<const MelFrame> frames) {
    std::vector<std::pair<double, double>> sums(frames.size(), {0.0, 0.0});
    std::vector<double> energy(frames.size());
    auto add = [&](int band, bool above) {
        for (size_t t = 0; t < frames.size(); ++t) energy[t] = std::exp(static_cast<double>(frames[t][band]));
        std::vector<double> sorted = energy;
        auto tenth = sorted.begin() + static_cast<long>(sorted.size() / 10);
        std::nth_element(sorted.begin(), tenth, sorted.end());
        const double floor = 2.0 * *tenth;
        for (size_t t = 0; t < frames.size(); ++t) {
            (above ? sums[t].second : sums[t].first) += std::max(0.0, energy[t] - floor);
        }
    };
    for (int b : kBelowEdge) add(b, false);
    for (int b : kAboveEdge) add(b, true);
    return sums;
}

// Above-floor energy above the edge against below it over each window, in dB. Windows start every second; the last
// one may be shorter.
std::vector<double> WindowCliffs(std::span<const MelFrame> frames) {
    const auto sums = EnergyAboveFloor(frames);
    const size_t n = frames.size();
    const size_t windows = n <= kWindowFrames ? 1 : 1 + (n - kWindowFrames + kHopFrames - 1) / kHopFrames;
    std::vector<double> cliffs;
    cliffs.reserve(windows);
    for (size_t w = 0; w < windows; ++w) {
        double below = 1e-9, above = 1e-9;
        for (size_t t = w * kHopFrames; t < std::min(n, w * kHopFrames + kWindowFrames); ++t) {
            below += sums[t].first;
            above += sums[t].second;
        }
        cliffs.push_back(10.0 * std::log10(above / below));
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
