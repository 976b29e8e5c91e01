// Rendering clips people can post, checked the way a person posting them would: probe every output
// (codecs, pixel format, faststart, frame size, duration, loudness), look at frames for the captions, and
// watch the reframed crop follow a face.
#include "podpromo/media/render.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <sstream>
#include <thread>

#include "podpromo/core/subprocess.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/reframe.h"
#include "testsupport.h"

namespace podpromo::testing {
namespace {
namespace fs = std::filesystem;

// 30 s of synthesised speech with words spread over each spoken line.
class RenderClips : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        const std::vector<ScriptLine> script = {
            {"slt", "strong", "What if I told you the biggest mistake founders make is hiring too fast.", 500},
            {"rms", "filler", "Most of them learn it the hard way, after the money is already gone.", 500},
            {"slt", "strong", "We lost two million dollars in nine months before we understood that.", 500},
            {"rms", "filler", "So the lesson is simple: hire slowly and fire the wrong people quickly.", 500},
            {"slt", "strong", "That is why our second company became profitable in its first year.", 500},
        };
        speech_ = *dir_ / "speech.wav";
        auto timeline = SynthesizeEpisode(script, speech_);
        ASSERT_TRUE(timeline.ok()) << timeline.status().ToString();
        for (const auto& l : *timeline) {
            std::istringstream in(l.line.text);
            std::vector<std::string> ws;
            for (std::string w; in >> w;) ws.push_back(w);
            const double step = static_cast<double>(l.end_ms - l.start_ms) / static_cast<double>(ws.size());
            for (size_t i = 0; i < ws.size(); ++i) {
                words_.push_back({ws[i], l.start_ms + static_cast<Ms>(step * static_cast<double>(i)),
                                  l.start_ms + static_cast<Ms>(step * (static_cast<double>(i) + 0.9)), 1.0});
            }
        }
        duration_ = timeline->back().end_ms;
    }
    static void TearDownTestSuite() { delete dir_; }

    static RenderRequest Request(const std::string& platform, const std::string& aspect, Ms start, Ms end) {
        RenderRequest rq;
        rq.source = speech_;
        rq.start_ms = start;
        rq.end_ms = end;
        rq.words = words_;
        rq.preset = *PresetFor(platform, aspect);
        rq.style = *StyleByName("bold");
        rq.title = "The biggest mistake founders make";
        return rq;
    }

    static inline TempDir* dir_ = nullptr;
    static inline fs::path speech_;
    static inline std::vector<Word> words_;
    static inline Ms duration_ = 0;
};

// Pixels of the highlight colour (FFD400: strong red and green, little blue).
struct Highlight {
    size_t count = 0, outside = 0;
};
Highlight CountHighlight(const std::string& rgb, int width, int height, const SafeZone& z) {
    Highlight h;
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const auto* px =
                reinterpret_cast<const unsigned char*>(rgb.data()) + (static_cast<size_t>(y) * width + x) * 3;
            if (IsSpokenWordColour(px)) {
                ++h.count;
                if (x < z.left || x >= z.right || y < z.top || y >= z.bottom) ++h.outside;
            }
        }
    }
    return h;
}

