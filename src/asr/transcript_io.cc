#include "podpromo/asr/transcript_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "podpromo/asr/cue_text.h"
#include "podpromo/asr/segments.h"
#include "podpromo/core/caption_words.h"
#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {

using nlohmann::json;

std::vector<std::string> SplitLines(std::string_view content) {
    std::vector<std::string> lines;
    std::string cur;
    for (char c : content) {
        if (c == '\n') {
            if (!cur.empty() && cur.back() == '\r') cur.pop_back();
            lines.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) lines.push_back(cur);
    if (!lines.empty() && lines[0].rfind("\xEF\xBB\xBF", 0) == 0) lines[0].erase(0, 3);  // BOM
    return lines;
}

// "01:02:03,456", "02:03.456", "1:02:03.4" -> ms; -1 when malformed.
Ms ParseTimestamp(std::string_view s) {
    std::string t = TrimAscii(s);
    std::replace(t.begin(), t.end(), ',', '.');
    int parts[3] = {0, 0, 0};
    int n = 0;
    size_t i = 0;
    std::string frac;
    while (i < t.size()) {
        size_t j = i;
        while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
        if (j == i || j - i > 6 || n >= 3) return -1;  // no field of a real timestamp has 7 digits
        parts[n++] = std::stoi(t.substr(i, j - i));
        if (j == t.size()) break;
        if (t[j] == ':') {
            i = j + 1;
            continue;
        }
        if (t[j] == '.') {
            frac = t.substr(j + 1);
            if (frac.empty() || !std::all_of(frac.begin(), frac.end(),
                                             [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
                return -1;
            break;
        }
        return -1;
    }
    if (n < 2) return -1;
    Ms ms = 0;
    for (int k = 0; k < n; ++k) ms = ms * 60 + parts[k];
    ms *= 1000;
    if (!frac.empty()) {
        frac = (frac + "000").substr(0, 3);
        ms += std::stoi(frac);
    }
    return ms;
}

Segment MakeSegment(Ms start, Ms end, std::string text, double confidence = 1.0) {
    Segment s;
    s.start_ms = start;
    s.end_ms = end;
    s.text = std::move(text);
    s.confidence = confidence;
    s.words = SpreadWords(s.text, start, end, confidence);
    return s;
}

// Names seen before a colon at the start of a line, and how often; an uncertain one ("Well:") is a speaker
// only when it recurs.
struct SpeakerNames {
    std::map<std::string, int> uncertain_counts;
    std::string current;  // the speaker of the lines that follow, "" when unknown
};

// One cue's lines as segments: a new segment wherever a line names a (different) speaker or opens a turn; the
// cue's time is shared among them by text length, and its sound tags become events at their place.
void AddCue(Ms start, Ms end, const std::vector<CueLine>& cue_lines, SpeakerNames* names, Transcript* t) {
    struct Piece {
        std::string text, speaker;
        bool uncertain = false;
        std::vector<SoundTag> sounds;
    };
    std::vector<Piece> pieces;
    for (const auto& cl : cue_lines) {
        if (!cl.speaker.empty() && !cl.speaker_certain) names->uncertain_counts[cl.speaker]++;
        if (cl.new_turn) names->current = cl.speaker;
        const bool split = pieces.empty() || cl.new_turn;
        if (split) pieces.push_back({"", names->current, !cl.speaker.empty() && !cl.speaker_certain, {}});
        Piece& p = pieces.back();
        for (const auto& snd : cl.sounds)
            p.sounds.push_back({snd.kind, snd.offset + p.text.size() + (p.text.empty() ? 0 : 1)});
        if (!cl.text.empty()) p.text += (p.text.empty() ? "" : " ") + cl.text;
    }
    size_t total = 0;
    for (const auto& p : pieces) total += std::max<size_t>(1, p.text.size());
    const double span = static_cast<double>(end - start);
    size_t done = 0;
    for (auto& p : pieces) {
        const size_t len = std::max<size_t>(1, p.text.size());
        const Ms a = start + static_cast<Ms>(span * static_cast<double>(done) / static_cast<double>(total));
        done += len;
        const Ms b = start + static_cast<Ms>(span * static_cast<double>(done) / static_cast<double>(total));
        for (const auto& snd : p.sounds) {
            const Ms at = a + static_cast<Ms>(static_cast<double>(b - a) * static_cast<double>(snd.offset) /
                                              static_cast<double>(len));
            t->events.push_back({snd.kind, at, std::min(b, at + 1000)});
        }
        if (p.text.empty()) continue;
        Segment seg = MakeSegment(a, b, p.text);
        seg.speaker = TruncateUtf8(p.speaker, 40);
        // An uncertain name is remembered with the segment until ConfirmSpeakers decides.
        if (p.uncertain) seg.speaker = "?" + seg.speaker;
        t->segments.push_back(std::move(seg));
    }
}

// Keeps the uncertain speaker names that recur; the others were prose and go back into the text.
void ConfirmSpeakers(Transcript* t, const SpeakerNames& names) {
    for (auto& seg : t->segments) {
        const bool marked = seg.speaker.rfind('?', 0) == 0;
        std::string name = marked ? seg.speaker.substr(1) : seg.speaker;
        const auto it = names.uncertain_counts.find(name);
        if (it == names.uncertain_counts.end() || it->second >= 2) {
            seg.speaker = name;
            continue;
        }
        seg.speaker.clear();  // prose, and the lines that inherited it
        if (!marked) continue;
        seg.text = name + ": " + seg.text;
        seg.words = SpreadWords(seg.text, seg.start_ms, seg.end_ms, seg.confidence);
    }
    std::stable_sort(t->events.begin(), t->events.end(),
                     [](const SoundEvent& a, const SoundEvent& b) { return a.start_ms < b.start_ms; });
}

// SRT and WebVTT share the cue grammar: an optional identifier, "start --> end [settings]", text lines.
Result<Transcript> ParseCues(const std::vector<std::string>& lines, bool vtt) {
    Transcript t;
    t.engine = vtt ? "import:vtt" : "import:srt";
    SpeakerNames speakers;
    size_t i = 0;
    if (vtt) {
        if (lines.empty() || lines[0].rfind("WEBVTT", 0) != 0) return Status::InvalidInput("line 1: expected WEBVTT");
        ++i;
        // Skip the header block and NOTE/STYLE/REGION blocks.
    }
    while (i < lines.size()) {
        if (TrimAscii(lines[i]).empty()) {
            ++i;
            continue;
        }
        if (vtt &&
            (lines[i].rfind("NOTE", 0) == 0 || lines[i].rfind("STYLE", 0) == 0 || lines[i].rfind("REGION", 0) == 0 ||
             (t.segments.empty() && lines[i].find("-->") == std::string::npos && i + 1 < lines.size() &&
              lines[i + 1].find("-->") == std::string::npos))) {
            while (i < lines.size() && !TrimAscii(lines[i]).empty()) ++i;
            continue;
        }
        size_t timing = i;
        if (lines[i].find("-->") == std::string::npos) timing = i + 1;  // cue identifier / SRT index
        if (timing >= lines.size() || lines[timing].find("-->") == std::string::npos) {
            return Status::InvalidInput(fmt::format("line {}: expected a cue timing 'start --> end'", timing + 1));
        }
        const std::string& tl = lines[timing];
        const size_t arrow = tl.find("-->");
        std::string end_part = TrimAscii(tl.substr(arrow + 3));
        end_part = end_part.substr(0, end_part.find_first_of(" \t"));
        const Ms start = ParseTimestamp(tl.substr(0, arrow));
        const Ms end = ParseTimestamp(end_part);
        if (start < 0 || end < 0) return Status::InvalidInput(fmt::format("line {}: malformed timestamp", timing + 1));
        if (end < start) return Status::InvalidInput(fmt::format("line {}: cue ends before it starts", timing + 1));
        i = timing + 1;
        std::vector<CueLine> cue_lines;
        while (i < lines.size() && !TrimAscii(lines[i]).empty()) cue_lines.push_back(ParseCueLine(lines[i++]));
        AddCue(start, end, cue_lines, &speakers, &t);
    }
    ConfirmSpeakers(&t, speakers);
    if (t.segments.empty()) return Status::InvalidInput("the transcript has no cues with text");
    std::stable_sort(t.segments.begin(), t.segments.end(),
                     [](const Segment& a, const Segment& b) { return a.start_ms < b.start_ms; });
    return t;
}

// Times beyond this (some 11 days) are no podcast's, and would overflow once in milliseconds.
constexpr double kMaxSeconds = 1e6;

double Seconds(const json& v, const std::string& where) {
    if (v.is_number()) {
        const double s = v.get<double>();
        if (!(s >= -kMaxSeconds && s <= kMaxSeconds)) throw std::invalid_argument(where + ": a time out of range");
        return s;
    }
    if (v.is_string()) {
        const Ms ms = ParseTimestamp(v.get<std::string>());
        if (ms >= 0) return static_cast<double>(ms) / 1000.0;
    }
    throw std::invalid_argument(where + ": expected a time");
}

Ms ToMs(double seconds) { return static_cast<Ms>(std::llround(seconds * 1000.0)); }

std::vector<Word> ParseJsonWords(const json& arr, const std::string& where) {
    std::vector<Word> words;
    for (size_t k = 0; k < arr.size(); ++k) {
        const json& w = arr[k];
        const std::string at = fmt::format("{}[{}]", where, k);
        if (!w.is_object()) throw std::invalid_argument(at + ": expected an object");
        const json* text = w.contains("word") ? &w["word"] : (w.contains("text") ? &w["text"] : nullptr);
        if (!text || !text->is_string()) throw std::invalid_argument(at + ": missing \"word\"");
        Word word;
        word.text = TrimAscii(text->get<std::string>());
        if (word.text.empty()) continue;
        word.start_ms = ToMs(Seconds(w.at("start"), at + ".start"));
        word.end_ms = ToMs(Seconds(w.at("end"), at + ".end"));
        if (word.end_ms < word.start_ms) throw std::invalid_argument(at + ": ends before it starts");
        for (const char* key : {"confidence", "probability"}) {
            if (w.contains(key) && w[key].is_number()) word.confidence = std::clamp(w[key].get<double>(), 0.0, 1.0);
        }
        words.push_back(std::move(word));
    }
    return words;
}

// PodPromo's own export: {"events": [{"kind", "start", "end"}]}.
void ParseJsonEvents(const json& arr, Transcript* t) {
    for (size_t k = 0; k < arr.size() && k < 100000; ++k) {
        const json& e = arr[k];
        const std::string at = fmt::format("events[{}]", k);
        if (!e.is_object() || !e.contains("kind") || !e["kind"].is_string()) {
            throw std::invalid_argument(at + ": expected {\"kind\", \"start\", \"end\"}");
        }
        const std::string kind = e["kind"].get<std::string>();
        if (kind != "laughter" && kind != "applause" && kind != "music" && kind != "sound") {
            throw std::invalid_argument(at + ".kind: expected laughter, applause, music or sound");
        }
        const Ms start = ToMs(Seconds(e.at("start"), at + ".start")), end = ToMs(Seconds(e.at("end"), at + ".end"));
        if (end < start) throw std::invalid_argument(at + ": ends before it starts");
        t->events.push_back({kind, start, end});
    }
}

// One segment of a Whisper JSON (start/end/text, maybe words) or Podcasting 2.0 JSON (startTime/endTime/body,
// speaker) transcript, added to `t` with its sound tags as events. Throws std::invalid_argument naming `at`.
void AddJsonSegment(const json& s, const std::string& at, Transcript* t) {
    if (!s.is_object()) throw std::invalid_argument(at + ": expected an object");
    // Whisper's start/end/text, or Podcasting 2.0's startTime/endTime/body.
    const char* text_key = s.contains("body") && !s.contains("text") ? "body" : "text";
    const bool p20 = s.contains("startTime") && !s.contains("start");
    CueLine line = ParseCueLine(s.contains(text_key) && s[text_key].is_string() ? s[text_key].get<std::string>() : "");
    const std::string text = line.text;
    const Ms start = ToMs(Seconds(s.at(p20 ? "startTime" : "start"), at + ".start"));
    const Ms end = ToMs(Seconds(s.at(p20 ? "endTime" : "end"), at + ".end"));
    for (const auto& snd : line.sounds) t->events.push_back({snd.kind, start, std::min(end, start + 1000)});
    if (end < start) throw std::invalid_argument(at + ": ends before it starts");
    double conf = 1.0;
    if (s.contains("confidence") && s["confidence"].is_number()) conf = s["confidence"].get<double>();
    if (s.contains("avg_logprob") && s["avg_logprob"].is_number()) conf = std::exp(s["avg_logprob"].get<double>());
    Segment seg;
    if (s.contains("words") && s["words"].is_array() && !s["words"].empty()) {
        seg.words = ParseJsonWords(s["words"], at + ".words");
        seg.start_ms = start;
        seg.end_ms = end;
        seg.text = text;
        seg.confidence = std::clamp(conf, 0.0, 1.0);
        if (seg.text.empty()) {
            for (const auto& w : seg.words) seg.text += (seg.text.empty() ? "" : " ") + w.text;
        }
    } else {
        if (text.empty()) return;
        seg = MakeSegment(start, end, text, std::clamp(conf, 0.0, 1.0));
    }
    if (s.contains("speaker") && s["speaker"].is_string()) {
        seg.speaker = TruncateUtf8(s["speaker"].get<std::string>(), 40);
    } else if (!line.speaker.empty()) {
        seg.speaker = TruncateUtf8(line.speaker, 40);
    }
    if (!seg.words.empty()) t->segments.push_back(std::move(seg));
}

Result<Transcript> ParseJson(std::string_view content) {
    json doc = json::parse(content.begin(), content.end(), nullptr, false);
    if (doc.is_discarded()) return Status::InvalidInput("the transcript is not valid JSON");
    try {
        if (doc.contains("transcript") && doc["transcript"].is_object()) doc = doc["transcript"];  // a result.json
        Transcript t;
        t.engine = "import:json";
        if (doc.contains("words") && doc["words"].is_array() && !doc["words"].empty()) {
            // OpenAI verbose_json with word timestamps: the words are top-level and its segments carry none,
            // so the words are the truth; segments are made from them at pauses, as for recognised words.
            t.segments = GroupWordsIntoSegments(ParseJsonWords(doc["words"], "words"));
        } else if (doc.contains("segments") && doc["segments"].is_array()) {
            const json& segs = doc["segments"];
            for (size_t i = 0; i < segs.size(); ++i) AddJsonSegment(segs[i], fmt::format("segments[{}]", i), &t);
        } else if (doc.contains("transcription") && doc["transcription"].is_array()) {  // whisper.cpp -oj
            const json& segs = doc["transcription"];
            for (size_t i = 0; i < segs.size(); ++i) {
                const json& s = segs[i];
                const std::string at = fmt::format("transcription[{}]", i);
                Ms start = 0, end = 0;
                if (s.contains("offsets")) {
                    start = s["offsets"].at("from").get<Ms>();
                    end = s["offsets"].at("to").get<Ms>();
                } else {
                    start = ToMs(Seconds(s.at("timestamps").at("from"), at + ".timestamps.from"));
                    end = ToMs(Seconds(s.at("timestamps").at("to"), at + ".timestamps.to"));
                }
                const std::string text = TrimAscii(s.at("text").get<std::string>());
                if (end < start) throw std::invalid_argument(at + ": ends before it starts");
                if (!text.empty()) t.segments.push_back(MakeSegment(start, end, text));
            }
        } else {
            return Status::InvalidInput("JSON transcript needs \"segments\", \"transcription\" or \"words\"");
        }
        if (t.segments.empty()) return Status::InvalidInput("the transcript has no segments with text");
        std::stable_sort(t.segments.begin(), t.segments.end(),
                         [](const Segment& a, const Segment& b) { return a.start_ms < b.start_ms; });
        if (doc.contains("events") && doc["events"].is_array()) ParseJsonEvents(doc["events"], &t);
        std::stable_sort(t.events.begin(), t.events.end(),
                         [](const SoundEvent& a, const SoundEvent& b) { return a.start_ms < b.start_ms; });
        return t;
    } catch (const json::exception& e) {
        return Status::InvalidInput(std::string("malformed JSON transcript: ") + e.what());
    } catch (const std::exception& e) {
        return Status::InvalidInput(std::string("malformed JSON transcript: ") + e.what());
    }
}

// Spells out a non-negative integer below a million ("21" -> "twenty one").
std::vector<std::string> SpellNumber(long n) {
    static const char* kOnes[] = {"zero",     "one",     "two",     "three",     "four",     "five",    "six",
                                  "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
                                  "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
    static const char* kTens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
    std::vector<std::string> out;
    if (n >= 1000000) return {std::to_string(n)};
    if (n >= 1000) {
        out = SpellNumber(n / 1000);
        out.emplace_back("thousand");
        n %= 1000;
        if (n == 0) return out;
    }
    if (n >= 100) {
        out.emplace_back(kOnes[n / 100]);
        out.emplace_back("hundred");
        n %= 100;
        if (n == 0) return out;
    }
    if (n < 20) {
        out.emplace_back(kOnes[n]);
    } else {
        out.emplace_back(kTens[n / 10]);
        if (n % 10) out.emplace_back(kOnes[n % 10]);
    }
    return out;
}

}  // namespace

std::vector<Word> SpreadWords(std::string_view text, Ms start_ms, Ms end_ms, double confidence) {
    std::vector<std::string> tokens;
    std::istringstream in{std::string(text)};
    std::string tok;
    size_t chars = 0;
    while (in >> tok) {
        chars += tok.size() + 1;
        tokens.push_back(tok);
    }
    std::vector<Word> words;
    if (tokens.empty()) return words;
    const double span = static_cast<double>(std::max<Ms>(0, end_ms - start_ms));
    double pos = 0;
    for (const auto& t : tokens) {
        Word w;
        w.text = t;
        w.start_ms = start_ms + static_cast<Ms>(std::llround(span * pos / static_cast<double>(chars)));
        pos += static_cast<double>(t.size() + 1);
        w.end_ms = start_ms + static_cast<Ms>(std::llround(span * (pos - 1) / static_cast<double>(chars)));
        w.end_ms = std::max(w.end_ms, w.start_ms);
        w.confidence = confidence;
        words.push_back(std::move(w));
    }
    return words;
}

Result<Transcript> ParseTranscript(std::string_view text) {
    // Subtitle editors still write "ANSI" (Windows-1252): text that is not UTF-8 is read as that, so every word
    // stored is UTF-8 and a podcaster's old SRT still imports.
    std::string converted;
    if (!IsValidUtf8(text)) converted = Cp1252ToUtf8(text);
    const std::string_view content = converted.empty() ? text : converted;
    size_t i = 0;
    if (content.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
    while (i < content.size() && std::isspace(static_cast<unsigned char>(content[i]))) ++i;
    if (i == content.size()) return Status::InvalidInput("the transcript is empty");
    const std::string_view body = content.substr(i);
    if (body[0] == '{' || body[0] == '[') return ParseJson(body);
    const auto lines = SplitLines(body);
    if (body.substr(0, 6) == "WEBVTT") return ParseCues(lines, true);
    if (body.find("-->") != std::string_view::npos) return ParseCues(lines, false);
    return Status::InvalidInput("unrecognised transcript format (expected SRT, WebVTT or whisper JSON)");
}

Result<Transcript> LoadTranscriptFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::NotFound("cannot read transcript " + path.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    auto t = ParseTranscript(ss.str());
    if (!t.ok()) return Status::InvalidInput(path.filename().string() + ": " + t.status().message());
    return t;
}

std::vector<Cue> CuesFromWords(const std::vector<Word>& spoken, Ms offset_ms, size_t max_chars, Ms max_ms) {
    const std::vector<Word> words = CaptionWords(spoken);
    std::vector<Cue> cues;
    Cue cur;
    bool open = false;
    for (size_t i = 0; i < words.size(); ++i) {
        const Word& w = words[i];
        const bool gap = open && w.start_ms - words[i - 1].end_ms >= 600;
        const bool too_long =
            open && (cur.text.size() + 1 + w.text.size() > max_chars || w.end_ms - offset_ms - cur.start_ms > max_ms);
        if (gap || too_long) {
            cues.push_back(cur);
            open = false;
        }
        if (!open) {
            cur = Cue{std::max<Ms>(0, w.start_ms - offset_ms), 0, "", ""};
            open = true;
        }
        cur.text += (cur.text.empty() ? "" : " ") + w.text;
        cur.end_ms = std::max(cur.start_ms + 1, w.end_ms - offset_ms);
    }
    if (open) cues.push_back(cur);
    return cues;
}

std::vector<Cue> TranscriptCues(const Transcript& t) {
    std::vector<Cue> cues;
    for (size_t i = 0; i < t.segments.size();) {
        // A turn: the segments one speaker says in a row.
        std::vector<Word> words;
        size_t j = i;
        for (; j < t.segments.size() && t.segments[j].speaker == t.segments[i].speaker; ++j) {
            words.insert(words.end(), t.segments[j].words.begin(), t.segments[j].words.end());
        }
        for (Cue& c : CuesFromWords(words)) {
            c.speaker = t.segments[i].speaker;
            cues.push_back(std::move(c));
        }
        i = j;
    }
    return cues;
}

namespace {
std::string CueTime(Ms ms, char sep) {
    return fmt::format("{:02}:{:02}:{:02}{}{:03}", ms / 3600000, (ms / 60000) % 60, (ms / 1000) % 60, sep, ms % 1000);
}

// `s` fit for one line of a cue: each run of white space (a line break, which would end the cue, among them) is one
// space, and "-->" (which players read as the next cue's timing) is "->".
std::string CueLineText(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else if (c == '>' && out.size() >= 2 && out.ends_with("--")) {
            out.back() = '>';
        } else {
            out += c;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// `s` as WebVTT cue text: '&', '<' and '>' as character references (a bare '<' would open a tag and hide the rest).
std::string VttEscape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '&') {
            out += "&amp;";
        } else if (c == '<') {
            out += "&lt;";
        } else if (c == '>') {
            out += "&gt;";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string FormatSrt(const std::vector<Cue>& cues) {
    std::string out;
    for (size_t i = 0; i < cues.size(); ++i) {
        const bool turn = !cues[i].speaker.empty() && (i == 0 || cues[i - 1].speaker != cues[i].speaker);
        out +=
            fmt::format("{}\n{} --> {}\n{}{}\n\n", i + 1, CueTime(cues[i].start_ms, ','), CueTime(cues[i].end_ms, ','),
                        turn ? CueLineText(cues[i].speaker) + ": " : "", CueLineText(cues[i].text));
    }
    return out;
}

std::string FormatVtt(const std::vector<Cue>& cues) {
    std::string out = "WEBVTT\n\n";
    for (const auto& c : cues) {
        std::string voice = CueLineText(c.speaker);
        std::erase_if(voice, [](char ch) { return ch == '<' || ch == '>'; });
        out += fmt::format("{} --> {}\n{}{}\n\n", CueTime(c.start_ms, '.'), CueTime(c.end_ms, '.'),
                           voice.empty() ? "" : "<v " + VttEscape(voice) + ">", VttEscape(CueLineText(c.text)));
    }
    return out;
}

json TranscriptToJson(const Transcript& t) {
    json segs = json::array();
    auto sec = [](Ms ms) { return static_cast<double>(ms) / 1000.0; };
    auto round3 = [](double v) { return std::round(v * 1000.0) / 1000.0; };
    for (const auto& s : t.segments) {
        json words = json::array();
        for (const auto& w : s.words) {
            words.push_back({{"word", w.text},
                             {"start", sec(w.start_ms)},
                             {"end", sec(w.end_ms)},
                             {"confidence", round3(w.confidence)}});
        }
        json seg = {{"start", sec(s.start_ms)},
                    {"end", sec(s.end_ms)},
                    {"text", s.text},
                    {"confidence", round3(s.confidence)},
                    {"words", std::move(words)}};
        if (!s.speaker.empty()) seg["speaker"] = s.speaker;
        segs.push_back(std::move(seg));
    }
    json out = {{"engine", t.engine}, {"segments", std::move(segs)}};
    if (!t.events.empty()) {
        json events = json::array();
        for (const auto& e : t.events)
            events.push_back({{"kind", e.kind}, {"start", sec(e.start_ms)}, {"end", sec(e.end_ms)}});
        out["events"] = std::move(events);
    }
    return out;
}

std::vector<std::string> NormalizeForWer(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        if (cur.empty()) return;
        if (std::all_of(cur.begin(), cur.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
            cur.size() <= 6) {
            for (auto& w : SpellNumber(std::stol(cur))) out.push_back(w);
        } else {
            out.push_back(cur);
        }
        cur.clear();
    };
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '\'') {
            cur += static_cast<char>(std::tolower(c));
        } else if (c == '-' || std::isspace(c) || std::ispunct(c)) {
            flush();
        } else {
            cur += static_cast<char>(c);
        }
    }
    flush();
    // Possessive and contraction apostrophes stay; lone quotes go.
    for (auto& w : out) {
        while (!w.empty() && w.front() == '\'') w.erase(0, 1);
        while (!w.empty() && w.back() == '\'') w.pop_back();
    }
    out.erase(std::remove(out.begin(), out.end(), std::string()), out.end());
    return out;
}

double WordErrorRate(std::string_view reference, std::string_view hypothesis) {
    const auto r = NormalizeForWer(reference), h = NormalizeForWer(hypothesis);
    if (r.empty()) return h.empty() ? 0.0 : 1.0;
    std::vector<size_t> prev(h.size() + 1), cur(h.size() + 1);
    for (size_t j = 0; j <= h.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= r.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= h.size(); ++j) {
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1)});
        }
        std::swap(prev, cur);
    }
    return static_cast<double>(prev[h.size()]) / static_cast<double>(r.size());
}

}  // namespace podpromo
