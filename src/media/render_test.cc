#include "podpromo/media/render.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "podpromo/media/reframe.h"

namespace podpromo {
namespace {

std::vector<Word> Words(const std::vector<std::tuple<std::string, Ms, Ms>>& spec) {
    std::vector<Word> w;
    w.reserve(spec.size());
    for (const auto& [text, s, e] : spec) w.push_back({text, s, e, 1.0});
    return w;
}

struct Event {
    Ms start, end;
    std::string style, text;
};

Ms ParseAssTime(const std::string& t) {
    int h, m, s, cs;
    EXPECT_EQ(std::sscanf(t.c_str(), "%d:%d:%d.%d", &h, &m, &s, &cs), 4) << t;
    return ((h * 60 + m) * 60 + s) * 1000 + cs * 10;
}

std::vector<Event> Events(const std::string& ass) {
    std::vector<Event> out;
    static const std::regex line(R"(Dialogue: \d+,([^,]+),([^,]+),([^,]+),[^,]*,\d+,\d+,\d+,[^,]*,(.*))");
    std::istringstream in(ass);
    std::string l;
    while (std::getline(in, l)) {
        std::smatch m;
        if (std::regex_match(l, m, line)) out.push_back({ParseAssTime(m[1]), ParseAssTime(m[2]), m[3], m[4]});
    }
    return out;
}

TEST(RenderPresets, EveryPlatformHasItsFrame) {
    for (const char* p : {"tiktok", "shorts", "reels", "linkedin"}) {
        auto v = PresetFor(p, "9:16");
        ASSERT_TRUE(v.ok());
        EXPECT_EQ(v->width, 1080);
        EXPECT_EQ(v->height, 1920);
    }
    EXPECT_EQ(PresetFor("x")->width, 720);
    EXPECT_EQ(PresetFor("x")->height, 1280);
    EXPECT_EQ(PresetFor("linkedin", "1:1")->height, 1080);
    EXPECT_EQ(PresetFor("tiktok", "16:9")->width, 1920);
    EXPECT_EQ(PresetFor("reels", "4:5")->width, 1080);
    EXPECT_EQ(PresetFor("reels", "4:5")->height, 1350);
    EXPECT_EQ(PresetFor("x", "4:5")->height, 900);
    EXPECT_EQ(PresetFor("vine").status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(PresetFor("tiktok", "4:3").status().code(), StatusCode::kInvalidInput);
}

TEST(RenderPresets, SafeZoneKeepsClearOfTheAppChrome) {
    const SafeZone z = SafeZoneFor(*PresetFor("tiktok"));
    EXPECT_EQ(z.left, 180);
    EXPECT_EQ(z.right, 1080 - 180);
    EXPECT_EQ(z.top, 220);
    EXPECT_EQ(z.bottom, 1920 - 500);
    const SafeZone x = SafeZoneFor(*PresetFor("x"));
    EXPECT_EQ(x.left, 120);
    EXPECT_NEAR(x.bottom, 1280 - 333, 1);
}

TEST(CaptionStyles, NamedStylesAndOverrides) {
    EXPECT_EQ(StyleNames(), (std::vector<std::string>{"bold", "clean", "boxed"}));
    auto s = StyleByName("clean", "", "", "FF0000", 60);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->highlight, "FF0000");
    EXPECT_EQ(s->size, 60);
    EXPECT_FALSE(s->uppercase);
    EXPECT_EQ(StyleByName("comic").status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(StyleByName("bold", "", "red").status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(StyleByName("bold", "", "", "", 500).status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(StyleByName("bold", "Evil}{\\font").status().code(), StatusCode::kInvalidInput);
}

TEST(CaptionStyles, AShowsLookIsCheckedChoiceByChoice) {
    StyleChoice choice;
    choice.name = "boxed";
    choice.outline = 0;
    choice.position = "top";
    choice.uppercase = false;
    auto s = StyleFrom(choice);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->outline, 0);
    EXPECT_EQ(s->position, "top");
    EXPECT_FALSE(s->uppercase);
    EXPECT_EQ(StyleFrom(ChoiceOf(*s))->position, "top") << "a style's choices give it back";
    StyleChoice wide, negative, left, hash;
    wide.outline = kMaxOutline + 1;
    negative.outline = -2;
    left.position = "left";
    hash.color = "#FFFFFF";
    for (const StyleChoice& bad : {wide, negative, left, hash}) {
        EXPECT_EQ(StyleFrom(bad).status().code(), StatusCode::kInvalidInput);
    }
}

// The named ASS style line's fields ("Style: Caption,..." split at commas).
std::vector<std::string> StyleFields(const std::string& ass, const std::string& name) {
    const auto at = ass.find("Style: " + name + ",");
    if (at == std::string::npos) return {};
    std::vector<std::string> fields;
    std::istringstream line(ass.substr(at + 7, ass.find('\n', at) - at - 7));
    for (std::string f; std::getline(line, f, ',');) fields.push_back(f);
    return fields;
}

TEST(CaptionsAss, AShowsLookPlacesOutlinesAndCasesTheCaptions) {
    const auto preset = *PresetFor("tiktok");
    const auto w = Words({{"what", 1000, 1300}, {"if", 1350, 1500}});
    CaptionStyle style = *StyleByName("bold");
    // As made: bottom centre (alignment 2), above the safe zone's bottom, with the style's outline, upper case.
    const std::string plain = BuildCaptionsAss(w, preset, style, "A title", 3000);
    auto f = StyleFields(plain, "Caption");
    ASSERT_EQ(f.size(), 23u) << plain;
    EXPECT_EQ(f[18], "2");
    EXPECT_EQ(f[21], std::to_string(500 + 40));
    EXPECT_EQ(f[16], "6");
    EXPECT_NE(Events(plain)[1].text.find("WHAT"), std::string::npos);
    // At the top, under the title (which itself goes under a logo's room), thin-lined, as spoken.
    style.position = "top";
    style.outline = 2;
    style.uppercase = false;
    style.top_reserved = 150;
    const std::string top = BuildCaptionsAss(w, preset, style, "A title", 3000);
    f = StyleFields(top, "Caption");
    ASSERT_EQ(f.size(), 23u);
    EXPECT_EQ(f[18], "8");
    const auto title = StyleFields(top, "Title");
    ASSERT_EQ(title.size(), 23u);
    EXPECT_EQ(title[21], std::to_string(220 + 30 + 150)) << "the title under the logo";
    EXPECT_GT(std::stoi(f[21]), std::stoi(title[21]) + 2 * 60) << "the captions under a two-line title";
    EXPECT_LT(std::stoi(f[21]), 1920 / 2);
    EXPECT_EQ(f[16], "2");
    EXPECT_NE(Events(top)[1].text.find("what"), std::string::npos);
    style.position = "middle";
    EXPECT_EQ(StyleFields(BuildCaptionsAss(w, preset, style, "", 3000), "Caption")[18], "5");
}

TEST(CaptionGroups, OneToThreeWordsBrokenAtPausesAndSentenceEnds) {
    const auto w = Words({{"so", 0, 200},
                          {"here", 250, 500},
                          {"is", 550, 700},
                          {"the", 750, 900},  // fourth word: a new group
                          {"thing.", 950, 1300},
                          {"Then", 1350, 1600},       // after a sentence end: a new group
                          {"silence", 3000, 3500}});  // after a long pause: a new group
    const auto g = GroupWords(w);
    ASSERT_EQ(g.size(), 4u);
    for (const auto& x : g) {
        EXPECT_GE(x.last - x.first, 1u);
        EXPECT_LE(x.last - x.first, 3u);
    }
    EXPECT_EQ(g[0].last, 3u);
    EXPECT_EQ(g[1].first, 3u);
    EXPECT_EQ(g[2].first, 5u);
    EXPECT_EQ(g[3].first, 6u);
    EXPECT_EQ(g[0].end_ms, g[1].start_ms) << "a short gap keeps the caption up";
    EXPECT_EQ(g[2].end_ms, 1600) << "a long pause clears the screen";
}

TEST(CaptionsAss, HighlightsTheSpokenWordOnlyWhileItIsSpoken) {
    const auto w = Words({{"what", 1000, 1300}, {"if", 1350, 1500}, {"money", 1550, 2000}});
    const auto style = *StyleByName("bold");
    const std::string ass = BuildCaptionsAss(w, *PresetFor("tiktok"), style, "A title", 5000);
    const auto ev = Events(ass);
    ASSERT_EQ(ev.size(), 4u) << ass;
    EXPECT_EQ(ev[0].style, "Title");
    EXPECT_EQ(ev[0].start, 0);
    EXPECT_EQ(ev[0].end, 5000);
    const std::string hl = "{\\c&H0000D4FF&}";
    for (size_t i = 1; i < ev.size(); ++i) {
        EXPECT_EQ(ev[i].style, "Caption");
        EXPECT_EQ(ev[i].start, w[i - 1].start_ms) << "no caption before its word";
        // The group is on screen with exactly this word highlighted (upper case for "bold").
        std::string upper = w[i - 1].text;
        for (auto& c : upper) c = static_cast<char>(std::toupper(c));
        EXPECT_NE(ev[i].text.find(hl + upper + "{\\c}"), std::string::npos) << ev[i].text;
        EXPECT_EQ(ev[i].text.find(hl, ev[i].text.find(hl) + 1), std::string::npos) << "one word highlighted";
    }
    EXPECT_EQ(ev[1].end, ev[2].start);
}

TEST(CaptionsAss, LongWordsShrinkToFitTheSafeZone) {
    const auto preset = *PresetFor("tiktok");
    const auto style = *StyleByName("bold");
    const auto w = Words({{"antidisestablishmentarianism", 0, 900}, {"1,234,567,890", 1000, 2000}});
    const auto ev = Events(BuildCaptionsAss(w, preset, style, "", 3000));
    ASSERT_EQ(ev.size(), 2u);
    const SafeZone z = SafeZoneFor(preset);
    for (size_t i = 0; i < ev.size(); ++i) {
        std::smatch m;
        ASSERT_TRUE(std::regex_search(ev[i].text, m, std::regex(R"(\\fs(\d+))"))) << ev[i].text;
        const int fs = std::stoi(m[1]);
        EXPECT_LT(fs, style.size);
        // At the style's widest average advance the word still fits between the side margins.
        EXPECT_LE(static_cast<double>(w[i].text.size()) * 0.74 * fs, z.right - z.left) << w[i].text;
    }
    // Hostile text cannot inject override tags.
    const auto evil = Events(BuildCaptionsAss(Words({{"{\\fs400}x", 0, 500}}), preset, style, "", 1000));
    ASSERT_EQ(evil.size(), 1u);
    EXPECT_EQ(evil[0].text.find("\\fs400"), std::string::npos) << evil[0].text;
}

// A face of `size` px centred at `cx` on a 1280×720 frame.
FaceSample Sample(Ms t, const std::vector<double>& centres, double size = 160) {
    FaceSample s{t, {}};
    for (double cx : centres) s.faces.push_back({cx - size / 2, 200, size, size});
    return s;
}

TEST(Reframe, TheCropFollowsAMovingFace) {
    std::vector<FaceSample> samples;
    samples.reserve(41);
    for (int i = 0; i <= 40; ++i) samples.push_back(Sample(i * 500, {200.0 + i * 22.0}));  // 200 → 1080 px in 20 s
    const CropPlan plan = PlanCrop(samples, 1280, 720, 1080, 1920);
    ASSERT_EQ(plan.mode, "track");
    EXPECT_EQ(plan.crop_h, 720);
    EXPECT_EQ(plan.crop_w, 406);
    for (Ms t : {2000, 10000, 19000}) {
        const double face = 200.0 + t / 500.0 * 22.0;
        const double centre = plan.XAt(t, 1280) + plan.crop_w / 2.0;
        EXPECT_NEAR(centre, std::clamp(face, 203.0, 1077.0), plan.crop_w * 0.25) << "at " << t << " ms";
    }
    for (size_t i = 1; i < plan.keys.size(); ++i) EXPECT_GE(plan.keys[i].x, plan.keys[i - 1].x) << "never back";
    const std::string expr = CropXExpression(plan, 1280);
    EXPECT_EQ(expr.find("if(lt(t,"), 0u);
}

TEST(Reframe, HeadBobAndDetectorJitterDoNotMoveTheFrame) {
    std::vector<FaceSample> samples;
    for (int i = 0; i < 60; ++i) {
        if (i % 7 == 3) {
            samples.push_back(Sample(i * 500, {}));  // missed detection
        } else if (i == 20) {
            samples.push_back(Sample(i * 500, {1100}));  // one false detection far away
        } else {
            samples.push_back(Sample(i * 500, {640.0 + (i % 2 ? 25 : -25)}));
        }
    }
    const CropPlan plan = PlanCrop(samples, 1280, 720, 1080, 1920);
    ASSERT_EQ(plan.mode, "track");
    EXPECT_EQ(plan.keys.size(), 2u) << "a still frame";
    EXPECT_NEAR(plan.XAt(15000, 1280) + plan.crop_w / 2.0, 640, 30);
}

TEST(Reframe, TwoPeopleFarApartNeverPingPong) {
    // Both faces seen: too far apart for one crop.
    std::vector<FaceSample> both, turns;
    both.reserve(40);
    turns.reserve(40);
    for (int i = 0; i < 40; ++i) both.push_back(Sample(i * 500, {250, 1030}));
    EXPECT_EQ(PlanCrop(both, 1280, 720, 1080, 1920).mode, "fit");
    // The detector catches one, then the other, turn by turn.
    for (int i = 0; i < 40; ++i) turns.push_back(Sample(i * 500, {(i / 3) % 2 ? 250.0 : 1030.0}));
    EXPECT_EQ(PlanCrop(turns, 1280, 720, 1080, 1920).mode, "fit");
    // Two people side by side fit one crop: it centres between them.
    std::vector<FaceSample> close;
    close.reserve(40);
    for (int i = 0; i < 40; ++i) close.push_back(Sample(i * 500, {560, 720}, 120));
    const CropPlan p = PlanCrop(close, 1280, 720, 1080, 1920);
    ASSERT_EQ(p.mode, "track");
    EXPECT_NEAR(p.XAt(5000, 1280) + p.crop_w / 2.0, 640, 2);
}

TEST(Reframe, NoFaceMeansACentreCropAndANarrowSourceIsFitted) {
    std::vector<FaceSample> empty;
    empty.reserve(20);
    for (int i = 0; i < 20; ++i) empty.push_back(Sample(i * 500, {}));
    const CropPlan c = PlanCrop(empty, 1280, 720, 1080, 1920);
    EXPECT_EQ(c.mode, "centre");
    EXPECT_NEAR(c.XAt(1000, 1280), (1280 - c.crop_w) / 2.0, 0.5);
    EXPECT_EQ(PlanCrop(empty, 720, 1280, 1080, 1920).mode, "fit") << "already portrait";
}

// The ffmpeg command of a clip, argument by argument (one per line), held against a reviewed copy: a change to
// the command shows up here as a diff to review, before any render runs.
std::string Joined(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) out += a + "\n";
    return out;
}

RenderCommand GoldenCommand() {
    RenderCommand c;
    c.preset = {"tiktok", "9:16", 1080, 1920};
    c.start_ms = 61'250;
    c.end_ms = 91'000;
    c.source_input = {"-f", "wav", "-i", "file:/data/ep 1/source.wav"};
    c.loudness = "aresample=48000,volume=3.50dB,alimiter=limit=0.79:attack=2:release=50:level=false";
    c.captions = "/tmp/render-x/captions.ass";
    c.video_part = "/data/out/.clip_01.mp4.part";
    return c;
}

TEST(RenderCommand, AnAudiogramOnAGradient) {
    const std::string golden = R"(ffmpeg
-nostdin
-hide_banner
-loglevel
error
-y
-ss
61.250
-t
29.750
-f
wav
-i
file:/data/ep 1/source.wav
-filter_complex
[0:a]afade=t=in:st=0:d=0.05,afade=t=out:st=29.600:d=0.15,aresample=48000,volume=3.50dB,alimiter=limit=0.79:attack=2:release=50:level=false,aformat=sample_fmts=fltp:channel_layouts=stereo,asplit=2[aout][awave];gradients=s=1080x1920:c0=0x1B1F3B:c1=0x4A2C6F:x0=0:y0=0:x1=1079:y1=1919:n=2:speed=0.00001:r=30,trim=end_frame=1,format=yuv420p,loop=loop=-1:size=1,setpts=N/30/TB[bg];[awave]aresample=21600,showwaves=s=720x360:n=1:mode=cline:colors=0xE8F0FF@0.9:scale=sqrt,format=yuva420p[wave];[bg][wave]overlay=180:660:shortest=1:format=yuv420[base];[base]ass=filename='/tmp/render-x/captions.ass',format=yuv420p[vout]
-map
[vout]
-map
[aout]
-c:v
libx264
-preset
veryfast
-crf
21
-pix_fmt
yuv420p
-r
30
-g
60
-c:a
aac
-b:a
160k
-movflags
+faststart
-t
29.750
-f
mp4
file:/data/out/.clip_01.mp4.part
)";
    EXPECT_EQ(Joined(BuildRenderCommand(GoldenCommand())), golden);
}

TEST(RenderCommand, AnAudiogramWithACoverAnAudioCutAndAThumbnail) {
    RenderCommand c = GoldenCommand();
    c.cover_input = {"-i", "file:/data/ep 1/cover.jpg"};
    c.audio_part = "/data/out/.clip_01.m4a.part";
    c.thumbnail_part = "/data/out/.clip_01.jpg.part";
    c.thumbnail_at_ms = 1'500;
    // On 1080×1920 the safe zone is 720×1200 from (180, 220): the cover takes 40% of its height (480 px, centred,
    // a quarter down), the waveform 144 px (12%) below it.
    const std::string golden = R"(ffmpeg
-nostdin
-hide_banner
-loglevel
error
-y
-ss
61.250
-t
29.750
-f
wav
-i
file:/data/ep 1/source.wav
-i
file:/data/ep 1/cover.jpg
-filter_complex
[0:a]afade=t=in:st=0:d=0.05,afade=t=out:st=29.600:d=0.15,aresample=48000,volume=3.50dB,alimiter=limit=0.79:attack=2:release=50:level=false,aformat=sample_fmts=fltp:channel_layouts=stereo,asplit=3[aout][acut][awave];[1:v:0]split[cv1][cv2];[cv1]scale=134:240:force_original_aspect_ratio=increase,crop=134:240,boxblur=6,eq=brightness=-0.25,scale=1080:1920,setsar=1,format=yuv420p[cbg];[cv2]scale=480:480:force_original_aspect_ratio=increase,crop=480:480,setsar=1,format=yuv420p[cfg];[cbg][cfg]overlay=300:520,trim=end_frame=1,loop=loop=-1:size=1,setpts=N/30/TB[bg];[awave]aresample=21600,showwaves=s=720x144:n=1:mode=cline:colors=0xE8F0FF@0.9:scale=sqrt,format=yuva420p[wave];[bg][wave]overlay=180:1030:shortest=1:format=yuv420[base];[base]ass=filename='/tmp/render-x/captions.ass',format=yuv420p,split[vout][vth];[vth]trim=start=1.500,scale=540:-2[thumb]
-map
[vout]
-map
[aout]
-c:v
libx264
-preset
veryfast
-crf
21
-pix_fmt
yuv420p
-r
30
-g
60
-c:a
aac
-b:a
160k
-movflags
+faststart
-t
29.750
-f
mp4
file:/data/out/.clip_01.mp4.part
-map
[acut]
-c:a
aac
-b:a
160k
-movflags
+faststart
-t
29.750
-f
mp4
file:/data/out/.clip_01.m4a.part
-map
[thumb]
-frames:v
1
-q:v
3
-update
1
-f
image2
file:/data/out/.clip_01.jpg.part
)";
    EXPECT_EQ(Joined(BuildRenderCommand(c)), golden);
}

TEST(RenderCommand, AShowsLogoAndBackgroundColour) {
    RenderCommand c = GoldenCommand();
    c.background = "336699";
    c.logo_input = {"-f", "png_pipe", "-i", "file:/data/shows/show_1/logo.png"};
    c.logo_side = 130;
    const auto argv = BuildRenderCommand(c);
    const std::string all = Joined(argv);
    EXPECT_NE(all.find("-i\nfile:/data/shows/show_1/logo.png\n"), std::string::npos) << all;
    const auto graph = std::find(argv.begin(), argv.end(), "-filter_complex");
    ASSERT_NE(graph, argv.end());
    const std::string& g = *(graph + 1);
    EXPECT_NE(g.find("c0=0x336699:c1=0x112233"), std::string::npos) << "a gradient from the show's colour: " << g;
    EXPECT_NE(g.find("[1:v:0]scale=130:130:force_original_aspect_ratio=decrease"), std::string::npos) << g;
    EXPECT_NE(g.find("overlay=x=900-w:y=250"), std::string::npos) << "at the safe zone's top right: " << g;
    c.cover_input = {"-f", "jpeg_pipe", "-i", "file:/data/cover.jpg"};
    const auto with_cover = BuildRenderCommand(c);
    EXPECT_NE((*(std::find(with_cover.begin(), with_cover.end(), "-filter_complex") + 1)).find("[2:v:0]scale=130"),
              std::string::npos)
        << "the logo is the input after the cover";
}

TEST(RenderCommand, AVideoReframedOrFitted) {
    RenderCommand c = GoldenCommand();
    c.src_width = 1920;
    CropPlan centre;
    centre.mode = "centre";
    centre.crop_w = 608;
    centre.crop_h = 1080;
    c.crop = centre;
    const std::string graph = BuildRenderCommand(c)[15];
    EXPECT_EQ(graph,
              "[0:a]afade=t=in:st=0:d=0.05,afade=t=out:st=29.600:d=0.15,aresample=48000,volume=3.50dB,alimiter=limit="
              "0.79:attack=2:release=50:level=false,aformat=sample_fmts=fltp:channel_layouts=stereo[aout];[0:v]fps=30,"
              "crop=w=608:h=1080:x='656.0':y=0,scale=1080:1920,setsar=1,format=yuv420p[base];[base]ass=filename='/tmp/"
              "render-x/captions.ass',format=yuv420p[vout]");
    CropPlan fit;
    fit.mode = "fit";
    c.crop = fit;
    EXPECT_EQ(BuildRenderCommand(c)[15],
              "[0:a]afade=t=in:st=0:d=0.05,afade=t=out:st=29.600:d=0.15,aresample=48000,volume=3.50dB,alimiter=limit="
              "0.79:attack=2:release=50:level=false,aformat=sample_fmts=fltp:channel_layouts=stereo[aout];[0:v]fps=30,"
              "split[v1][v2];[v1]scale=134:240:force_original_aspect_ratio=increase,crop=134:240,boxblur=8,eq="
              "brightness=-0.2,scale=1080:1920,setsar=1[vbg];[v2]scale=1080:1920:force_original_aspect_ratio=decrease,"
              "setsar=1[vfg];[vbg][vfg]overlay=(W-w)/2:(H-h)/2,format=yuv420p[base];[base]ass=filename='/tmp/"
              "render-x/captions.ass',format=yuv420p[vout]");
}

}  // namespace
}  // namespace podpromo
