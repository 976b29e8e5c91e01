// Domain types shared by every stage. Times are int64 milliseconds from the start of the episode.
// Plain values: copyable, no ownership beyond their members, thread-compatible.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podpromo {

using Ms = int64_t;

// One recognised (or imported) word. `confidence` is 0..1 (1 when the source gives none).
struct Word {
    std::string text;
    Ms start_ms = 0;
    Ms end_ms = 0;
    double confidence = 1.0;
};

// A run of words between pauses or speaker turns. `text` is the words as displayed (imported transcripts
// keep their punctuation and case; recognised ones are bare lower case).
struct Segment {
    Ms start_ms = 0;
    Ms end_ms = 0;
    std::string text;
    double confidence = 1.0;
    std::vector<Word> words;
    std::string speaker;  // "S1", "S2", ... when turns were found (or imported); "" when unknown
};

// A sound marked in an imported transcript: "[laughter]", "(applause)", "[MUSIC]", "♪".
struct SoundEvent {
    std::string kind;  // "laughter", "applause", "music" or "sound"
    Ms start_ms = 0;
    Ms end_ms = 0;
};

// A chapter the show marked (Podcasting 2.0 JSON chapters): where a topic starts, by the editors' own account.
struct Chapter {
    Ms start_ms = 0;
    std::string title;
};

struct Transcript {
    std::string engine;  // "pocketsphinx", "import:srt", ...
    std::vector<Segment> segments;
    std::vector<SoundEvent> events;  // in time order; only imported transcripts have them

    size_t WordCount() const;
    // All words of all segments, in order.
    std::vector<Word> AllWords() const;
};

// 16-bit mono PCM at `sample_rate` Hz.
struct Pcm {
    int sample_rate = 16000;
    std::vector<int16_t> samples;

    Ms DurationMs() const { return sample_rate > 0 ? static_cast<Ms>(samples.size()) * 1000 / sample_rate : 0; }
};

// "1:02:03.4" / "2:03.4" style rendering of a time, for people.
std::string FormatClock(Ms ms, bool tenths = true);

// The whole of `text` as a base-10 integer ("-12", "300"); nullopt for anything else (empty, "5abc", " 5",
// out of range). For every number a request or file gives as text.
std::optional<int64_t> ParseInt(std::string_view text);

// Milliseconds as seconds, and a number rounded to three decimals: how the JSON documents give times and scores.
inline double Sec(Ms ms) { return static_cast<double>(ms) / 1000.0; }
inline double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace podpromo
