// Probe, decode and audio features on audio made in the test.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "podpromo/media/audio_features.h"
#include "podpromo/media/decode.h"
#include "podpromo/media/pcm_source.h"
#include "podpromo/media/probe.h"
#include "testsupport.h"

namespace podpromo {
namespace {
namespace fs = std::filesystem;

// A voiced-like tone: 150 Hz with harmonics, amplitude `amp` (0..1), for `ms` milliseconds.
void AddTone(Pcm* pcm, double f0, double amp, Ms ms) {
    const size_t n = static_cast<size_t>(ms * pcm->sample_rate / 1000);
    const size_t base = pcm->samples.size();
    for (size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(base + i) / pcm->sample_rate;
        double v = 0;
        for (int h = 1; h <= 4; ++h) v += std::sin(2 * M_PI * f0 * h * t) / h;
        pcm->samples.push_back(static_cast<int16_t>(amp * 16000 * v));
    }
}
void AddSilence(Pcm* pcm, Ms ms) {
    pcm->samples.resize(pcm->samples.size() + static_cast<size_t>(ms * pcm->sample_rate / 1000), 0);
}

TEST(Probe, AcceptsAudioByContentWhateverTheName) {
    testing::TempDir dir;
    Pcm pcm;
    pcm.sample_rate = 44100;
    AddTone(&pcm, 150, 0.5, 2000);
    testing::WriteWav(pcm, dir / "sound.mp4");  // misleading extension
    auto info = ProbeMedia(dir / "sound.mp4");
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->format, "wav");
    EXPECT_TRUE(info->has_audio);
    EXPECT_FALSE(info->has_video);
    EXPECT_EQ(info->sample_rate, 44100);
    EXPECT_NEAR(static_cast<double>(info->duration_ms), 2000, 50);
}

TEST(Probe, RefusesEmptyRandomAndTextFiles) {
    testing::TempDir dir;
    std::ofstream(dir / "empty.mp3").close();
    {
        std::ofstream out(dir / "random.mp3", std::ios::binary);
        std::mt19937 rng(7);
        for (int i = 0; i < 200000; ++i) out.put(static_cast<char>(rng() & 0xff));
    }
    std::ofstream(dir / "text.wav") << "This is not audio at all, just some words in a text file.\n";
    for (const char* name : {"empty.mp3", "random.mp3", "text.wav"}) {
        auto info = ProbeMedia(dir / name);
        ASSERT_FALSE(info.ok()) << name;
        EXPECT_EQ(info.status().code(), StatusCode::kInvalidInput) << name;
        EXPECT_NE(info.status().message().find(name), std::string::npos) << info.status().message();
        EXPECT_EQ(info.status().message().find('\n'), std::string::npos);
    }
    EXPECT_EQ(ProbeMedia(dir / "absent.wav").status().code(), StatusCode::kNotFound);
}

TEST(Probe, PrintableNameEscapesControlCharacters) { EXPECT_EQ(PrintableName("/x/a\nb.mp3"), "a\\x0ab.mp3"); }

TEST(Decode, ResamplesToSixteenKilohertzMono) {
    testing::TempDir dir;
    Pcm pcm;
    pcm.sample_rate = 44100;
    AddTone(&pcm, 150, 0.5, 3000);
    testing::WriteWav(pcm, dir / "a.wav");
    auto info = ProbeMedia(dir / "a.wav");
    ASSERT_TRUE(info.ok());
    double last = -1;
    auto out = DecodeToPcm(dir / "a.wav", *info, [&](Stage, double f) { last = f; });
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->sample_rate, 16000);
    EXPECT_NEAR(static_cast<double>(out->samples.size()), 48000, 200);
    EXPECT_DOUBLE_EQ(last, 1.0);
    EXPECT_TRUE(CheckAudible(*out).ok());
}

TEST(Decode, RefusesAWavWhoseHeaderClaimsMoreThanItHolds) {
    testing::TempDir dir;
    Pcm pcm;
    AddTone(&pcm, 150, 0.5, 20000);
    testing::WriteWav(pcm, dir / "full.wav");
    // Keep the header (which declares 20 s) and only the first 2 s of samples.
    std::string bytes = testing::ReadFile(dir / "full.wav");
    bytes.resize(44 + 2 * 16000 * 2);
    std::ofstream(dir / "liar.wav", std::ios::binary) << bytes;
    auto info = ProbeMedia(dir / "liar.wav");
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(info.status().message().find("truncated"), std::string::npos) << info.status().message();
}

