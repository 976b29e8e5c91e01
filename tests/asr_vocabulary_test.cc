// The vocabulary hint with pocketsphinx: names the dictionary lacks come out when the user names them, and
// only then (without the hint the recogniser cannot spell them at all).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testsupport.h"

namespace podpromo::testing {
namespace {
using nlohmann::json;

int Count(const std::string& text, const std::string& word) {
    int n = 0;
    for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
    return n;
}

std::string TranscriptText(const ProcessOutput& run) {
    const json doc = json::parse(run.out, nullptr, false);
    if (!doc.is_object()) return "";
    std::string text;
    for (const auto& s : doc["transcript"]["segments"]) text += s["text"].get<std::string>() + " ";
    return text;
}

TEST(VocabularyHint, NamesGivenAsTermsAreRecognised) {
    TempDir dir;
    const auto episode = dir / "ops.wav";
    auto tl = SynthesizeEpisode(
        {{"slt", "filler", "Welcome back to the show. Today my guest runs the platform team at Zalando.", 700},
         {"slt", "filler", "We talk about how they moved every service to Kubernetes in a single year.", 700},
         {"slt", "filler", "She says the hardest part was not the technology, it was the people.", 700},
         {"slt", "filler", "If you only remember one thing, remember that Zalando did it with a team of twelve.", 700}},
        episode);
    ASSERT_TRUE(tl.ok()) << tl.status().ToString();

    const auto plain = RunPodpromo({"process", episode.string(), "--json", "--clips", "1"});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    const std::string without = TranscriptText(plain);
    EXPECT_EQ(Count(without, "zalando") + Count(without, "kubernetes"), 0) << without;

    const auto hinted =
        RunPodpromo({"process", episode.string(), "--json", "--clips", "1", "--terms", "Kubernetes, Zalando"});
    ASSERT_EQ(hinted.exit_code, 0) << hinted.err;
    const std::string with = TranscriptText(hinted);
    EXPECT_GE(Count(with, "zalando"), 1) << with;
    EXPECT_GE(Count(with, "kubernetes"), 1) << with;
    EXPECT_GE(Count(with, "zalando") + Count(with, "kubernetes"), 3) << with;

    // The show's name (here from the environment, as the service passes it) is a hint too.
    setenv("SHOW_NAME", "Zalando Engineering", 1);
    const auto show = RunPodpromo({"process", episode.string(), "--json", "--clips", "1"});
    unsetenv("SHOW_NAME");
    ASSERT_EQ(show.exit_code, 0) << show.err;
    EXPECT_GE(Count(TranscriptText(show), "zalando"), 1) << TranscriptText(show);
}

}  // namespace
}  // namespace podpromo::testing
