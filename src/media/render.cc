#include "podpromo/media/render.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <sstream>

#include "podpromo/core/caption_words.h"
#include "podpromo/core/subprocess.h"
#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"
#include "podpromo/files/storage.h"
#include "podpromo/media/probe.h"

namespace podpromo {
namespace fs = std::filesystem;

namespace {

constexpr int kFps = 30;
// The limiter's ceiling: -2 dBFS sample peak keeps the true peak near -1.5 dBTP after AAC encoding.
constexpr double kLimit = 0.79;
constexpr Ms kGroupPauseMs = 400;      // a pause this long starts a new caption group
constexpr size_t kGroupMaxChars = 18;  // a group longer than this on screen is split
constexpr Ms kHoldMs = 500;            // a group stays up across gaps shorter than this
constexpr Ms kVideoTitleMs = 3000;     // a reframed video shows its title this long

struct StyleSpec {
    CaptionStyle style;
    bool bold;
    int border_style;  // ASS: 1 outline + shadow, 3 opaque box
    int outline, shadow;
    double char_em;  // average advance per character, in ems, for fitting
};

const std::vector<StyleSpec>& Styles() {
    static const std::vector<StyleSpec> s = {
        {{"bold", "DejaVu Sans", "FFFFFF", "FFD400", 88, true}, true, 1, 6, 0, 0.74},
        {{"clean", "DejaVu Sans", "FFFFFF", "7FE3FF", 76, false}, false, 1, 2, 3, 0.62},
        {{"boxed", "DejaVu Sans", "FFFFFF", "FFD400", 80, false}, true, 3, 14, 0, 0.68},
    };
    return s;
}

const StyleSpec& SpecOf(const std::string& name) {
    for (const auto& s : Styles())
        if (s.style.name == name) return s;
    return Styles().front();
}

// RRGGBB -> ASS &HAABBGGRR (alpha 00 = opaque).
std::string AssColour(const std::string& rgb, int alpha = 0) {
    return fmt::format("&H{:02X}{}{}{}", alpha, rgb.substr(4, 2), rgb.substr(2, 2), rgb.substr(0, 2));
}

std::string AssTime(Ms ms) {
    ms = std::max<Ms>(0, ms);
    const Ms cs = (ms + 5) / 10;
    return fmt::format("{}:{:02}:{:02}.{:02}", cs / 360000, cs / 6000 % 60, cs / 100 % 60, cs % 100);
}

// Text as ASS shows it literally: no override blocks, no escapes, one line.
std::string AssText(const std::string& s, bool upper) {
    std::string out;
    for (char ch : s) {
        if (ch == '{') ch = '(';
        if (ch == '}') ch = ')';
        if (ch == '\\') ch = '/';
        if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
        out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch))) : ch;
    }
    return out;
}

bool EndsSentence(const std::string& w) {
    return !w.empty() && (w.back() == '.' || w.back() == '?' || w.back() == '!' || w.back() == ',');
}

double Scale(const RenderPreset& p) { return std::min(p.width, p.height) / 1080.0; }

std::string FfmpegFailure(const std::string& what, const std::string& err) {
    // ffmpeg's last non-empty line says what failed.
    std::string line;
    size_t end = err.find_last_not_of("\r\n");
    if (end != std::string::npos) {
        const size_t begin = err.rfind('\n', end);
        line = err.substr(begin == std::string::npos ? 0 : begin + 1,
                          end - (begin == std::string::npos ? 0 : begin + 1) + 1);
    }
    return what + (line.empty() ? "" : ": " + line);
}

Status FromFfmpeg(const std::string& what, const ProcessOutput& out) {
    if (out.err.find("No space left") != std::string::npos) return Status::NoSpace(what + ": no space left on device");
    return Status::IoError(FfmpegFailure(what, out.err));
}

std::string Sec3(Ms ms) { return fmt::format("{:.3f}", static_cast<double>(ms) / 1000.0); }

