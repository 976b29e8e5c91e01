// libFuzzer target: any bytes as an imported transcript (SRT, WebVTT or JSON, told apart by content as an upload's
// are). Whatever parses must serialise to JSON without throwing, and its words written back as SRT must import again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "podpromo/asr/transcript_io.h"
#include "podpromo/core/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace podpromo;
    auto t = ParseTranscript(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!t.ok()) return 0;
    const std::string doc = DumpJson(TranscriptToJson(*t));
    if (!IsValidUtf8(doc)) std::abort();
    const auto words = t->AllWords();
    if (words.empty()) return 0;
    const std::string srt = FormatSrt(CuesFromWords(words));
    auto back = ParseTranscript(srt);
    if (!back.ok()) std::abort();  // what PodPromo exports, it imports
    return 0;
}