TEST_F(RenderClips, TikTokAudiogramPassesEveryProbeWithCaptionsInTheSafeZone) {
    const Ms start = words_.front().start_ms - 700, end = start + 20000;
    auto rq = Request("tiktok", "9:16", start, end);
    const RenderOutputs outs{*dir_ / "tiktok.mp4", *dir_ / "tiktok.m4a", *dir_ / "tiktok.jpg"};
    auto report = RenderClip(rq, outs);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->mode, "audiogram");
    ExpectPostableVideo(outs.video, 1080, 1920, 20.0);
    auto audio = ProbeMedia(outs.audio);
    ASSERT_TRUE(audio.ok());
    EXPECT_EQ(audio->audio_codec, "aac");
    EXPECT_NEAR(audio->duration_ms / 1000.0, 20.0, 0.1);
    const std::string thumb = ReadFile(outs.thumbnail);
    ASSERT_GT(thumb.size(), 1000u);
    EXPECT_EQ(static_cast<unsigned char>(thumb[0]), 0xFF) << "a JPEG";
    EXPECT_EQ(static_cast<unsigned char>(thumb[1]), 0xD8);

    const SafeZone z = SafeZoneFor(rq.preset);
    // Before the first word: no caption. While the second word is spoken: it is highlighted, inside the zone.
    auto before = FrameRgb(outs.video, 0.3, 1080, 1920);
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    EXPECT_EQ(CountHighlight(*before, 1080, 1920, z).count, 0u);
    const double at = static_cast<double>(words_[1].start_ms - start + 100) / 1000.0;
    auto during = FrameRgb(outs.video, at, 1080, 1920);
    ASSERT_TRUE(during.ok());
    const Highlight h = CountHighlight(*during, 1080, 1920, z);
    EXPECT_GT(h.count, 400u) << "the spoken word is drawn in the highlight colour";
    EXPECT_EQ(h.outside, 0u) << "no caption pixel outside the safe zone";
    for (const auto& e : fs::directory_iterator(dir_->path())) {
        EXPECT_NE(e.path().filename().string()[0], '.') << "left behind: " << e.path();
    }
}

// Boxed captions: the box behind a line is one even shade, with no darker seams where the highlighted word starts and
// ends. Measured along a row of the box's margin under the text (just below the highlighted word): the box's pixels
// there, away from any glyph, averaged in 16 px steps, are all one shade.
std::vector<double> BoxRowShades(const std::string& rgb, int width, int height) {
    const auto px = [&](int x, int y) {
        return reinterpret_cast<const unsigned char*>(rgb.data()) + (static_cast<size_t>(y) * width + x) * 3;
    };
    const auto luma = [](const unsigned char* p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; };
    int bottom = -1;
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) bottom = IsSpokenWordColour(px(x, y)) ? y : bottom;
    }
    std::vector<double> bins;
    if (bottom < 0 || bottom + 7 >= height) return bins;
    const int y = bottom + 7;
    std::vector<bool> near_text(width, false);
    for (int x = 0; x < width; ++x) {
        if (luma(px(x, y)) <= 90) continue;
        for (int d = -4; d <= 4; ++d) near_text[std::clamp(x + d, 0, width - 1)] = true;
    }
    // Only under the line's own extent (its glyphs in the rows above): beyond it is the background, which the box's
    // row must not be compared with.
    int left = width, right = 0;
    for (int yy = std::max(0, bottom - 60); yy <= bottom; ++yy) {
        for (int x = 0; x < width; ++x) {
            if (luma(px(x, yy)) > 90) left = std::min(left, x), right = std::max(right, x + 1);
        }
    }
    for (int from = left; from + 16 <= right; from += 16) {
        double sum = 0;
        int n = 0;
        for (int x = from; x < from + 16; ++x) {
            if (near_text[x] || luma(px(x, y)) >= 45) continue;  // the background is brighter than the box
            sum += luma(px(x, y));
            ++n;
        }
        if (n >= 12) bins.push_back(sum / n);
    }
    return bins;
}

TEST_F(RenderClips, BoxedCaptionsHaveNoSeamsAroundTheSpokenWord) {
    const Ms start = words_[10].start_ms - 300;
    auto rq = Request("tiktok", "9:16", start, start + 6000);
    rq.style = *StyleByName("boxed");
    ASSERT_TRUE(RenderClip(rq, {*dir_ / "boxed.mp4", {}, {}}).ok());
    size_t checked = 0;
    for (int w = 11; w <= 14; ++w) {
        auto frame =
            FrameRgb(*dir_ / "boxed.mp4", static_cast<double>(words_[w].start_ms - start + 120) / 1000.0, 1080, 1920);
        ASSERT_TRUE(frame.ok()) << frame.status().ToString();
        const std::vector<double> shades = BoxRowShades(*frame, 1080, 1920);
        if (shades.size() < 8) continue;
        ++checked;
        const auto [lo, hi] = std::minmax_element(shades.begin(), shades.end());
        EXPECT_LT(*hi - *lo, 6.0) << "word " << w << ": the box's shade varies along the line (" << *lo << " to " << *hi
                                  << ")";
    }
    EXPECT_GE(checked, 2u) << "a box under the spoken word was found";
}

