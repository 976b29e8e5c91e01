// narrowband_train TEXT > src/asr/narrowband_table.inc
//
// Learns the bandwidth extension of narrowband.h: how the upper mel filters (19-24) of speech follow from its
// lower ones (0-18). Three wideband flite voices (awb, rms, slt) speak TEXT; the same speech is passed through
// an 8 kHz line; both get the same faint hiss (as the test episodes have). Their log-mel frames, computed by the
// recogniser's own front end with every frame kept, are paired: the narrowband frame's lower filters are the
// input, the wideband frame's upper filters the target. The frames are split into 16 spectral classes by
// k-means on the input, and each class gets a ridge-regularised linear map. Deterministic: the same voices and
// text give the same table. flite's kal voices (the narrowband one and its 16 kHz twin) are left out, so kal
// tests the table on a voice it has never heard.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "podpromo/asr/narrowband.h"
#include "testsupport.h"

namespace {

using podpromo::kMelBands;
using podpromo::kNarrowBands;
using podpromo::MelFrame;
constexpr int kUpper = kMelBands - kNarrowBands;
constexpr int kClasses = 16;
constexpr double kRidge = 0.01;  // per frame, on the input filters (not the constant term)

// Solves A x = B for D x D A and D x H B by Gauss-Jordan elimination with partial pivoting.
std::vector<double> Solve(std::vector<double> a, std::vector<double> b, int d, int h) {
    for (int c = 0; c < d; ++c) {
        int p = c;
        for (int r = c + 1; r < d; ++r)
            if (std::fabs(a[r * d + c]) > std::fabs(a[p * d + c])) p = r;
        for (int j = 0; j < d; ++j) std::swap(a[c * d + j], a[p * d + j]);
        for (int j = 0; j < h; ++j) std::swap(b[c * h + j], b[p * h + j]);
        const double pivot = a[c * d + c];
        for (int j = 0; j < d; ++j) a[c * d + j] /= pivot;
        for (int j = 0; j < h; ++j) b[c * h + j] /= pivot;
        for (int r = 0; r < d; ++r) {
            const double f = a[r * d + c];
            if (r == c || f == 0) continue;
            for (int j = 0; j < d; ++j) a[r * d + j] -= f * a[c * d + j];
            for (int j = 0; j < h; ++j) b[r * h + j] -= f * b[c * h + j];
        }
    }
    return b;
}

double Distance(const MelFrame& x, const std::array<double, kNarrowBands>& centre) {
    double d = 0;
    for (int i = 0; i < kNarrowBands; ++i) d += (x[i] - centre[i]) * (x[i] - centre[i]);
    return d;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace podpromo;
    if (argc != 2) {
        std::cerr << "usage: narrowband_train TEXT > narrowband_table.inc\n";
        return 2;
    }
    std::ifstream in(argv[1]);
    std::stringstream text_stream;
    text_stream << in.rdbuf();
    std::string text = text_stream.str();
    std::replace(text.begin(), text.end(), '\n', ' ');
    if (text.empty()) {
        std::cerr << "narrowband_train: no text in " << argv[1] << "\n";
        return 2;
    }
    PocketsphinxConfig config;
    config.flags = {{"-remove_silence", "no"}};  // keep every frame, so wideband and narrowband frames pair up
    std::vector<MelFrame> inputs, targets;
    unsigned seed = 1;
    for (const char* voice : {"awb", "rms", "slt"}) {
        auto wide = testing::SpeakLine(voice, text);
        auto narrow = testing::SpeakLine(voice, text, true);
        if (!wide.ok() || !narrow.ok()) {
            std::cerr << "narrowband_train: " << (wide.ok() ? narrow.status() : wide.status()).message() << "\n";
            return 1;
        }
        const size_t n = std::min(wide->samples.size(), narrow->samples.size());
        wide->samples.resize(n);
        narrow->samples.resize(n);
        testing::AddHiss(*wide, seed);
        testing::AddHiss(*narrow, seed++);
        auto wide_mel = RecogniserLogMel(config, wide->samples);
        auto narrow_mel = RecogniserLogMel(config, narrow->samples);
        if (!wide_mel.ok() || !narrow_mel.ok()) {
            std::cerr << "narrowband_train: " << (wide_mel.ok() ? narrow_mel.status() : wide_mel.status()).message()
                      << "\n";
            return 1;
        }
        const size_t frames = std::min(wide_mel->size(), narrow_mel->size());
        inputs.insert(inputs.end(), narrow_mel->begin(), narrow_mel->begin() + static_cast<long>(frames));
        targets.insert(targets.end(), wide_mel->begin(), wide_mel->begin() + static_cast<long>(frames));
        std::cerr << voice << ": " << frames << " frames\n";
    }
    const size_t n = inputs.size();

    // k-means on the lower filters, started from evenly spaced frames.
    std::vector<std::array<double, kNarrowBands>> centres(kClasses);
    for (int c = 0; c < kClasses; ++c) {
        const MelFrame& f = inputs[(2 * static_cast<size_t>(c) + 1) * n / (2 * kClasses)];
        for (int i = 0; i < kNarrowBands; ++i) centres[c][i] = f[i];
    }
    std::vector<int> label(n, 0);
    for (int iteration = 0; iteration < 30; ++iteration) {
        for (size_t t = 0; t < n; ++t) {
            double best = INFINITY;
            for (int c = 0; c < kClasses; ++c) {
                const double d = Distance(inputs[t], centres[c]);
                if (d < best) {
                    best = d;
                    label[t] = c;
                }
            }
        }
        std::vector<std::array<double, kNarrowBands>> sum(kClasses);
        std::vector<size_t> count(kClasses, 0);
        for (auto& s : sum) s.fill(0);
        for (size_t t = 0; t < n; ++t) {
            ++count[label[t]];
            for (int i = 0; i < kNarrowBands; ++i) sum[label[t]][i] += inputs[t][i];
        }
        for (int c = 0; c < kClasses; ++c) {
            if (count[c] == 0) continue;  // an empty class keeps its centre
            for (int i = 0; i < kNarrowBands; ++i) centres[c][i] = sum[c][i] / static_cast<double>(count[c]);
        }
    }

    // One ridge regression per class: upper filters from [lower filters, 1].
    constexpr int d = kNarrowBands + 1;
    std::vector<std::vector<double>> maps;
    for (int c = 0; c < kClasses; ++c) {
        std::vector<double> a(d * d, 0), b(d * kUpper, 0);
        std::array<double, d> x{};
        size_t count = 0;
        for (size_t t = 0; t < n; ++t) {
            if (label[t] != c) continue;
            ++count;
            for (int i = 0; i < kNarrowBands; ++i) x[i] = inputs[t][i];
            x[kNarrowBands] = 1;
            for (int i = 0; i < d; ++i) {
                for (int j = 0; j < d; ++j) a[i * d + j] += x[i] * x[j];
                for (int h = 0; h < kUpper; ++h) b[i * kUpper + h] += x[i] * targets[t][kNarrowBands + h];
            }
        }
        for (int i = 0; i < kNarrowBands; ++i) a[i * d + i] += kRidge * static_cast<double>(count + 1);
        a[d * d - 1] += 1e-6;
        maps.push_back(Solve(a, b, d, kUpper));
        std::cerr << "class " << c << ": " << count << " frames\n";
    }

    std::printf(
        "// Generated by bench/narrowband_train.cc from bench/narrowband_train.txt (README \"Narrowband speech\").\n");
    std::printf(
        "// Do not edit: rerun `build/narrowband_train bench/narrowband_train.txt > src/asr/narrowband_table.inc`.\n");
    std::printf(
        "constexpr int kTableBands = %d;\nconstexpr int kTableNarrowBands = %d;\nconstexpr int kClusters = %d;\n",
        kMelBands, kNarrowBands, kClasses);
    std::printf("// Class centres: mean lower-filter log energies.\nconstexpr float kCentroids[%d][%d] = {\n", kClasses,
                kNarrowBands);
    for (const auto& c : centres) {
        std::printf("    {");
        for (int i = 0; i < kNarrowBands; ++i) std::printf("%s%.6gf", i ? ", " : "", c[i]);
        std::printf("},\n");
    }
    std::printf("};\n// Per class: upper filter h = sum_i kMaps[c][i][h] * lower filter i + kMaps[c][%d][h].\n",
                kNarrowBands);
    std::printf("constexpr float kMaps[%d][%d][%d] = {\n", kClasses, d, kUpper);
    for (const auto& m : maps) {
        std::printf("    {\n");
        for (int i = 0; i < d; ++i) {
            std::printf("        {");
            for (int h = 0; h < kUpper; ++h) std::printf("%s%.6gf", h ? ", " : "", m[i * kUpper + h]);
            std::printf("},\n");
        }
        std::printf("    },\n");
    }
    std::printf("};\n");
    return 0;
}