// A directory of its own for the script files of one render, removed with it.
class ScratchDir {
  public:
    static Result<ScratchDir> Create() {
        std::string tmpl = (fs::temp_directory_path() / (WorkScratchPrefix("render") + "XXXXXX")).string();
        if (!mkdtemp(tmpl.data())) return StatusFromErrno(errno, "cannot create a render work directory");
        ScratchDir d;
        d.path_ = tmpl;
        return d;
    }
    ScratchDir() = default;
    ScratchDir(ScratchDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
    ScratchDir& operator=(ScratchDir&&) = delete;
    ~ScratchDir() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

fs::path PartOf(const fs::path& dest) { return dest.parent_path() / ("." + dest.filename().string() + ".part"); }

}  // namespace

Result<RenderPreset> PresetFor(const std::string& platform, const std::string& aspect) {
    static const std::vector<std::string> platforms = {"tiktok", "shorts", "reels", "linkedin", "x"};
    if (std::find(platforms.begin(), platforms.end(), platform) == platforms.end()) {
        return Status::InvalidInput("unknown platform '" + platform + "' (tiktok, shorts, reels, linkedin, x)");
    }
    RenderPreset p{platform, aspect, 1080, 1920};
    if (aspect == "9:16") {
        if (platform == "x") p.width = 720, p.height = 1280;
    } else if (aspect == "1:1") {
        p.width = 1080, p.height = 1080;
    } else if (aspect == "4:5") {
        p.width = 1080, p.height = 1350;
        if (platform == "x") p.width = 720, p.height = 900;
    } else if (aspect == "16:9") {
        p.width = 1920, p.height = 1080;
        if (platform == "x") p.width = 1280, p.height = 720;
    } else {
        return Status::InvalidInput("unknown aspect '" + aspect + "' (9:16, 4:5, 1:1, 16:9)");
    }
    return p;
}

SafeZone SafeZoneFor(const RenderPreset& p) {
    const double sx = p.width / 1080.0, sy = p.height / 1920.0;
    // Landscape frames have no app chrome over the top and bottom thirds; keep the portrait side margins.
    const double side = p.width > p.height ? 180.0 * Scale(p) : 180.0 * sx;
    const double top = p.width > p.height ? 120.0 * Scale(p) : 220.0 * sy;
    const double bottom = p.width > p.height ? 160.0 * Scale(p) : 500.0 * sy;
    return {static_cast<int>(side), static_cast<int>(top), p.width - static_cast<int>(side),
            p.height - static_cast<int>(bottom)};
}

std::vector<std::string> StyleNames() {
    std::vector<std::string> names;
    for (const auto& s : Styles()) names.push_back(s.style.name);
    return names;
}

Result<CaptionStyle> StyleByName(const std::string& name, const std::string& font, const std::string& color,
                                 const std::string& highlight, int size) {
    const auto names = StyleNames();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        return Status::InvalidInput("unknown caption style '" + name + "' (bold, clean, boxed)");
    }
    CaptionStyle s = SpecOf(name).style;
    for (const auto* c : {&color, &highlight}) {
        if (!c->empty() && !IsHexColour(*c)) {
            return Status::InvalidInput("caption colour '" + *c + "' is not RRGGBB hex (e.g. FFD400)");
        }
    }
    if (size != 0 && (size < 24 || size > 200)) return Status::InvalidInput("caption size must be 24–200 px");
    const bool control =
        std::any_of(font.begin(), font.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
    if (control || font.find_first_of(",:\\{}") != std::string::npos || !IsValidUtf8(font)) {
        return Status::InvalidInput("bad caption font name");
    }
    if (!font.empty()) s.font = font;
    if (!color.empty()) s.color = color;
    if (!highlight.empty()) s.highlight = highlight;
    if (size != 0) s.size = size;
    return s;
}

bool IsHexColour(const std::string& c) {
    return c.size() == 6 && std::all_of(c.begin(), c.end(), [](unsigned char ch) { return std::isxdigit(ch); });
}

const std::vector<std::string>& InstalledFonts() {
    static const std::vector<std::string> fonts = [] {
        std::set<std::string> names;
        auto r = RunProcess({"fc-list", "--format", "%{family[0]}\\n"}, nullptr, 5000, kChildMemoryBytes);
        if (!r.ok() || r->exit_code != 0) return std::vector<std::string>{};
        std::istringstream in(r->out);
        for (std::string line; std::getline(in, line) && names.size() < 500;) {
            // (Names a caption cannot carry are left out, as StyleByName would refuse them.)
            if (!line.empty() && line.size() <= 100 && line.find_first_of(",:\\{}") == std::string::npos &&
                IsValidUtf8(line)) {
                names.insert(line);
            }
        }
        return std::vector<std::string>(names.begin(), names.end());
    }();
    return fonts;
}

Result<CaptionStyle> StyleFrom(const StyleChoice& c) {
    PODPROMO_ASSIGN_OR_RETURN(CaptionStyle s, StyleByName(c.name, c.font, c.color, c.highlight, c.size));
    if (c.outline != -1 && (c.outline < 0 || c.outline > kMaxOutline)) {
        return Status::InvalidInput(fmt::format("caption outline must be 0–{} px", kMaxOutline));
    }
    if (!c.position.empty() && std::find(std::begin(kCaptionPositions), std::end(kCaptionPositions), c.position) ==
                                   std::end(kCaptionPositions)) {
        return Status::InvalidInput("caption position must be bottom, middle or top");
    }
    s.outline = c.outline;
    if (!c.position.empty()) s.position = c.position;
    if (c.uppercase) s.uppercase = *c.uppercase;
    return s;
}

StyleChoice ChoiceOf(const CaptionStyle& s) {
    StyleChoice c;
    c.name = s.name;
    c.font = s.font;
    c.color = s.color;
    c.highlight = s.highlight;
    c.position = s.position;
    c.size = s.size;
    c.outline = s.outline;
    c.uppercase = s.uppercase;
    return c;
}

std::vector<CaptionGroup> GroupWords(const std::vector<Word>& words) {
    std::vector<CaptionGroup> groups;
    size_t chars = 0;
    for (size_t i = 0; i < words.size(); ++i) {
        const size_t len = Utf8Length(words[i].text);
        bool fresh = groups.empty();
        if (!fresh) {
            const auto& g = groups.back();
            const auto& prev = words[i - 1];
            fresh = g.last - g.first >= 3 || words[i].start_ms - prev.end_ms > kGroupPauseMs ||
                    EndsSentence(prev.text) || chars + 1 + len > kGroupMaxChars;
        }
        if (fresh) {
            groups.push_back({i, i, words[i].start_ms, words[i].end_ms});
            chars = 0;
        } else {
            chars += 1;
        }
        chars += len;
        groups.back().last = i + 1;
        groups.back().end_ms = std::max(groups.back().end_ms, words[i].end_ms);
    }
    for (size_t g = 0; g + 1 < groups.size(); ++g) {
        if (groups[g + 1].start_ms - groups[g].end_ms < kHoldMs) groups[g].end_ms = groups[g + 1].start_ms;
    }
    return groups;
}

namespace {

// Where a caption line sits: ASS alignment (2 bottom centre, 5 middle, 8 top centre) and vertical margin. Bottom lines
// stand 40 px above the safe zone's bottom; top ones start at `below_title`.
std::pair<int, int> CaptionPlace(const std::string& position, const RenderPreset& p, const SafeZone& z,
                                 int below_title) {
    if (position == "middle") return {5, 0};
    if (position == "top") return {8, below_title};
    return {2, p.height - z.bottom + static_cast<int>(40 * Scale(p))};
}

}  // namespace

std::string BuildCaptionsAss(const std::vector<Word>& spoken, const RenderPreset& p, const CaptionStyle& style,
                             const std::string& title, Ms clip_ms, Ms title_until_ms) {
    const std::vector<Word> words = CaptionWords(spoken);
    const StyleSpec& spec = SpecOf(style.name);
    const double k = Scale(p);
    const SafeZone z = SafeZoneFor(p);
    const int size = static_cast<int>(std::lround((style.size > 0 ? style.size : spec.style.size) * k));
    const int outline = static_cast<int>(std::lround((style.outline >= 0 ? style.outline : spec.outline) * k));
    const int title_size = static_cast<int>(std::lround(60 * k));
    const int title_top = z.top + static_cast<int>(std::lround((30 + std::max(0, style.top_reserved)) * k));
    // (Not a structured binding: clang 14, which builds the sanitizer build, cannot capture one in a lambda.)
    const std::pair<int, int> place = CaptionPlace(style.position, p, z, title_top + 2 * title_size + size / 2);
    const int alignment = place.first, margin_v = place.second;
    const std::string back = spec.border_style == 3 ? AssColour("000000", 0x60) : AssColour("000000", 0x80);
    const std::string box = spec.border_style == 3 ? AssColour("000000", 0x60) : AssColour("000000");
    std::string out = fmt::format(
        "[Script Info]\nScriptType: v4.00+\nPlayResX: {}\nPlayResY: {}\nWrapStyle: 0\nScaledBorderAndShadow: yes\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n",
        p.width, p.height);
    // A boxed line is drawn in two layers: its box alone (the text invisible, one run, so one box), then the text
    // with its highlighted word and no box. Boxing the text itself gives each colour run its own translucent box, and
    // where two overlap a darker seam shows on both sides of the highlighted word.
    const bool boxed = spec.border_style == 3;
    const auto caption_style = [&](const char* name, const std::string& colour, int border_style, int border) {
        return fmt::format("Style: {},{},{},{},{},{},{},{},0,0,0,100,100,0,0,{},{},{},{},{},{},{},1\n", name,
                           style.font, size, colour, AssColour(style.highlight), box, back, spec.bold ? -1 : 0,
                           border_style, border, boxed ? 0 : static_cast<int>(std::lround(spec.shadow * k)), alignment,
                           z.left, p.width - z.right, margin_v);
    };
    if (boxed) out += caption_style("CaptionBox", AssColour(style.color, 0xFF), 3, outline);
    out += caption_style("Caption", AssColour(style.color), boxed ? 1 : spec.border_style, boxed ? 0 : outline);
    out +=
        fmt::format("Style: Title,{},{},{},{},{},{},-1,0,0,0,100,100,0,0,1,{},0,8,{},{},{},1\n", style.font, title_size,
                    AssColour("FFFFFF"), AssColour("FFFFFF"), AssColour("000000"), AssColour("000000", 0x80),
                    static_cast<int>(std::lround(3 * k)), z.left, p.width - z.right, title_top);
    out += "\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n";
    if (!title.empty()) {
        std::string t = AssText(title, false);
        if (Utf8Length(t) > 70) t = t.substr(0, t.rfind(' ', 67)) + "…";
        out += fmt::format("Dialogue: 1,{},{},Title,,0,0,0,,{}\n", AssTime(0),
                           AssTime(title_until_ms > 0 ? std::min(title_until_ms, clip_ms) : clip_ms), t);
    }
    const double avail = z.right - z.left;
    for (const auto& g : GroupWords(words)) {
        size_t chars = 0;
        for (size_t i = g.first; i < g.last; ++i) chars += Utf8Length(words[i].text) + (i > g.first ? 1 : 0);
        // Shrink the group until it fits one line (outline included).
        const double width = static_cast<double>(chars) * spec.char_em * size + 2.0 * outline;
        const int fs = width > avail ? static_cast<int>(std::floor(size * avail / width)) : size;
        const std::string fs_tag = fs != size ? fmt::format("\\fs{}", fs) : "";
        if (boxed) {
            std::string plain = fs_tag.empty() ? "" : "{" + fs_tag + "}";
            for (size_t i = g.first; i < g.last; ++i)
                plain += (i > g.first ? " " : "") + AssText(words[i].text, style.uppercase);
            out += fmt::format("Dialogue: 0,{},{},CaptionBox,,0,0,0,,{}\n", AssTime(g.start_ms),
                               AssTime(std::min(g.end_ms, clip_ms)), plain);
        }
        for (size_t w = g.first; w < g.last; ++w) {
            const Ms from = w == g.first ? g.start_ms : words[w].start_ms;
            const Ms to = w + 1 < g.last ? words[w + 1].start_ms : g.end_ms;
            if (to <= from) continue;
            std::string text = fs_tag.empty() ? "" : "{" + fs_tag + "}";
            for (size_t i = g.first; i < g.last; ++i) {
                if (i > g.first) text += ' ';
                const std::string word = AssText(words[i].text, style.uppercase);
                text += i == w ? "{\\c" + AssColour(style.highlight) + "&}" + word + "{\\c}" : word;
            }
            out += fmt::format("Dialogue: 1,{},{},Caption,,0,0,0,,{}\n", AssTime(from), AssTime(std::min(to, clip_ms)),
                               text);
        }
    }
    return out;
}

std::string CutFades(Ms duration_ms) {
    const double dur = static_cast<double>(duration_ms) / 1000.0;
    return fmt::format("afade=t=in:st=0:d=0.05,afade=t=out:st={:.3f}:d=0.15", std::max(0.0, dur - 0.15));
}

namespace {

// Rewrites the picture at `path` in place through `filter` into `encode` (ffmpeg's output options): the one first
// frame, no metadata. The file is left as it was on failure.
Status RewritePicture(const fs::path& path, const std::string& filter, const std::vector<std::string>& encode,
                      const CancelToken* cancel) {
    auto input = FfmpegInput(path);
    if (!input.ok()) return input.status();
    const fs::path part = path.parent_path() / ("." + path.filename().string() + ".norm");
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"};
    argv.insert(argv.end(), input->begin(), input->end());
    argv.insert(argv.end(), {"-frames:v", "1", "-map_metadata", "-1", "-vf", filter});
    argv.insert(argv.end(), encode.begin(), encode.end());
    argv.insert(argv.end(), {"-f", "image2", "-update", "1", "file:" + fs::absolute(part).string()});
    auto r = RunProcess(argv, cancel, 30000, kChildMemoryBytes);
    std::error_code ec;
    if (!r.ok() || r->exit_code != 0) {
        fs::remove(part, ec);
        if (!r.ok()) return r.status();  // Unavailable: no ffmpeg, or it took too long
        Status failed = FromFfmpeg("ffmpeg could not read the picture", *r);
        return failed.code() == StatusCode::kNoSpace ? failed : Status::InvalidInput(failed.message());
    }
    fs::rename(part, path, ec);
    if (ec) {
        fs::remove(part, ec);
        return Status::IoError("cannot store the picture: " + ec.message());
    }
    return Status::Ok();
}

std::string FitInside(int side) {
    return fmt::format("scale=w='min(iw,{0})':h='min(ih,{0})':force_original_aspect_ratio=decrease", side);
}

}  // namespace

Status NormalizeImage(const fs::path& path, const CancelToken* cancel) {
    return RewritePicture(path, FitInside(kCoverSide) + ",format=yuvj420p", {"-c:v", "mjpeg", "-q:v", "2"}, cancel);
}

Status NormalizeLogo(const fs::path& path, const CancelToken* cancel) {
    return RewritePicture(path, FitInside(kLogoSide) + ",format=rgba", {"-c:v", "png"}, cancel);
}

Result<std::string> LoudnessFilter(const fs::path& source, Ms start_ms, Ms end_ms, const std::string& pre,
                                   const CancelToken* cancel) {
    // Integrated loudness of the span after `chain`, by ffmpeg's EBU R128 meter.
    auto input = FfmpegInput(source);
    if (!input.ok()) return input.status();
    auto measure = [&](const std::string& chain) -> Result<double> {
        std::vector<std::string> argv = {"ffmpeg",       "-nostdin", "-hide_banner",         "-ss",
                                         Sec3(start_ms), "-t",       Sec3(end_ms - start_ms)};
        argv.insert(argv.end(), input->begin(), input->end());
        argv.insert(argv.end(), {"-vn", "-af", chain + ",ebur128", "-f", "null", "-"});
        auto m = RunProcess(argv, cancel, TimeLimitMs(end_ms - start_ms, 2), kChildMemoryBytes);
        if (!m.ok()) return m.status();
        const auto summary = m->err.rfind("Summary:");
        const auto at = summary == std::string::npos ? summary : m->err.find("I:", summary);
        if (m->exit_code != 0 || at == std::string::npos) {
            return Status::IoError(FfmpegFailure("ffmpeg could not measure the audio's loudness", m->err));
        }
        return std::strtod(m->err.c_str() + at + 2, nullptr);
    };
    auto level = measure(pre);
    if (!level.ok()) return level.status();
    constexpr double kTarget = -14.0, kMaxGain = 30.0;
    if (*level <= -69.0) return std::string("aresample=48000");  // silence: nothing to level
    // Gain to the target, peaks held by a limiter. Speech is peaky, so the limiter takes some loudness back:
    // measure through it and correct the gain until it lands within 0.3 LU (two corrections at most).
    double gain = std::min(kMaxGain, kTarget - *level);
    auto chain = [&] {
        return fmt::format("aresample=48000,volume={:.2f}dB,alimiter=limit={}:attack=2:release=50:level=false", gain,
                           kLimit);
    };
    for (int round = 0; round < 2; ++round) {
        auto got = measure(pre + "," + chain());
        if (!got.ok()) return got.status();
        if (std::abs(*got - kTarget) < 0.3) break;
        gain = std::min(kMaxGain, gain + (kTarget - *got));
    }
    return chain();
}

namespace {

// RRGGBB with each channel divided by `by`.
std::string Darker(const std::string& rgb, int by) {
    std::string out;
    for (int i = 0; i < 3; ++i) out += fmt::format("{:02X}", std::stoi(rgb.substr(2 * i, 2), nullptr, 16) / by);
    return out;
}

// The audiogram's picture: a background (the cover, blurred, under the cover itself; or a gradient) with the
// waveform over it, as filters ending in [base]. Laid out inside the safe zone, top to bottom: title, (cover),
// waveform, captions. Sizes follow the zone's height so a square frame holds them too (1200 px high on 1080×1920,
// 676 on 1080×1080).
std::string AudiogramGraph(const RenderPreset& p, bool cover, const std::string& background) {
    const int W = p.width, H = p.height;
    const double k = Scale(p);
    const SafeZone z = SafeZoneFor(p);
    const int ww = z.right - z.left;
    const double zone_h = z.bottom - z.top;
    const int wh = static_cast<int>(std::min((cover ? 200 : 360) * k, zone_h * (cover ? 0.12 : 0.3))) / 2 * 2;
    std::string graph;
    int wave_y;
    if (cover) {
        // The cover, blurred and darkened, fills the frame; the cover itself sits above the waveform.
        const int side = static_cast<int>(std::min({static_cast<double>(ww), 600 * k, zone_h * 0.4})) / 2 * 2;
        const int cover_y = z.top + static_cast<int>(zone_h * 0.25);
        wave_y = cover_y + side + static_cast<int>(zone_h * 0.025);
        graph += fmt::format(
            "[1:v:0]split[cv1][cv2];"
            "[cv1]scale={0}:{1}:force_original_aspect_ratio=increase,crop={0}:{1},boxblur=6,eq=brightness=-0.25,"
            "scale={2}:{3},setsar=1,format=yuv420p[cbg];"
            "[cv2]scale={4}:{4}:force_original_aspect_ratio=increase,crop={4}:{4},setsar=1,format=yuv420p[cfg];"
            "[cbg][cfg]overlay={5}:{6},trim=end_frame=1,loop=loop=-1:size=1,setpts=N/{7}/TB[bg];",
            W / 8 / 2 * 2, H / 8 / 2 * 2, W, H, side, (W - side) / 2, cover_y, kFps);
    } else {
        wave_y = (H - wh) / 2 - static_cast<int>(std::lround(120 * k));
        // The default gradient, or one from the show's colour down to a third of it, corner to corner. (Its end point
        // is the last pixel: ffmpeg picks a point outside the frame at random, so every render would differ.)
        const std::string c0 = background.empty() ? "1B1F3B" : background;
        const std::string c1 = background.empty() ? "4A2C6F" : Darker(background, 3);
        graph += fmt::format(
            "gradients=s={}x{}:c0=0x{}:c1=0x{}:x0=0:y0=0:x1={}:y1={}:n=2:speed=0.00001:r={},"
            "trim=end_frame=1,format=yuv420p,loop=loop=-1:size=1,setpts=N/{}/TB[bg];",
            W, H, c0, c1, W - 1, H - 1, kFps, kFps);
    }
    // showwaves draws one sample per column: resampled to fps × width it gives exactly fps frames.
    graph += fmt::format(
        "[awave]aresample={},showwaves=s={}x{}:n=1:mode=cline:colors=0xE8F0FF@0.9:scale=sqrt,format=yuva420p[wave];"
        "[bg][wave]overlay={}:{}:shortest=1:format=yuv420[base];",
        kFps * ww, ww, wh, z.left, wave_y);
    return graph;
}

// A video source's picture, reframed by `plan`, as filters ending in [base].
std::string ReframeGraph(const RenderPreset& p, const CropPlan& plan, int src_width) {
    const int W = p.width, H = p.height;
    if (plan.mode == "fit") {
        return fmt::format(
            "[0:v]fps={0},split[v1][v2];"
            "[v1]scale={1}:{2}:force_original_aspect_ratio=increase,crop={1}:{2},boxblur=8,eq=brightness=-0.2,"
            "scale={3}:{4},setsar=1[vbg];"
            "[v2]scale={3}:{4}:force_original_aspect_ratio=decrease,setsar=1[vfg];"
            "[vbg][vfg]overlay=(W-w)/2:(H-h)/2,format=yuv420p[base];",
            kFps, W / 8 / 2 * 2, H / 8 / 2 * 2, W, H);
    }
    return fmt::format("[0:v]fps={},crop=w={}:h={}:x='{}':y=0,scale={}:{},setsar=1,format=yuv420p[base];", kFps,
                       plan.crop_w, plan.crop_h, CropXExpression(plan, src_width), W, H);
}

// The whole filter graph: the audio (fades, loudness, split for the video, the .m4a and the waveform), the picture,
// the captions, and the thumbnail.
std::string RenderGraph(const RenderCommand& c) {
    const Ms dur_ms = c.end_ms - c.start_ms;
    const bool audiogram = !c.crop.has_value();
    const bool want_audio = !c.audio_part.empty(), want_thumb = !c.thumbnail_part.empty();
    const int audio_copies = 1 + (want_audio ? 1 : 0) + (audiogram ? 1 : 0);
    std::string graph =
        fmt::format("[0:a]{},{},aformat=sample_fmts=fltp:channel_layouts=stereo", CutFades(dur_ms), c.loudness);
    graph += audio_copies > 1 ? fmt::format(",asplit={}[aout]{}{};", audio_copies, want_audio ? "[acut]" : "",
                                            audiogram ? "[awave]" : "")
                              : "[aout];";
    graph += audiogram ? AudiogramGraph(c.preset, !c.cover_input.empty(), c.background)
                       : ReframeGraph(c.preset, *c.crop, c.src_width);
    graph += "[base]ass=filename='" + c.captions.string() + "',format=yuv420p";
    if (!c.logo_input.empty()) {
        // The logo inside a square box at the safe zone's top right, a little translucent, over the captions.
        const SafeZone z = SafeZoneFor(c.preset);
        const int logo = c.cover_input.empty() ? 1 : 2;
        graph += fmt::format(
            "[capt];[{0}:v:0]scale={1}:{1}:force_original_aspect_ratio=decrease,format=rgba,"
            "colorchannelmixer=aa=0.9[logo];[capt][logo]overlay=x={2}-w:y={3}:format=auto,format=yuv420p",
            logo, c.logo_side, z.right, z.top + static_cast<int>(std::lround(30 * Scale(c.preset))));
    }
    if (want_thumb) {
        graph += fmt::format(",split[vout][vth];[vth]trim=start={},scale={}:-2[thumb]", Sec3(c.thumbnail_at_ms),
                             c.preset.width / 2 / 2 * 2);
    } else {
        graph += "[vout]";
    }
    return graph;
}

}  // namespace

namespace {
void AppendVideoOutput(const RenderCommand& c, const std::string& dur, std::vector<std::string>* out);
}  // namespace

std::vector<std::string> BuildRenderCommand(const RenderCommand& c) {
    const std::string dur = Sec3(c.end_ms - c.start_ms);
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-hide_banner",   "-loglevel", "error",
                                     "-y",     "-ss",      Sec3(c.start_ms), "-t",        dur};
    argv.insert(argv.end(), c.source_input.begin(), c.source_input.end());
    argv.insert(argv.end(), c.cover_input.begin(), c.cover_input.end());
    argv.insert(argv.end(), c.logo_input.begin(), c.logo_input.end());
    if (c.video_part.empty()) {
        // A still alone (RenderStill): the picture and sound are made, and dropped.
        argv.insert(argv.end(),
                    {"-filter_complex", RenderGraph(c), "-map", "[vout]", "-map", "[aout]", "-f", "null", "-"});
    } else {
        AppendVideoOutput(c, dur, &argv);
    }
    if (!c.audio_part.empty()) {
        argv.insert(argv.end(), {"-map", "[acut]", "-c:a", "aac", "-b:a", "160k", "-movflags", "+faststart", "-t", dur,
                                 "-f", "mp4", "file:" + fs::absolute(c.audio_part).string()});
    }
    if (!c.thumbnail_part.empty()) {
        argv.insert(argv.end(), {"-map", "[thumb]", "-frames:v", "1", "-q:v", "3", "-update", "1", "-f", "image2",
                                 "file:" + fs::absolute(c.thumbnail_part).string()});
    }
    return argv;
}

