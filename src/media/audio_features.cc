#include "podpromo/media/audio_features.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace podpromo {
namespace {

constexpr int kDecim = 4;          // pitch is searched at 4 kHz
constexpr int kPitchWindow = 160;  // 40 ms at 4 kHz
constexpr int kMinLag = 10;        // 400 Hz
constexpr int kMaxLag = 80;        // 50 Hz
constexpr float kVoicingThreshold = 0.5f;

float Percentile(std::vector<float> v, double p) {
    if (v.empty()) return -100;
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1)));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

// Normalised cross-correlation pitch estimate around sample `center` of the 16 kHz PCM, searched at 4 kHz
// (a 4-tap average is the anti-alias filter: speech F0 < 400 Hz). Only the window it needs is decimated, so
// memory does not grow with the episode. 0 when unvoiced.
float EstimatePitch(const std::vector<int16_t>& pcm, size_t center, int rate) {
    constexpr int kLen = kPitchWindow + kMaxLag + 1;
    const size_t half = static_cast<size_t>(kPitchWindow / 2) * kDecim;
    if (center < half || center - half + static_cast<size_t>(kLen) * kDecim > pcm.size()) return 0;
    float x[kLen];
    const int16_t* p = pcm.data() + (center - half);
    for (int i = 0; i < kLen; ++i, p += kDecim)
        x[i] = static_cast<float>(p[0] + p[1] + p[2] + p[3]) / (4.0f * 32768.0f);
    double e0 = 0;
    for (int i = 0; i < kPitchWindow; ++i) e0 += static_cast<double>(x[i]) * x[i];
    if (e0 <= 1e-9) return 0;
    double best = 0;
    int best_lag = 0;
    for (int lag = kMinLag; lag <= kMaxLag; ++lag) {
        double num = 0, e1 = 0;
        for (int i = 0; i < kPitchWindow; ++i) {
            num += static_cast<double>(x[i]) * x[i + lag];
            e1 += static_cast<double>(x[i + lag]) * x[i + lag];
        }
        const double r = num / std::sqrt(e0 * e1 + 1e-12);
        if (r > best) {
            best = r;
            best_lag = lag;
        }
    }
    if (best < kVoicingThreshold || best_lag == 0) return 0;
    return static_cast<float>(rate) / static_cast<float>(best_lag);
}

}  // namespace

size_t AudioFrames::FrameAt(Ms ms) const {
    if (db.empty() || ms <= 0) return 0;
    return std::min(db.size() - 1, static_cast<size_t>(ms / kFrameMs));
}

Result<AudioFrames> AnalyzeAudio(const Pcm& pcm, const ProgressFn& progress, const CancelToken* cancel) {
    AudioFrames out;
    const size_t hop = static_cast<size_t>(pcm.sample_rate) * kFrameMs / 1000;
    if (hop == 0) return out;
    const size_t n_frames = pcm.samples.size() / hop;
    out.db.resize(n_frames);
    out.f0_hz.assign(n_frames, 0);
    out.pause.assign(n_frames, 0);

    for (size_t f = 0; f < n_frames; ++f) {
        double sum = 0;
        const int16_t* p = pcm.samples.data() + f * hop;
        for (size_t k = 0; k < hop; ++k) sum += static_cast<double>(p[k]) * p[k];
        const double rms = std::sqrt(sum / static_cast<double>(hop)) / 32768.0;
        out.db[f] = rms > 1e-5 ? static_cast<float>(20.0 * std::log10(rms)) : -100.0f;
    }
    out.noise_floor_db = Percentile(out.db, 0.10);
    out.speech_level_db = Percentile(out.db, 0.90);
    Report(progress, Stage::kAnalyze, 0.2);

    // Pauses: below a threshold between the noise floor and the speech level, for at least kMinPauseMs.
    // With no quiet at all in the signal the floor is the speech level: keep the threshold 10 dB below it.
    const float thr = std::min(
        std::max(out.noise_floor_db + 6.0f, out.noise_floor_db + 0.35f * (out.speech_level_db - out.noise_floor_db)),
        out.speech_level_db - 10.0f);
    const size_t min_run = static_cast<size_t>(kMinPauseMs / kFrameMs);
    for (size_t f = 0; f < n_frames;) {
        if (out.db[f] >= thr) {
            ++f;
            continue;
        }
        size_t e = f;
        while (e < n_frames && out.db[e] < thr) ++e;
        if (e - f >= min_run)
            std::fill(out.pause.begin() + static_cast<std::ptrdiff_t>(f),
                      out.pause.begin() + static_cast<std::ptrdiff_t>(e), 1);
        f = e;
    }

    // Pitch on loud frames only.
    const int rate = pcm.sample_rate / kDecim;
    const float voiced_min_db = std::max(thr, out.speech_level_db - 25.0f);
    for (size_t f = 0; f < n_frames; ++f) {
        if ((f & 4095) == 0) {
            if (cancel && cancel->cancelled()) return Status::Cancelled();
            Report(progress, Stage::kAnalyze, 0.2 + 0.8 * static_cast<double>(f) / static_cast<double>(n_frames));
        }
        if (out.db[f] < voiced_min_db) continue;
        out.f0_hz[f] = EstimatePitch(pcm.samples, f * hop + hop / 2, rate);
    }
    Report(progress, Stage::kAnalyze, 1.0);
    return out;
}

