// libFuzzer target: any bytes as a clip's words and title (one word per line, the first line the title) and as the
// caption font, made into the ASS script ffmpeg burns in. Nothing a transcript says may become an ASS override
// tag, an escape or a line of its own.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "podpromo/media/render.h"

namespace {

// The tags BuildCaptionsAss itself writes: a font size, the highlight colour (&HAABBGGRR&) and its end.
const std::regex& OwnTags() {
    static const std::regex re(R"(\{\\fs\d+\}|\{\\c&H[0-9A-F]{8}&\}|\{\\c\})");
    return re;
}

[[noreturn]] void Broken(const char* what, const std::string& line) {
    std::fprintf(stderr, "%s:\n%s\n", what, line.c_str());
    std::abort();
}

void CheckScript(const std::string& ass) {
    size_t at = 0;
    while (at < ass.size()) {
        const size_t nl = ass.find('\n', at);
        const std::string line = ass.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        at = nl == std::string::npos ? ass.size() : nl + 1;
        if (line.find('\r') != std::string::npos) Broken("a carriage return inside a line", line);
        if (line.empty() || line[0] == '[' || line.rfind("Dialogue: ", 0) == 0) {
            const std::string rest = std::regex_replace(line, OwnTags(), "");
            if (rest.find_first_of("{}\\") != std::string::npos) Broken("a tag or escape from the text", line);
            continue;
        }
        // A style keeps its 23 fields whatever the font's name.
        if (line.rfind("Style: ", 0) == 0 && std::count(line.begin(), line.end(), ',') != 22) {
            Broken("a style whose fields moved", line);
        }
        // Every other line is one of the script's own headers.
        static const std::regex kHeader(
            R"(^(Script|Play|Wrap|Scaled|YCbCr|Format|Style|Title|Collisions|Timer)\w*[ :])");
        if (!std::regex_search(line, kHeader)) Broken("a line that is no header of the script", line);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace podpromo;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> lines;
    while (!in.empty() && lines.size() < 200) {
        const size_t nl = in.find('\n');
        lines.emplace_back(in.substr(0, nl));
        in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    }
    if (lines.empty()) return 0;
    std::vector<Word> words;
    for (size_t i = 1; i < lines.size(); ++i) {
        words.push_back({lines[i], static_cast<Ms>(i - 1) * 400, static_cast<Ms>(i) * 400 - 50, 1.0});
    }
    auto style = StyleByName("bold", lines[0]);  // the first line as a font name too
    if (!style.ok()) style = StyleByName("bold");
    auto preset = PresetFor("tiktok");
    if (!style.ok() || !preset.ok()) std::abort();
    CheckScript(BuildCaptionsAss(words, *preset, *style, lines[0], static_cast<Ms>(lines.size()) * 400));
    return 0;
}