// An MP3 whose Info header counts 20 hours of frames in 20 KB: refused at probe, naming the lie, while the same
// file as made is accepted.
TEST(Probe, ADurationTheFileCannotHoldIsRefused) {
    testing::TempDir dir;
    ASSERT_TRUE(testing::FfmpegConvert({"-f", "lavfi", "-i", "sine=frequency=300:duration=5", "-ar", "16000", "-c:a",
                                        "libmp3lame", "-b:a", "32k", (dir / "honest.mp3").string()}));
    ASSERT_TRUE(ProbeMedia(dir / "honest.mp3").ok());
    std::string bytes = testing::ReadFile(dir / "honest.mp3");
    const size_t info = bytes.find("Info");
    ASSERT_NE(info, std::string::npos) << "lame writes an Info header for constant bitrate";
    ASSERT_TRUE(bytes[info + 7] & 1) << "with its frame count";
    const uint32_t frames = 2000000;  // of 576 samples at 16 kHz: 20 hours
    for (int i = 0; i < 4; ++i) bytes[info + 8 + i] = static_cast<char>(frames >> (24 - 8 * i));
    std::ofstream(dir / "liar.mp3", std::ios::binary) << bytes;
    auto probed = ProbeMedia(dir / "liar.mp3");
    ASSERT_FALSE(probed.ok());
    EXPECT_EQ(probed.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(probed.status().message().find("cannot hold"), std::string::npos) << probed.status().message();
}

TEST(Decode, CancelStopsDecoding) {
    testing::TempDir dir;
    Pcm pcm;
    AddTone(&pcm, 150, 0.5, 5000);
    testing::WriteWav(pcm, dir / "a.wav");
    auto info = ProbeMedia(dir / "a.wav");
    ASSERT_TRUE(info.ok());
    CancelToken cancel;
    cancel.Cancel();
    EXPECT_EQ(DecodeToPcm(dir / "a.wav", *info, {}, &cancel).status().code(), StatusCode::kCancelled);
}

TEST(Decode, SilenceIsNotAudible) {
    Pcm pcm;
    AddSilence(&pcm, 10000);
    const Status st = CheckAudible(pcm);
    EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
    EXPECT_NE(st.message().find("silent"), std::string::npos);
}

TEST(AudioFeatures, FindsPitchPausesAndLevels) {
    Pcm pcm;
    AddTone(&pcm, 200, 0.3, 2000);
    AddSilence(&pcm, 800);
    AddTone(&pcm, 120, 0.6, 2000);
    auto frames = AnalyzeAudio(pcm);
    ASSERT_TRUE(frames.ok());
    ASSERT_EQ(frames->size(), 480u);
    // Pitch in the middle of each tone.
    EXPECT_NEAR(frames->f0_hz[100], 200, 10);
    EXPECT_NEAR(frames->f0_hz[380], 120, 8);
    // The silence is one pause of about 800 ms.
    const auto pauses = FindPauses(*frames, kMinPauseMs);
    ASSERT_EQ(pauses.size(), 1u);
    EXPECT_NEAR(static_cast<double>(pauses[0].first), 2000, 30);
    EXPECT_NEAR(static_cast<double>(pauses[0].second - pauses[0].first), 800, 40);
    // The second tone is louder (6 dB) and lower.
    const auto a = ComputeSpanStats(*frames, 0, 2000), b = ComputeSpanStats(*frames, 2800, 4800);
    EXPECT_NEAR(b.level_p50_db - a.level_p50_db, 6.0, 1.0);
    EXPECT_GT(a.pitch_mean_hz, b.pitch_mean_hz);
    EXPECT_GT(b.onset_lift_db, 20);  // it starts out of silence
    EXPECT_NEAR(ComputeSpanStats(*frames, 0, 4800).pause_ratio, 800.0 / 4800.0, 0.03);
}

TEST(AudioFeatures, PitchVariationSeparatesLivelyFromMonotone) {
    Pcm flat, lively;
    for (int i = 0; i < 10; ++i) {
        AddTone(&flat, 150, 0.4, 300);
        AddTone(&lively, i % 2 ? 110 : 240, 0.4, 300);
    }
    auto f = AnalyzeAudio(flat), l = AnalyzeAudio(lively);
    ASSERT_TRUE(f.ok() && l.ok());
    EXPECT_LT(ComputeSpanStats(*f, 0, 3000).pitch_variation_st, 1.0);
    EXPECT_GT(ComputeSpanStats(*l, 0, 3000).pitch_variation_st, 4.0);
}

}  // namespace
}  // namespace podpromo

namespace podpromo {
namespace {

TEST(PcmSource, SpilledReadsBackWhatWasWrittenAndLeavesNoFile) {
    testing::TempDir dir;
    setenv("TMPDIR", dir.path().c_str(), 1);
    Pcm pcm;
    for (int i = 0; i < 100000; ++i) pcm.samples.push_back(static_cast<int16_t>(i * 7));
    auto spilled = SpilledPcm::Create(pcm);
    unsetenv("TMPDIR");
    ASSERT_TRUE(spilled.ok()) << spilled.status().ToString();
    EXPECT_TRUE(fs::is_empty(dir.path())) << "the temp file is unlinked at once";
    const MemoryPcmSource mem(pcm);
    for (const PcmSource* src : {static_cast<const PcmSource*>(spilled->get()), static_cast<const PcmSource*>(&mem)}) {
        EXPECT_EQ(src->size(), pcm.samples.size());
        std::vector<int16_t> out(1000);
        ASSERT_EQ(src->Read(50000, 1000, out.data()), 1000u);
        EXPECT_EQ(out[0], pcm.samples[50000]);
        EXPECT_EQ(out[999], pcm.samples[50999]);
        EXPECT_EQ(src->Read(99990, 1000, out.data()), 10u);  // clamped at the end
        EXPECT_EQ(src->Read(200000, 10, out.data()), 0u);
    }
}

}  // namespace
}  // namespace podpromo

namespace podpromo {
namespace {

TEST(Frames, SerializeRoundTripAndRejectGarbage) {
    AudioFrames f;
    f.db = {-20.5f, -30.f, -100.f};
    f.f0_hz = {120.f, 0.f, 0.f};
    f.pause = {0, 1, 1};
    f.noise_floor_db = -70;
    f.speech_level_db = -18;
    const std::string bytes = SerializeFrames(f);
    auto back = ParseFrames(bytes);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->db, f.db);
    EXPECT_EQ(back->f0_hz, f.f0_hz);
    EXPECT_EQ(back->pause, f.pause);
    EXPECT_FLOAT_EQ(back->speech_level_db, -18);
    EXPECT_FALSE(ParseFrames(bytes.substr(0, bytes.size() - 1)).ok());
    EXPECT_FALSE(ParseFrames("not frames at all, just text").ok());
}

}  // namespace
}  // namespace podpromo