namespace {

void AppendVideoOutput(const RenderCommand& c, const std::string& dur, std::vector<std::string>* out) {
    std::vector<std::string>& argv = *out;
    argv.insert(argv.end(), {"-filter_complex",
                             RenderGraph(c),
                             "-map",
                             "[vout]",
                             "-map",
                             "[aout]",
                             "-c:v",
                             "libx264",
                             "-preset",
                             "veryfast",
                             "-crf",
                             "21",
                             "-pix_fmt",
                             "yuv420p",
                             "-r",
                             std::to_string(kFps),
                             "-g",
                             std::to_string(2 * kFps),
                             "-c:a",
                             "aac",
                             "-b:a",
                             "160k",
                             "-movflags",
                             "+faststart",
                             "-t",
                             dur,
                             "-f",
                             "mp4",
                             "file:" + fs::absolute(c.video_part).string()});
}

}  // namespace

namespace {

// The clip's words, their times relative to its start.
std::vector<Word> ClipWords(const RenderRequest& rq) {
    const Ms dur_ms = rq.end_ms - rq.start_ms;
    std::vector<Word> rel;
    for (const auto& w : rq.words) {
        if (w.end_ms <= rq.start_ms || w.start_ms >= rq.end_ms) continue;
        rel.push_back({w.text, std::max<Ms>(0, w.start_ms - rq.start_ms), std::min(dur_ms, w.end_ms - rq.start_ms),
                       w.confidence});
    }
    return rel;
}

// The thumbnail's time in the clip: as the first word ends (a face mid-word), within the clip's first part.
Ms ThumbnailAt(const RenderRequest& rq, const std::vector<Word>& rel) {
    const Ms dur_ms = rq.end_ms - rq.start_ms;
    const Ms at = rel.empty() ? dur_ms / 3 : rel.front().end_ms;
    return std::clamp<Ms>(at, std::min<Ms>(500, dur_ms / 2),
                          std::min<Ms>(rq.has_video ? 2500 : dur_ms / 2, dur_ms - 100));
}

// The audiogram's background input: the uploaded cover, else the source's own cover art, else none (a gradient).
// Needs c->source_input.
Status SetAudiogramBackground(const RenderRequest& rq, RenderCommand* c) {
    if (!rq.background.empty() && !IsHexColour(rq.background)) {
        return Status::InvalidInput("the background colour is not RRGGBB hex");
    }
    c->background = rq.background;
    if (!rq.background.empty()) return Status::Ok();  // the show's colour stands instead of any cover
    if (rq.cover) {
        PODPROMO_ASSIGN_OR_RETURN(c->cover_input, FfmpegInput(*rq.cover));
    } else if (rq.source_has_cover) {
        c->cover_input = c->source_input;
    }
    return Status::Ok();
}

// The logo's input and box, and the caption style that leaves room for it (the title goes under the logo).
constexpr int kLogoBox = 130;  // px on a 1080-wide frame
Result<CaptionStyle> SetLogo(const RenderRequest& rq, RenderCommand* c) {
    CaptionStyle style = rq.style;
    if (!rq.logo) return style;
    PODPROMO_ASSIGN_OR_RETURN(c->logo_input, FfmpegInput(*rq.logo));
    c->logo_side = static_cast<int>(std::lround(kLogoBox * Scale(rq.preset))) / 2 * 2;
    style.top_reserved = kLogoBox + 20;
    return style;
}

// Runs the render and moves each .part file onto its name once all are complete; on any failure none is left.
Status RunAndCommit(const std::vector<std::string>& argv, const std::vector<std::pair<fs::path, fs::path>>& moves,
                    Ms dur_ms, const CancelToken* cancel) {
    auto cleanup = [&] {
        std::error_code ec;
        for (const auto& [part, dest] : moves) fs::remove(part, ec);
    };
    // A 1080x1920 encode runs at about real time on two busy cores: ten times that is a wedged one.
    auto r = RunProcess(argv, cancel, TimeLimitMs(dur_ms, 10), kChildMemoryBytes);
    if (!r.ok() || r->exit_code != 0) {
        cleanup();
        if (!r.ok()) return r.status();
        return FromFfmpeg("ffmpeg could not render " + moves.front().second.filename().string(), *r);
    }
    for (const auto& [part, dest] : moves) {
        std::error_code ec;
        if (!fs::exists(part, ec)) {
            cleanup();
            return Status::IoError("ffmpeg wrote no " + dest.filename().string());
        }
    }
    for (size_t i = 0; i < moves.size(); ++i) {
        std::error_code ec;
        fs::rename(moves[i].first, moves[i].second, ec);
        if (ec) {
            cleanup();
            for (size_t j = 0; j < i; ++j) fs::remove(moves[j].second, ec);
            return StatusFromErrno(ec.value(), "cannot write " + moves[i].second.string());
        }
    }
    return Status::Ok();
}

}  // namespace

