// Speaker turns from pauses plus voice changes: a cheap pitch-and-level clustering of the segments.
#include "podpromo/asr/turns.h"

#include <algorithm>
#include <cmath>

namespace podpromo {
namespace {

struct Voice {
    double semitones = 0;  // median voiced pitch, semitones above 100 Hz
    double weight = 0;     // voiced frames
    bool known = false;
};

Voice VoiceOf(const Segment& s, const AudioFrames& frames) {
    std::vector<double> st;
    const size_t a = frames.FrameAt(s.start_ms), b = std::min(frames.size(), frames.FrameAt(s.end_ms) + 1);
    for (size_t f = a; f < b; ++f) {
        if (frames.f0_hz[f] > 0) st.push_back(12.0 * std::log2(frames.f0_hz[f] / 100.0));
    }
    Voice v;
    if (st.size() < 20) return v;  // under 0.2 s of voice: too little to tell
    std::nth_element(st.begin(), st.begin() + static_cast<long>(st.size() / 2), st.end());
    v.semitones = st[st.size() / 2];
    v.weight = static_cast<double>(st.size());
    v.known = true;
    return v;
}

struct Clustering {
    std::vector<double> centres;
    std::vector<int> label;  // per voice, -1 when unknown
    double within = 0;       // weighted standard deviation inside the clusters
    double min_share = 0;    // smallest cluster's share of the voiced frames
};

Clustering Cluster(const std::vector<Voice>& voices, int k) {
    Clustering c;
    std::vector<double> sorted;
    for (const auto& v : voices)
        if (v.known) sorted.push_back(v.semitones);
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < k; ++i) {
        c.centres.push_back(sorted[static_cast<size_t>((2 * i + 1) * static_cast<int>(sorted.size()) / (2 * k))]);
    }
    c.label.assign(voices.size(), -1);
    for (int iter = 0; iter < 30; ++iter) {
        for (size_t i = 0; i < voices.size(); ++i) {
            if (!voices[i].known) continue;
            int best = 0;
            for (int j = 1; j < k; ++j) {
                if (std::abs(voices[i].semitones - c.centres[static_cast<size_t>(j)]) <
                    std::abs(voices[i].semitones - c.centres[static_cast<size_t>(best)]))
                    best = j;
            }
            c.label[i] = best;
        }
        std::vector<double> sum(static_cast<size_t>(k), 0), w(static_cast<size_t>(k), 0);
        for (size_t i = 0; i < voices.size(); ++i) {
            if (c.label[i] < 0) continue;
            sum[static_cast<size_t>(c.label[i])] += voices[i].semitones * voices[i].weight;
            w[static_cast<size_t>(c.label[i])] += voices[i].weight;
        }
        for (size_t j = 0; j < c.centres.size(); ++j)
            if (w[j] > 0) c.centres[j] = sum[j] / w[j];
    }
    std::vector<double> w(static_cast<size_t>(k), 0);
    double total = 0, sq = 0;
    for (size_t i = 0; i < voices.size(); ++i) {
        if (c.label[i] < 0) continue;
        const double d = voices[i].semitones - c.centres[static_cast<size_t>(c.label[i])];
        sq += d * d * voices[i].weight;
        w[static_cast<size_t>(c.label[i])] += voices[i].weight;
        total += voices[i].weight;
    }
    c.within = total > 0 ? std::sqrt(sq / total) : 0;
    c.min_share = total > 0 ? *std::min_element(w.begin(), w.end()) / total : 0;
    return c;
}

}  // namespace

int MarkSpeakerTurns(std::vector<Segment>* segments, const AudioFrames& frames) {
    std::vector<Voice> voices;
    voices.reserve(segments->size());
    for (const auto& s : *segments) voices.push_back(VoiceOf(s, frames));
    const auto known = std::count_if(voices.begin(), voices.end(), [](const Voice& v) { return v.known; });
    if (known < 4) return 1;
    // The most voices that are clearly apart: centres at least 3 semitones from each other and well outside
    // the spread inside each voice, each voice at least a tenth of the speech.
    Clustering chosen;
    int n = 1;
    for (int k = 2; k <= 4 && k <= known; ++k) {
        Clustering c = Cluster(voices, k);
        std::vector<double> centres = c.centres;
        std::sort(centres.begin(), centres.end());
        double gap = 1e9;
        for (size_t j = 1; j < centres.size(); ++j) gap = std::min(gap, centres[j] - centres[j - 1]);
        if (gap < 3.0 || gap < 2.5 * c.within || c.min_share < 0.1) break;
        chosen = std::move(c);
        n = k;
    }
    if (n == 1) {
        for (auto& s : *segments) s.speaker.clear();
        return 1;
    }
    // Names in order of first appearance; a segment too short to tell keeps the voice before it (or after it,
    // at the start).
    std::vector<int> label = chosen.label;
    for (size_t i = 1; i < label.size(); ++i)
        if (label[i] < 0) label[i] = label[i - 1];
    for (size_t i = label.size(); i-- > 1;)
        if (label[i - 1] < 0) label[i - 1] = label[i];
    std::vector<int> name(static_cast<size_t>(n), 0);
    int next = 0;
    for (size_t i = 0; i < segments->size(); ++i) {
        int& nm = name[static_cast<size_t>(label[i])];
        if (nm == 0) nm = ++next;
        (*segments)[i].speaker = "S" + std::to_string(nm);
    }
    return n;
}

}  // namespace podpromo
