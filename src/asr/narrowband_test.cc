// Narrowband speech: found where an 8 kHz line cut it and nowhere else, its upper band predicted close to what
// the same voice has at 16 kHz, and recognised with fewer errors. Speech is made with flite at test time;
// the kal voices (8 kHz kal and its 16 kHz twin kal16) were not used to learn the extension.
#include "podpromo/asr/narrowband.h"

#include <gtest/gtest.h>

#include <cmath>

#include "asr_eval.h"
#include "podpromo/core/subprocess.h"
#include "testsupport.h"

namespace podpromo {
namespace {

using testing::AddHiss;
using testing::SpeakLine;

const char* kSentence =
    "Every morning the small bakery on the corner sells fresh bread, warm croissants and strong coffee to the "
    "people walking past on their way to work, and by nine o'clock the shelves are nearly empty.";

// Log-mel frames of `voice` speaking `text` with the episodes' hiss.
Result<std::vector<MelFrame>> Frames(const std::string& voice, const std::string& text, bool through_8khz) {
    auto pcm = SpeakLine(voice, text, through_8khz);
    if (!pcm.ok()) return pcm.status();
    AddHiss(*pcm, 7);
    return RecogniserLogMel({}, pcm->samples);
}

double NarrowShare(const std::vector<MelFrame>& frames) {
    const auto narrow = FindNarrowbandFrames(frames);
    return static_cast<double>(std::count(narrow.begin(), narrow.end(), true)) / static_cast<double>(narrow.size());
}

class NarrowbandTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!ProgramExists("flite")) GTEST_SKIP() << "flite is not installed";
        if (!CheckPocketsphinxModel({}).ok()) GTEST_SKIP() << "the pocketsphinx model is not installed";
    }
};

TEST_F(NarrowbandTest, FindsSpeechCutAtFourKilohertzAndNothingElse) {
    // flite's kal speaks at 8 kHz; kal16 through an 8 kHz line is cut the same way.
    for (auto [voice, line] : {std::pair{"kal", false}, std::pair{"kal16", true}, std::pair{"slt", true}}) {
        auto f = Frames(voice, kSentence, line);
        ASSERT_TRUE(f.ok()) << f.status().ToString();
        EXPECT_GT(NarrowShare(*f), 0.9) << voice << (line ? " through 8 kHz" : "");
    }
    // Wideband voices, male and female, are left alone: not one frame.
    for (const char* voice : {"kal16", "rms", "slt", "awb"}) {
        auto f = Frames(voice, kSentence, false);
        ASSERT_TRUE(f.ok()) << f.status().ToString();
        EXPECT_EQ(NarrowShare(*f), 0.0) << voice;
    }
}

TEST_F(NarrowbandTest, DullButWidebandSpeechIsNotMistakenForALine) {
    // An old recording's top falls off gently (a second-order low-pass at 3 kHz, -12 dB per octave), unlike the
    // cliff an 8 kHz line leaves: it keeps its own upper band.
    auto pcm = SpeakLine("kal16", kSentence);
    ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
    testing::TempDir dir;
    testing::WriteWav(*pcm, dir / "in.wav");
    auto r = RunProcess({"ffmpeg", "-nostdin", "-loglevel", "error", "-i", (dir / "in.wav").string(), "-af",
                         "lowpass=f=3000:poles=2", "-f", "s16le", "-ar", "16000", "-ac", "1", "-"});
    ASSERT_TRUE(r.ok() && r->exit_code == 0);
    Pcm dull = testing::PcmFromS16le(r->out);
    AddHiss(dull, 7);
    auto f = RecogniserLogMel({}, dull.samples);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(NarrowShare(*f), 0.0);
}