// The editor's preview: one frame as the clip would show it, at half size, with the spoken word highlighted inside
// the safe zone; nothing else is written.
TEST_F(RenderClips, AStillPreviewShowsTheCaptionOfThatMoment) {
    const Ms start = words_.front().start_ms - 700;
    auto rq = Request("tiktok", "9:16", start, start + 20000);
    auto still = RenderStill(rq, words_[1].start_ms + 100);
    ASSERT_TRUE(still.ok()) << still.status().ToString();
    const fs::path jpg = *dir_ / "still.jpg";
    std::ofstream(jpg, std::ios::binary) << *still;
    auto size = ProbeImage(jpg);
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    EXPECT_EQ(size->width, 540);
    EXPECT_EQ(size->height, 960);
    auto rgb = FrameRgb(jpg, 0, 540, 960);
    ASSERT_TRUE(rgb.ok()) << rgb.status().ToString();
    SafeZone half = SafeZoneFor(rq.preset);
    half = {half.left / 2, half.top / 2, half.right / 2, half.bottom / 2};
    const Highlight h = CountHighlight(*rgb, 540, 960, half);
    EXPECT_GT(h.count, 100u) << "the word spoken then is drawn in the highlight colour";
    EXPECT_EQ(h.outside, 0u);
    auto before = RenderStill(rq, start + 100);
    ASSERT_TRUE(before.ok());
    std::ofstream(*dir_ / "before.jpg", std::ios::binary) << *before;
    EXPECT_EQ(CountHighlight(*FrameRgb(*dir_ / "before.jpg", 0, 540, 960), 540, 960, half).count, 0u)
        << "no caption before the first word";
}

// A show's look, as its still shows it: the audiogram on the show's colour, its logo at the safe zone's top right, the
// captions at the top (under the title, which is under the logo).
TEST_F(RenderClips, AShowsLookPutsItsLogoBackgroundAndCaptionsWhereItSays) {
    const fs::path logo = *dir_ / "logo.png";
    ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "color=c=0x00FF00:s=400x400", "-frames:v", "1", logo.string()}));
    ASSERT_TRUE(NormalizeLogo(logo).ok());
    const Ms start = words_.front().start_ms - 700;
    auto rq = Request("tiktok", "9:16", start, start + 20000);
    rq.logo = logo;
    rq.background = "204080";
    rq.style.position = "top";
    auto still = RenderStill(rq, words_[1].start_ms + 100);
    ASSERT_TRUE(still.ok()) << still.status().ToString();
    const fs::path jpg = *dir_ / "look.jpg";
    std::ofstream(jpg, std::ios::binary) << *still;
    auto rgb = FrameRgb(jpg, 0, 540, 960);
    ASSERT_TRUE(rgb.ok()) << rgb.status().ToString();
    const auto pixel = [&](int x, int y) {
        const auto* p = reinterpret_cast<const unsigned char*>(rgb->data() + (static_cast<size_t>(y) * 540 + x) * 3);
        return std::array<int, 3>{p[0], p[1], p[2]};
    };
    // (Half size: the safe zone's top right is at 450, 110; the logo's 130 px box is 65 here.)
    const auto green = pixel(450 - 30, 125 + 30);
    EXPECT_GT(green[1], 180) << "the logo";
    EXPECT_LT(green[0], 90);
    const auto corner = pixel(5, 5);
    EXPECT_NEAR(corner[0], 0x20, 24) << "the show's colour at the gradient's start";
    EXPECT_NEAR(corner[2], 0x80, 24);
    SafeZone upper = SafeZoneFor(rq.preset);
    upper = {upper.left / 2, upper.top / 2, upper.right / 2, 960 / 2};
    const Highlight h = CountHighlight(*rgb, 540, 960, upper);
    EXPECT_GT(h.count, 100u) << "the spoken word, in the frame's upper half";
}