std::vector<std::pair<Ms, Ms>> FindPauses(const AudioFrames& frames, Ms min_ms) {
    std::vector<std::pair<Ms, Ms>> out;
    const size_t n = frames.size();
    for (size_t f = 0; f < n;) {
        if (!frames.pause[f]) {
            ++f;
            continue;
        }
        size_t e = f;
        while (e < n && frames.pause[e]) ++e;
        const Ms s_ms = static_cast<Ms>(f) * kFrameMs, e_ms = static_cast<Ms>(e) * kFrameMs;
        if (e_ms - s_ms >= min_ms) out.emplace_back(s_ms, e_ms);
        f = e;
    }
    return out;
}

SpanAudioStats ComputeSpanStats(const AudioFrames& frames, Ms start_ms, Ms end_ms) {
    SpanAudioStats st;
    if (frames.size() == 0 || end_ms <= start_ms) return st;
    const size_t a = frames.FrameAt(start_ms),
                 b = std::max(a + 1, std::min(frames.size(), static_cast<size_t>(end_ms / kFrameMs)));
    std::vector<float> levels, voiced_levels;
    std::vector<double> semis;
    size_t pauses = 0;
    for (size_t f = a; f < b; ++f) {
        levels.push_back(frames.db[f]);
        if (frames.pause[f]) ++pauses;
        if (frames.f0_hz[f] > 0) {
            voiced_levels.push_back(frames.db[f]);
            semis.push_back(12.0 * std::log2(frames.f0_hz[f] / 100.0));
        }
    }
    const double n = static_cast<double>(b - a);
    st.level_p10_db = Percentile(levels, 0.10);
    st.level_p50_db = Percentile(levels, 0.50);
    st.level_p90_db = Percentile(levels, 0.90);
    if (!voiced_levels.empty()) {
        st.dynamic_range_db = Percentile(voiced_levels, 0.90) - Percentile(voiced_levels, 0.10);
    }
    st.loudness_vs_episode_db =
        Percentile(voiced_levels.empty() ? levels : voiced_levels, 0.5) - frames.speech_level_db;
    st.voiced_ratio = static_cast<double>(semis.size()) / n;
    st.pause_ratio = static_cast<double>(pauses) / n;
    if (semis.size() >= 10) {
        const double mean = std::accumulate(semis.begin(), semis.end(), 0.0) / static_cast<double>(semis.size());
        double var = 0;
        for (double s : semis) var += (s - mean) * (s - mean);
        st.pitch_variation_st = std::sqrt(var / static_cast<double>(semis.size()));
        st.pitch_mean_hz = 100.0 * std::pow(2.0, mean / 12.0);
    }
    // Onset lift: the first 3 s against the second before the span (a rise in energy at the start).
    const size_t onset_end = std::min(b, a + 300);
    const size_t before_start = a >= 100 ? a - 100 : 0;
    if (a > before_start) {
        std::vector<float> first(frames.db.begin() + static_cast<std::ptrdiff_t>(a),
                                 frames.db.begin() + static_cast<std::ptrdiff_t>(onset_end));
        std::vector<float> before(frames.db.begin() + static_cast<std::ptrdiff_t>(before_start),
                                  frames.db.begin() + static_cast<std::ptrdiff_t>(a));
        st.onset_lift_db = Percentile(first, 0.75) - Percentile(before, 0.75);
    }
    // Laughter-like: three or more short (<250 ms) loud voiced bursts within 1.5 s.
    const float loud = static_cast<float>(frames.speech_level_db) - 3.0f;
    std::vector<size_t> bursts;
    for (size_t f = a; f < b;) {
        if (frames.db[f] < loud || frames.f0_hz[f] <= 0) {
            ++f;
            continue;
        }
        size_t e = f;
        while (e < b && frames.db[e] >= loud) ++e;
        if (e - f >= 4 && e - f <= 25) bursts.push_back(f);
        f = e;
    }
    for (size_t i = 0; i + 2 < bursts.size();) {
        if (bursts[i + 2] - bursts[i] <= 150) {
            ++st.laughter_bursts;
            i += 3;
        } else {
            ++i;
        }
    }
    return st;
}

namespace {
constexpr char kFramesMagic[8] = {'P', 'P', 'F', 'R', 'A', 'M', 'E', '1'};
}  // namespace

std::string SerializeFrames(const AudioFrames& f) {
    std::string out(kFramesMagic, sizeof(kFramesMagic));
    auto put = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
    const uint64_t n = f.size();
    put(&n, sizeof(n));
    put(&f.noise_floor_db, sizeof(float));
    put(&f.speech_level_db, sizeof(float));
    put(f.db.data(), n * sizeof(float));
    put(f.f0_hz.data(), n * sizeof(float));
    put(f.pause.data(), n);
    return out;
}

Result<AudioFrames> ParseFrames(std::string_view bytes) {
    const size_t header = sizeof(kFramesMagic) + sizeof(uint64_t) + 2 * sizeof(float);
    if (bytes.size() < header || bytes.substr(0, sizeof(kFramesMagic)) != std::string_view(kFramesMagic, 8)) {
        return Status::InvalidInput("not a frames document");
    }
    uint64_t n = 0;
    size_t pos = sizeof(kFramesMagic);
    auto get = [&](void* p, size_t len) {
        std::memcpy(p, bytes.data() + pos, len);
        pos += len;
    };
    get(&n, sizeof(n));
    if (n > (bytes.size() - header) / 9 || bytes.size() != header + n * 9) {
        return Status::InvalidInput("frames document has the wrong size");
    }
    AudioFrames f;
    get(&f.noise_floor_db, sizeof(float));
    get(&f.speech_level_db, sizeof(float));
    f.db.resize(n);
    f.f0_hz.resize(n);
    f.pause.resize(n);
    get(f.db.data(), n * sizeof(float));
    get(f.f0_hz.data(), n * sizeof(float));
    get(f.pause.data(), n);
    return f;
}

}  // namespace podpromo