TEST_F(NarrowbandTest, TheUpperBandComesBackCloseToTheVoiceAtSixteenKilohertz) {
    // kal16 speaks the sentence; the same speech is heard wideband and through an 8 kHz line. Every frame is kept so
    // the two line up. The line leaves the upper filters at the hiss, far under the voice; the predicted ones land
    // nearer the wideband truth, frame by frame and, above all, on average (what the recogniser's cepstra feel most).
    PocketsphinxConfig keep_all;
    keep_all.flags = {{"-remove_silence", "no"}};
    auto wide_pcm = SpeakLine("kal16", kSentence);
    auto line_pcm = SpeakLine("kal16", kSentence, true);
    ASSERT_TRUE(wide_pcm.ok() && line_pcm.ok());
    const size_t samples = std::min(line_pcm->samples.size(), wide_pcm->samples.size());
    wide_pcm->samples.resize(samples);
    line_pcm->samples.resize(samples);
    AddHiss(*wide_pcm, 3);
    AddHiss(*line_pcm, 3);
    auto wide = RecogniserLogMel(keep_all, wide_pcm->samples);
    auto narrow = RecogniserLogMel(keep_all, line_pcm->samples);
    ASSERT_TRUE(wide.ok() && narrow.ok());
    const size_t n = std::min(wide->size(), narrow->size());
    ASSERT_GT(n, 500u);
    std::vector<MelFrame> extended(narrow->begin(), narrow->begin() + static_cast<long>(n));
    EXPECT_EQ(ExtendBandwidth(extended, std::vector<bool>(n, true)), n);
    double before = 0, after = 0, bias_before = 0, bias_after = 0, lower_changed = 0;
    size_t speech = 0;
    for (size_t t = 0; t < n; ++t) {
        if ((*wide)[t][10] < 8.0) continue;  // speech frames only (the hiss sits near 6)
        ++speech;
        for (int b = kNarrowBands; b < kMelBands; ++b) {
            before += std::fabs((*narrow)[t][b] - (*wide)[t][b]);
            after += std::fabs(extended[t][b] - (*wide)[t][b]);
            bias_before += (*narrow)[t][b] - (*wide)[t][b];
            bias_after += extended[t][b] - (*wide)[t][b];
        }
        for (int b = 0; b < kNarrowBands; ++b) lower_changed += std::fabs(extended[t][b] - (*narrow)[t][b]);
    }
    ASSERT_GT(speech, 300u);
    const double bands = static_cast<double>(speech) * (kMelBands - kNarrowBands);
    std::cout << "upper-band error (natural log): line " << before / bands << " (bias " << bias_before / bands
              << "), extended " << after / bands << " (bias " << bias_after / bands << ")\n";
    EXPECT_LT(after, 0.9 * before);
    EXPECT_LT(std::fabs(bias_after), 0.5 * std::fabs(bias_before));
    EXPECT_EQ(lower_changed, 0.0) << "the band the line carries is left as it was";
}

TEST_F(NarrowbandTest, NoFramesAndAFewFramesAreHandled) {
    EXPECT_TRUE(FindNarrowbandFrames({}).empty());
    std::vector<MelFrame> none;
    EXPECT_EQ(ExtendBandwidth(none, {}), 0u);
    auto f = Frames("kal", "Yes.", false);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_FALSE(f->empty());
    EXPECT_GT(NarrowShare(*f), 0.9) << "a single word on a line, shorter than one window, is still found";
}

// `voice` speaking `text` (with the episodes' hiss) through the transcriber with the extension and without it, on
// one thread so the runs are comparable.
struct WithAndWithout {
    testing::Measured with, without;
};
Result<WithAndWithout> RecogniseBothWays(const std::string& voice, const std::string& text, unsigned hiss_seed) {
    auto pcm = SpeakLine(voice, text);
    if (!pcm.ok()) return pcm.status();
    AddHiss(*pcm, hiss_seed);
    testing::Recording r;
    r.name = voice;
    r.reference = text;
    r.pcm = *pcm;
    WithAndWithout out;
    for (bool extend : {true, false}) {
        PocketsphinxConfig config;
        config.extend_narrowband = extend;
        auto m = testing::MeasurePodpromo(r, config);
        if (!m.ok()) return m.status();
        (extend ? out.with : out.without) = *m;
    }
    return out;
}

TEST_F(NarrowbandTest, WidebandSpeechIsRecognisedExactlyAsBefore) {
    // Through the recogniser's own front end, unchanged spectra give the decoder the very cepstra it would have
    // computed itself: the same words.
    auto r = RecogniseBothWays("rms", kSentence, 5);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->with.hypothesis, r->without.hypothesis);
    EXPECT_LT(r->with.wer, 0.3) << r->with.hypothesis;  // words, not an empty or garbled pair
}

TEST_F(NarrowbandTest, NarrowbandSpeechIsRecognisedWithFewerErrors) {
    const std::string text = std::string(kSentence) +
                             " The committee postponed its decision until the auditors had checked every invoice from "
                             "the last three years. My brother moved to a village by the sea, where he repairs old "
                             "fishing boats and teaches sailing in the summer. Honestly, I think the hardest part of "
                             "running a business is saying no to customers you really like. The storm knocked down "
                             "power lines across the valley, and it took the crews four days to reach every farm. "
                             "What would you do if you found a wallet full of cash on the train?";
    auto r = RecogniseBothWays("kal", text, 9);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::cout << "kal WER: " << r->without.wer * 100 << "% as it is, " << r->with.wer * 100 << "% extended\n";
    // At least a sixth fewer errors on these isolated sentences (the business episode's kal lines, in the cli test
    // ProcessEpisodes.NoNarrowband..., go from ~39% to ~19%).
    EXPECT_LT(r->with.wer, 0.85 * r->without.wer);
    EXPECT_LT(r->with.wer, 0.30);
}

}  // namespace
}  // namespace podpromo