// The frames besides 9:16: LinkedIn's square, and X's feed portrait (4:5) with its captions inside the safe zone.
TEST_F(RenderClips, LinkedInSquareAndXFeedPortraitHaveTheirSizes) {
    const Ms start = words_[10].start_ms - 300;
    auto square = Request("linkedin", "1:1", start, start + 12500);
    square.style = *StyleByName("boxed");
    auto r1 = RenderClip(square, {*dir_ / "linkedin.mp4", {}, {}});
    ASSERT_TRUE(r1.ok()) << r1.status().ToString();
    ExpectPostableVideo(*dir_ / "linkedin.mp4", 1080, 1080, 12.5);
    auto x = Request("x", "4:5", start, start + 12000);
    x.style = *StyleByName("clean", "", "", "FFD400");
    auto r2 = RenderClip(x, {*dir_ / "x.mp4", {}, {}});
    ASSERT_TRUE(r2.ok()) << r2.status().ToString();
    ExpectPostableVideo(*dir_ / "x.mp4", 720, 900, 12.0);
    const double at = static_cast<double>(words_[11].start_ms - start + 100) / 1000.0;
    auto frame = FrameRgb(*dir_ / "x.mp4", at, 720, 900);
    ASSERT_TRUE(frame.ok());
    const Highlight h = CountHighlight(*frame, 720, 900, SafeZoneFor(x.preset));
    EXPECT_GT(h.count, 500u);
    EXPECT_EQ(h.outside, 0u);
}

TEST_F(RenderClips, CoverArtAudiogramShowsTheCoverOverItsBlurredFill) {
    const fs::path cover = *dir_ / "cover.png";
    ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "color=c=0xE00000:s=800x800", "-frames:v", "1", cover.string()}));
    const Ms start = words_[5].start_ms - 300;
    auto rq = Request("linkedin", "1:1", start, start + 12000);
    rq.cover = cover;
    auto r = RenderClip(rq, {*dir_ / "cover.mp4", {}, {}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ExpectPostableVideo(*dir_ / "cover.mp4", 1080, 1080, 12.0);
    auto frame = FrameRgb(*dir_ / "cover.mp4", 1.0, 1080, 1080);
    ASSERT_TRUE(frame.ok());
    auto px = [&](int x, int y) {
        const auto* p = reinterpret_cast<const unsigned char*>(frame->data()) + (static_cast<size_t>(y) * 1080 + x) * 3;
        return std::array<int, 3>{p[0], p[1], p[2]};
    };
    const auto centre = px(540, 430), corner = px(20, 1060);
    EXPECT_GT(centre[0], 190) << "the cover itself, bright, above the waveform";
    EXPECT_LT(centre[1], 60);
    EXPECT_LT(corner[0], centre[0] - 30) << "the fill is the cover darkened";
    EXPECT_GT(corner[0], 80);
    EXPECT_LT(corner[1], 60);
}

TEST_F(RenderClips, AFailedOrCancelledRenderLeavesNothing) {
    TempDir out;
    // A source that is not media.
    auto bad = Request("tiktok", "9:16", 0, 12000);
    bad.source = out / "garbage.mp3";
    {
        std::ofstream f(bad.source);
        f << std::string(5000, 'x');
    }
    auto r = RenderClip(bad, {out / "a.mp4", out / "a.m4a", out / "a.jpg"});
    EXPECT_FALSE(r.ok());
    // Cancelled half way.
    CancelToken cancel;
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        cancel.Cancel();
    });
    auto c = RenderClip(Request("tiktok", "9:16", 0, 25000), {out / "b.mp4", out / "b.m4a", out / "b.jpg"}, &cancel);
    stopper.join();
    EXPECT_EQ(c.status().code(), StatusCode::kCancelled);
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(out.path())) left.push_back(e.path().filename().string());
    EXPECT_EQ(left, std::vector<std::string>{"garbage.mp3"});
}