Result<RenderReport> RenderClip(const RenderRequest& rq, const RenderOutputs& outs, const CancelToken* cancel) {
    if (rq.end_ms <= rq.start_ms) return Status::InvalidInput("the clip is empty");
    const Ms dur_ms = rq.end_ms - rq.start_ms;
    RenderCommand c;
    c.preset = rq.preset;
    c.start_ms = rq.start_ms;
    c.end_ms = rq.end_ms;
    c.src_width = rq.src_width;
    PODPROMO_ASSIGN_OR_RETURN(auto scratch, ScratchDir::Create());
    const std::vector<Word> rel = ClipWords(rq);
    c.captions = scratch.path() / "captions.ass";
    PODPROMO_ASSIGN_OR_RETURN(const CaptionStyle style, SetLogo(rq, &c));
    PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(
        c.captions, BuildCaptionsAss(rel, rq.preset, style, rq.title, dur_ms, rq.has_video ? kVideoTitleMs : 0)));
    PODPROMO_ASSIGN_OR_RETURN(c.source_input, FfmpegInput(rq.source));
    PODPROMO_ASSIGN_OR_RETURN(c.loudness, LoudnessFilter(rq.source, rq.start_ms, rq.end_ms, CutFades(dur_ms), cancel));
    RenderReport report;
    if (!rq.has_video) {
        report.mode = "audiogram";
        PODPROMO_RETURN_IF_ERROR(SetAudiogramBackground(rq, &c));
    } else {
        PODPROMO_ASSIGN_OR_RETURN(
            auto faces, DetectFaces(rq.source, rq.src_width, rq.src_height, rq.start_ms, rq.end_ms, 2.0, cancel));
        c.crop = PlanCrop(faces, rq.src_width, rq.src_height, rq.preset.width, rq.preset.height);
        report.mode = c.crop->mode;
        report.reframe_reason = c.crop->reason;
    }
    c.video_part = PartOf(outs.video);
    std::vector<std::pair<fs::path, fs::path>> moves = {{c.video_part, outs.video}};
    if (!outs.audio.empty()) moves.emplace_back(c.audio_part = PartOf(outs.audio), outs.audio);
    if (!outs.thumbnail.empty()) moves.emplace_back(c.thumbnail_part = PartOf(outs.thumbnail), outs.thumbnail);
    if (!outs.thumbnail.empty()) c.thumbnail_at_ms = ThumbnailAt(rq, rel);
    PODPROMO_RETURN_IF_ERROR(RunAndCommit(BuildRenderCommand(c), moves, dur_ms, cancel));
    return report;
}

