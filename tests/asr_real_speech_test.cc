// Recognition on the real recordings in ../shared/data that have a human reference (*.ref.txt). Reports the
// word error rate of each, guards against regressions, and checks that PodPromo's default settings beat
// pocketsphinx_continuous's own defaults measured in the same run. Skipped with a message when the folder is
// absent. (bench/asr_tuning.cc measures the other settings.)
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "asr_eval.h"
#include "podpromo/asr/transcript_io.h"
#include "testsupport.h"

namespace podpromo::testing {
namespace {

std::string Pct(double x) { return fmt::format("{:.1f}%", 100 * x); }

TEST(RealSpeech, DefaultSettingsHoldTheirBoundsAndBeatPocketsphinxContinuous) {
    const auto data = SharedData();
    if (data.empty()) GTEST_SKIP() << "../shared/data is absent: no real recordings to measure";
    if (!ProgramExists("pocketsphinx_continuous")) GTEST_SKIP() << "pocketsphinx_continuous is not installed";
    auto recordings = LoadReferencedRecordings(data);
    ASSERT_TRUE(recordings.ok()) << recordings.status().ToString();
    ASSERT_GT(recordings->size(), 5u);
    // Upper bounds a little above what the default settings measured on each (2026-11-24: jfk 18%, sense and
    // sensibility 21-41%, sonnets 66-77%, phone call 83%, meeting 90%, go forward 0%, GRID 50-83%).
    const std::map<std::string, double> bound = {{"jfk", 0.35},
                                                 {"librivox_sense", 0.60},
                                                 {"librivox_shakespeare", 0.88},
                                                 {"pyannote", 0.92},
                                                 {"ami", 0.97},
                                                 {"goforward", 0.25},
                                                 {"grid", 1.0}};
    // The reference runs beside ours, on the other core (CPU times are each process's own).
    std::vector<Result<Measured>> reference;
    std::thread reference_thread([&] {
        for (const auto& r : *recordings) {
            reference.push_back(MeasurePocketsphinxContinuous(r, PocketsphinxConfig{}.model_dir));
        }
    });
    std::vector<Result<Measured>> podpromo;
    for (const auto& r : *recordings) podpromo.push_back(MeasurePodpromo(r, {}));
    reference_thread.join();
    std::vector<Measured> ours, theirs;
    for (size_t i = 0; i < recordings->size(); ++i) {
        const Recording& r = (*recordings)[i];
        SCOPED_TRACE(r.name);
        const auto& m = podpromo[i];
        ASSERT_TRUE(m.ok()) << m.status().ToString();
        const auto& c = reference[i];
        ASSERT_TRUE(c.ok()) << c.status().ToString();
        std::cout << "WER " << Pct(m->wer) << " (pocketsphinx_continuous " << Pct(c->wer) << ")  " << r.name << "\n";
        for (const auto& [prefix, limit] : bound) {
            if (r.name.rfind(prefix, 0) == 0) {
                EXPECT_LE(m->wer, limit) << "hypothesis: " << m->hypothesis;
            }
        }
        ours.push_back(*m);
        theirs.push_back(*c);
    }
    const auto a = Summarize(*recordings, ours);
    const auto b = Summarize(*recordings, theirs);
    std::cout << "Mean WER " << Pct(a.mean) << " (pooled " << Pct(a.pooled) << ", " << a.cpu_seconds
              << " CPU s); pocketsphinx_continuous defaults " << Pct(b.mean) << " (pooled " << Pct(b.pooled) << ", "
              << b.cpu_seconds << " CPU s) over " << recordings->size() << " recordings\n";
    EXPECT_LT(a.mean, b.mean);
    EXPECT_LT(a.pooled, b.pooled);
    EXPECT_LT(a.pooled, 0.78);
}

}  // namespace
}  // namespace podpromo::testing