TEST_F(RenderClips, VideoWithoutAFaceGetsACentreCrop) {
    const fs::path video = *dir_ / "card.mp4";
    ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=14", "-i", speech_.string(), "-t", "14",
                               "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", video.string()}));
    auto rq = Request("reels", "9:16", 500, 13000);
    rq.source = video;
    rq.has_video = true;
    rq.src_width = 1280;
    rq.src_height = 720;
    auto r = RenderClip(rq, {*dir_ / "card_out.mp4", {}, {}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->mode, "centre") << r->reframe_reason;
    ExpectPostableVideo(*dir_ / "card_out.mp4", 1080, 1920, 12.5);
}

// A real face (GRID corpus) carried across a wide frame: the portrait crop must keep it centred.
TEST_F(RenderClips, ReframedCropFollowsAMovingFace) {
    const fs::path data = SharedData();
    if (data.empty()) GTEST_SKIP() << "../shared/data is absent: no real face recording";
    const fs::path face = data / "video" / "grid_s2_swwp2s_talking_face_3s.mpg";
    const fs::path video = *dir_ / "moving_face.mp4";
    // The 360×288 face clip, looped and enlarged, slides from the left to the right of a 1280×720 frame.
    ASSERT_TRUE(FfmpegConvert({"-f",
                               "lavfi",
                               "-i",
                               "color=c=0x304050:s=1280x720:r=25:d=14",
                               "-stream_loop",
                               "-1",
                               "-i",
                               face.string(),
                               "-i",
                               speech_.string(),
                               "-filter_complex",
                               "[1:v]scale=450:360,setsar=1[f];[0:v][f]overlay=x='20+t*58':y=180:shortest=1[v]",
                               "-map",
                               "[v]",
                               "-map",
                               "2:a",
                               "-t",
                               "14",
                               "-c:v",
                               "libx264",
                               "-preset",
                               "ultrafast",
                               "-c:a",
                               "aac",
                               video.string()}));
    auto in_faces = DetectFaces(video, 1280, 720, 0, 14000, 1.0);
    ASSERT_TRUE(in_faces.ok()) << in_faces.status().ToString();
    size_t found = 0;
    for (const auto& s : *in_faces) found += !s.faces.empty();
    ASSERT_GT(found, in_faces->size() / 2) << "the cascade finds the face in the source";

    auto rq = Request("tiktok", "9:16", 0, 14000);
    rq.source = video;
    rq.has_video = true;
    rq.src_width = 1280;
    rq.src_height = 720;
    const fs::path out = *dir_ / "reframed.mp4";
    auto r = RenderClip(rq, {out, {}, {}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->mode, "track") << r->reframe_reason;
    ExpectPostableVideo(out, 1080, 1920, 14.0);
    // The face moved ~580 px in the source (more than the 406 px crop): a fixed crop would lose it. In the
    // output it stays near the middle at the start, the middle and the end.
    auto out_faces = DetectFaces(out, 1080, 1920, 0, 14000, 0.5);
    ASSERT_TRUE(out_faces.ok());
    size_t checked = 0;
    for (const auto& s : *out_faces) {
        if (s.t_ms < 1500 || s.faces.empty()) continue;
        ++checked;
        EXPECT_NEAR(s.faces.front().CentreX(), 540, 1080 * 0.25) << "at " << s.t_ms << " ms";
    }
    EXPECT_GE(checked, 4u);
}

}  // namespace
}  // namespace podpromo::testing