Result<std::string> RenderStill(const RenderRequest& rq, Ms at_ms, const CancelToken* cancel) {
    if (rq.end_ms <= rq.start_ms) return Status::InvalidInput("the clip is empty");
    at_ms = std::clamp(at_ms, rq.start_ms, rq.end_ms - 1);
    // A moment around the frame: enough for the waveform and the caption of that instant, nothing to encode.
    RenderCommand c;
    c.preset = rq.preset;
    c.start_ms = std::max(rq.start_ms, at_ms - 300);
    c.end_ms = std::max(c.start_ms + 400, std::min(rq.end_ms, at_ms + 300));
    c.src_width = rq.src_width;
    PODPROMO_ASSIGN_OR_RETURN(auto scratch, ScratchDir::Create());
    RenderRequest window = rq;
    window.start_ms = c.start_ms;
    window.end_ms = c.end_ms;
    // The title as the clip shows it at that moment (a reframed video shows it for its first seconds only).
    const bool titled = !rq.has_video || at_ms - rq.start_ms < kVideoTitleMs;
    c.captions = scratch.path() / "captions.ass";
    PODPROMO_ASSIGN_OR_RETURN(const CaptionStyle style, SetLogo(rq, &c));
    PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(
        c.captions,
        BuildCaptionsAss(ClipWords(window), rq.preset, style, titled ? rq.title : "", c.end_ms - c.start_ms)));
    PODPROMO_ASSIGN_OR_RETURN(c.source_input, FfmpegInput(rq.source));
    c.loudness = "volume=1";
    if (!rq.has_video) {
        PODPROMO_RETURN_IF_ERROR(SetAudiogramBackground(rq, &c));
    } else {
        // The frame's centre: following faces takes a detection pass a still does not wait for.
        c.crop = PlanCrop({}, rq.src_width, rq.src_height, rq.preset.width, rq.preset.height);
    }
    c.thumbnail_part = scratch.path() / "still.jpg";
    c.thumbnail_at_ms = at_ms - c.start_ms;
    auto r = RunProcess(BuildRenderCommand(c), cancel, 20000, kChildMemoryBytes);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return FromFfmpeg("ffmpeg could not make the preview", *r);
    return ReadFileBytes(c.thumbnail_part);
}

}  // namespace podpromo
