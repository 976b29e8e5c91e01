// Importing transcripts (SRT, WebVTT, whisper / whisper.cpp / PodPromo JSON) and exporting them (JSON, SRT,
// WebVTT). Pure functions over strings; thread-safe.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

// Parses a transcript, detecting the format from the content. Segments without word timings get word times
// spread over the segment by character length. Errors: InvalidInput naming the line (or JSON path) at fault.
Result<Transcript> ParseTranscript(std::string_view content);
Result<Transcript> LoadTranscriptFile(const std::filesystem::path& path);

// Splits `text` into words and gives them times over [start_ms, end_ms) in proportion to their length.
std::vector<Word> SpreadWords(std::string_view text, Ms start_ms, Ms end_ms, double confidence = 1.0);

// One caption on screen.
struct Cue {
    Ms start_ms = 0;
    Ms end_ms = 0;
    std::string text;
    std::string speaker;  // who says it, in a transcript's cues (TranscriptCues); "" in a clip's captions
};

// Groups words, as captions show them (core/caption_words.h: numbers as digits, "I"), into cues of at most
// `max_chars` characters and `max_ms` long, breaking at pauses of 600 ms; times are shifted by -offset_ms and
// clamped at 0.
std::vector<Cue> CuesFromWords(const std::vector<Word>& words, Ms offset_ms = 0, size_t max_chars = 42,
                               Ms max_ms = 4000);
// The whole transcript as cues (as CuesFromWords), a speaker's turn never sharing one with the next: each cue names
// its segments' speaker. Without speakers, the cues CuesFromWords makes of all its words.
std::vector<Cue> TranscriptCues(const Transcript& t);
// SubRip: a cue that starts a speaker's turn begins "Name: ", as transcripts write it (and ParseTranscript reads it).
// A cue is one line whatever its text holds: white space runs (line breaks among them) become one space and "-->"
// becomes "->", so no word can end a cue or forge the next one's timing.
std::string FormatSrt(const std::vector<Cue>& cues);
// WebVTT: a cue with a speaker is a voice span, "<v Name>text" ('<' and '>' left out of the name). One line per cue,
// as FormatSrt, with '&', '<' and '>' written as character references (which ParseTranscript decodes).
std::string FormatVtt(const std::vector<Cue>& cues);

// The transcript part of the result document (DESIGN.md §4): times in seconds.
nlohmann::json TranscriptToJson(const Transcript& t);

// Word error rate of `hypothesis` against `reference` after normalising case, punctuation and digits
// (digits are spelled out). 0 for equal texts; can exceed 1.
double WordErrorRate(std::string_view reference, std::string_view hypothesis);
// The normalised words used by WordErrorRate.
std::vector<std::string> NormalizeForWer(std::string_view text);

}  // namespace podpromo
