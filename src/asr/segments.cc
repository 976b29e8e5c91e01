#include "podpromo/asr/segments.h"

#include <algorithm>

namespace podpromo {
namespace {

Segment MakeSegment(std::vector<Word>::const_iterator b, std::vector<Word>::const_iterator e) {
    Segment s;
    s.words.assign(b, e);
    s.start_ms = b->start_ms;
    s.end_ms = (e - 1)->end_ms;
    double conf = 0;
    for (auto it = b; it != e; ++it) {
        if (!s.text.empty()) s.text += ' ';
        s.text += it->text;
        conf += it->confidence;
    }
    s.confidence = conf / static_cast<double>(e - b);
    return s;
}

void Split(std::vector<Word>::const_iterator b, std::vector<Word>::const_iterator e, Ms max_ms,
           std::vector<Segment>* out) {
    if (e - b <= 1 || (e - 1)->end_ms - b->start_ms <= max_ms) {
        out->push_back(MakeSegment(b, e));
        return;
    }
    auto cut = b + 1;
    Ms best = -1;
    for (auto it = b + 1; it != e; ++it) {
        const Ms gap = it->start_ms - (it - 1)->end_ms;
        if (gap > best) {
            best = gap;
            cut = it;
        }
    }
    Split(b, cut, max_ms, out);
    Split(cut, e, max_ms, out);
}

}  // namespace

std::vector<Segment> GroupWordsIntoSegments(const std::vector<Word>& words, Ms gap_ms, Ms max_ms) {
    std::vector<Segment> out;
    auto start = words.begin();
    for (auto it = words.begin(); it != words.end(); ++it) {
        if (it != start && it->start_ms - (it - 1)->end_ms >= gap_ms) {
            Split(start, it, max_ms, &out);
            start = it;
        }
    }
    if (start != words.end()) Split(start, words.end(), max_ms, &out);
    return out;
}

std::vector<std::pair<Ms, Ms>> PlanChunks(const AudioFrames& frames, Ms target_ms, Ms max_ms) {
    std::vector<std::pair<Ms, Ms>> chunks;
    const Ms total = frames.DurationMs();
    const auto pauses = FindPauses(frames, kMinPauseMs);
    Ms start = 0;
    size_t p = 0;
    while (start < total) {
        Ms end = total;
        if (total - start > max_ms) {
            // The longest pause whose middle lies in [start + target/2, start + max]; ties go to the later one.
            Ms best_len = -1, best_mid = -1;
            while (p < pauses.size() && (pauses[p].first + pauses[p].second) / 2 < start + target_ms / 2) ++p;
            for (size_t q = p; q < pauses.size(); ++q) {
                const Ms mid = (pauses[q].first + pauses[q].second) / 2;
                if (mid > start + max_ms) break;
                const Ms len = pauses[q].second - pauses[q].first;
                if (len >= best_len) {
                    best_len = len;
                    best_mid = mid;
                }
            }
            if (best_mid > start) {
                end = best_mid;
            } else {
                // No pause: cut at the quietest frame between target and max.
                size_t best_f = frames.FrameAt(start + max_ms);
                for (size_t f = frames.FrameAt(start + target_ms); f < frames.FrameAt(start + max_ms); ++f) {
                    if (frames.db[f] < frames.db[best_f]) best_f = f;
                }
                end = static_cast<Ms>(best_f) * kFrameMs;
                if (end <= start) end = std::min(total, start + max_ms);
            }
        }
        // Drop spans that are all pause.
        bool any_sound = false;
        for (size_t f = frames.FrameAt(start); f < frames.FrameAt(end) && !any_sound; ++f) any_sound = !frames.pause[f];
        if (any_sound) chunks.emplace_back(start, end);
        start = end;
    }
    return chunks;
}

}  // namespace podpromo
