#include "podpromo/app/exports.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "podpromo/core/subprocess.h"
#include "testsupport.h"

namespace podpromo {
namespace {
using nlohmann::json;

// Two moments of a 25 fps video episode, the second titled with characters XML and a line break would trip on.
ExportSource VideoSource() {
    return {.title = "Episode 12: Founders",
            .file_name = "Founder Stories #12.mp4",
            .duration_ms = 3'600'000,
            .has_video = true,
            .width = 1920,
            .height = 1080,
            .rate = {25, 1}};
}
std::vector<ExportClip> Clips() {
    return {{"c1", "Why we quit", "a story with its payoff", 12'200, 41'520},
            {"c2", "Ten <percent> & \"more\"\nof it", "a surprising fact", 3'723'000, 3'751'000}};
}

int64_t FramesOf(const std::string& tc, int base) {
    int h = 0, m = 0, s = 0, f = 0;
    EXPECT_EQ(std::sscanf(tc.c_str(), "%d:%d:%d:%d", &h, &m, &s, &f), 4) << tc;
    return ((int64_t{h} * 60 + m) * 60 + s) * base + f;
}

TEST(Exports, FrameRatesAndTimecodes) {
    EXPECT_EQ(StandardRate(29.97), (FrameRate{30000, 1001}));
    EXPECT_EQ(StandardRate(25.0), (FrameRate{25, 1}));
    EXPECT_EQ(StandardRate(23.98), (FrameRate{24000, 1001}));
    EXPECT_EQ(StandardRate(0), (FrameRate{30, 1})) << "audio alone: a 30 fps timeline";
    EXPECT_EQ(StandardRate(std::nan("")), (FrameRate{30, 1}));
    EXPECT_EQ(FramesAt(12'200, {25, 1}), 305);
    EXPECT_EQ(FramesAt(1'001, {30000, 1001}), 30) << "29.97 counts a frame every 1001/30000 s";
    EXPECT_EQ(Timecode(FramesAt(3'723'500, {30, 1}), {30, 1}), "01:02:03:15");
    EXPECT_EQ(Timecode(0, {30000, 1001}), "00:00:00:00");
    EXPECT_EQ(Timecode(30 * 3600, {30000, 1001}), "01:00:00:00") << "non-drop: frames counted in thirties";
}

// Bar: the EDL parses as CMX3600 and carries the right source times, with the record side back to back from 1:00:00.
TEST(Exports, EdlEventsCarryTheSourceTimesBackToBack) {
    const std::vector<ExportClip> clips = Clips();
    const std::string edl = ExportClips(ExportFormat::kEdl, VideoSource(), clips);
    std::istringstream in(edl);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "TITLE: Episode 12: Founders");
    std::getline(in, line);
    EXPECT_EQ(line, "FCM: NON-DROP FRAME");
    const std::regex event(R"(^(\d{3})  (\S+) +(\S+) +C +(\S+) (\S+) (\S+) (\S+)$)");
    std::vector<std::smatch> events;
    std::vector<std::string> lines, names;
    while (std::getline(in, line)) lines.push_back(line);
    int64_t record = 3600 * 25;
    size_t n = 0;
    for (const auto& l : lines) {
        std::smatch m;
        if (l.rfind("* FROM CLIP NAME: ", 0) == 0) names.push_back(l.substr(18));
        if (l.rfind("* ", 0) == 0 || l.empty()) continue;
        ASSERT_TRUE(std::regex_match(l, m, event)) << "not an event line: " << l;
        ASSERT_LT(n, clips.size());
        const ExportClip& c = clips[n++];
        EXPECT_EQ(std::stoi(m[1]), static_cast<int>(n));
        EXPECT_EQ(m[2], "AX");
        EXPECT_EQ(m[3], "AA/V");
        EXPECT_EQ(FramesOf(m[4], 25), FramesAt(c.start_ms, {25, 1}));
        EXPECT_EQ(FramesOf(m[5], 25), FramesAt(c.end_ms, {25, 1}));
        EXPECT_EQ(FramesOf(m[6], 25), record);
        record += FramesOf(m[5], 25) - FramesOf(m[4], 25);
        EXPECT_EQ(FramesOf(m[7], 25), record);
    }
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(names, (std::vector<std::string>{"Founder Stories #12.mp4", "Founder Stories #12.mp4"}));
    EXPECT_NE(edl.find("* CLIP: Ten <percent> & \"more\" of it\n"), std::string::npos) << "one line per comment";
    EXPECT_NE(edl.find("* WHY: a story with its payoff\n"), std::string::npos);
    // Audio alone: the audio tracks only.
    ExportSource audio = VideoSource();
    audio.has_video = false;
    EXPECT_NE(ExportClips(ExportFormat::kEdl, audio, clips).find("001  AX       AA    C        "), std::string::npos);
}

// Bar: the FCPXML is well-formed XML with frame-exact rational times.
TEST(Exports, FcpxmlIsWellFormedWithFrameExactTimes) {
    ExportSource src = VideoSource();
    src.rate = {30000, 1001};
    const std::string xml = ExportClips(ExportFormat::kFcpxml, src, Clips());
    testing::TempDir dir;
    std::ofstream(dir / "clips.fcpxml") << xml;
    auto lint = RunProcess({"xmllint", "--noout", (dir / "clips.fcpxml").string()});
    ASSERT_TRUE(lint.ok()) << lint.status().ToString();
    EXPECT_EQ(lint->exit_code, 0) << lint->err;
    EXPECT_NE(xml.find("<fcpxml version=\"1.9\">"), std::string::npos);
    EXPECT_NE(xml.find("frameDuration=\"1001/30000s\""), std::string::npos);
    EXPECT_NE(xml.find("src=\"Founder%20Stories%20%2312.mp4\""), std::string::npos) << "relative to the document";
    const std::regex clip(
        R"re(<asset-clip ref="r2" name="([^"]*)" offset="([^"]*)" start="([^"]*)" duration="([^"]*)")re");
    std::vector<std::array<std::string, 4>> found;
    for (auto it = std::sregex_iterator(xml.begin(), xml.end(), clip); it != std::sregex_iterator(); ++it) {
        found.push_back({(*it)[1], (*it)[2], (*it)[3], (*it)[4]});
    }
    ASSERT_EQ(found.size(), 2u);
    const FrameRate r = src.rate;
    const int64_t in0 = FramesAt(12'200, r), out0 = FramesAt(41'520, r), in1 = FramesAt(3'723'000, r);
    EXPECT_EQ(found[0][1], "0s");
    EXPECT_EQ(found[0][2], std::to_string(in0 * 1001) + "/30000s");
    EXPECT_EQ(found[0][3], std::to_string((out0 - in0) * 1001) + "/30000s");
    EXPECT_EQ(found[1][1], found[0][3]) << "the second starts where the first ends";
    EXPECT_EQ(found[1][2], std::to_string(in1 * 1001) + "/30000s");
    EXPECT_EQ(found[1][0], "Ten &lt;percent&gt; &amp; &quot;more&quot; of it");
}

// Bar: the OpenTimelineIO document parses and each clip's source range is its time in the episode.
TEST(Exports, OtioTimelineHasTheClipsSourceRanges) {
    for (const bool video : {true, false}) {
        ExportSource src = VideoSource();
        src.has_video = video;
        if (!video) src.rate = StandardRate(0);
        const json t = json::parse(ExportClips(ExportFormat::kOtio, src, Clips()));
        EXPECT_EQ(t["OTIO_SCHEMA"], "Timeline.1");
        const json& tracks = t["tracks"]["children"];
        ASSERT_EQ(tracks.size(), video ? 2u : 1u);
        EXPECT_EQ(tracks.back()["kind"], "Audio");
        for (const json& track : tracks) {
            ASSERT_EQ(track["children"].size(), 2u);
            for (size_t i = 0; i < 2; ++i) {
                const json& c = track["children"][i];
                const json& start = c["source_range"]["start_time"];
                const json& dur = c["source_range"]["duration"];
                const double rate = start["rate"];
                EXPECT_EQ(rate, video ? 25.0 : 30.0);
                EXPECT_NEAR(start["value"].get<double>() / rate, Clips()[i].start_ms / 1000.0, 0.5 / rate);
                EXPECT_NEAR((start["value"].get<double>() + dur["value"].get<double>()) / rate,
                            Clips()[i].end_ms / 1000.0, 0.5 / rate);
                EXPECT_EQ(c["media_reference"]["target_url"], "Founder%20Stories%20%2312.mp4");
                EXPECT_EQ(c["metadata"]["podpromo"]["clip_id"], Clips()[i].id);
            }
        }
    }
}

TEST(Exports, FormatsByName) {
    EXPECT_EQ(ParseExportFormat("edl"), ExportFormat::kEdl);
    EXPECT_EQ(ParseExportFormat("fcpxml"), ExportFormat::kFcpxml);
    EXPECT_EQ(ParseExportFormat("otio"), ExportFormat::kOtio);
    EXPECT_FALSE(ParseExportFormat("EDL; rm -rf /"));
    EXPECT_FALSE(ParseExportFormat(""));
}

}  // namespace
}  // namespace podpromo
