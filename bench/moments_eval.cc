// moments_eval DIR [--platform P] [--clips] [--signals] [--strict [--max-on-ads N]]: how well the moment finder does on
// real podcasts with a reader's labels (DIR/labels.json beside the transcripts, as in ../shared/data/podcasts; see its
// SOURCES.md). Each transcript goes through the same scoring stage as `podpromo process --transcript` (text only, no
// audio). Per episode and in total it prints the reader's moments found by the top 5 and top 10 clips, the expected
// number for clips of the same lengths placed at random, top-10 clips on an ad block (> 2 s), whether the
// genre is right, the median clip length, titles that end mid-phrase and clip texts with speaker marks.
// Exits 0 having printed the table; 2 on a usage error; 77 (skipped) when DIR or its labels are missing. With
// --strict (as ctest runs it) it exits 3 when a title ends mid-phrase, a clip's text keeps a speaker mark, more
// than --max-on-ads top-10 clips (default 0) sit on an ad block, or the top 10 find fewer moments than random
// clips would. With --signals it also prints, per scoring feature, how well it alone tells the reader's moments
// from the rest of each episode (AUC: 0.5 is chance), and in how many episodes it does better than chance: a
// feature that helps in most shows is one to trust on shows nobody here has seen.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "podpromo/asr/transcript_io.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/scoring/candidates.h"
#include "podpromo/scoring/context.h"
#include "podpromo/scoring/evaluation.h"
#include "podpromo/scoring/features.h"
#include "podpromo/scoring/genre.h"
#include "podpromo/scoring/ranker.h"

namespace fs = std::filesystem;
using namespace podpromo;

namespace {

// Per feature, its AUC in each episode (--signals).
using SignalTable = std::map<std::string, std::vector<double>>;

struct Totals {
    int episodes = 0, moments = 0, found5 = 0, found10 = 0, on_ads = 0, genre_right = 0, bad_titles = 0, prefixes = 0;
    double random5 = 0, random10 = 0;
    std::vector<Ms> lengths;
    SignalTable signals;
};

std::vector<TimeSpan> Spans(const nlohmann::json& arr) {
    std::vector<TimeSpan> out;
    for (const auto& s : arr) {
        out.push_back({static_cast<Ms>(s.at(0).get<double>() * 1000), static_cast<Ms>(s.at(1).get<double>() * 1000)});
    }
    return out;
}

Ms Median(std::vector<Ms> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// With --clips: the ad blocks found and labelled, the genre scores, reactions and topic boundaries.
void PrintEpisodeDiagnostics(const EpisodeResult& r, const std::vector<TimeSpan>& ads) {
    std::string found, labelled;
    for (const auto& a : r.ads)
        found += fmt::format(" {}-{}", FormatClock(a.start_ms, false), FormatClock(a.end_ms, false));
    for (const auto& a : ads)
        labelled += fmt::format(" {}-{}", FormatClock(a.start_ms, false), FormatClock(a.end_ms, false));
    std::cout << "  ads found:" << found << "\n  ads labelled:" << labelled << "\n  genre scores:";
    for (const auto& [g, v] : r.detection.scores) std::cout << fmt::format(" {} {:.1f}", g, v);
    const auto ctx = BuildEpisodeContext(r.transcript.AllWords(), r.transcript.events, r.ads);
    std::cout << fmt::format(" | reactions per 1000 words {:.1f}, topic boundaries {}",
                             1000.0 * ctx.reactions.size() / std::max<size_t>(1, r.transcript.WordCount()),
                             ctx.topic_boundaries_ms.size());
    for (const auto& t : ctx.teases) {
        std::cout << fmt::format("\n  cold open at {} teases {}-{} ({} words)", FormatClock(t.teaser_ms, false),
                                 FormatClock(t.start_ms, false), FormatClock(t.end_ms, false), t.words);
    }
    std::cout << "\n";
}

// With --clips: the reader's moments as the scorer sees them.
void PrintMomentsAsScored(const EpisodeResult& r, const std::vector<TimeSpan>& moments) {
    for (const auto& m : moments) {
        auto d = DescribeSpan(r, nullptr, m.start_ms, m.end_ms);
        if (!d.ok()) continue;
        std::string fs;
        for (const char* k : {"hook", "payoff", "reaction", "story", "surprise", "quotable", "self_contained"})
            fs += fmt::format(" {}={:.2f}", k, d->features.Get(k));
        std::cout << fmt::format("  R {:>7} {:>3} {:<10}{} | {}\n", FormatClock(m.start_ms, false), d->display_score,
                                 d->path, fs, d->title);
    }
}

// The probability that a reader's moment scores above a span placed anywhere else (ties count half).
double Auc(const std::vector<double>& positives, const std::vector<double>& negatives) {
    double wins = 0;
    for (double p : positives)
        for (double n : negatives) wins += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
    return positives.empty() || negatives.empty() ? 0.5
                                                  : wins / static_cast<double>(positives.size() * negatives.size());
}

// --signals: among the candidate clips the ranker chooses from, those that would find a reader's moment against
// the rest: for each feature (and the final score), one AUC into `table`.
void AddSignals(const EpisodeResult& r, const std::vector<TimeSpan>& moments, SignalTable* table) {
    const auto words = r.transcript.AllWords();
    const auto genre = GenreByName(r.genre);
    if (words.empty() || moments.empty() || !genre.ok()) return;
    const EpisodeContext context = BuildEpisodeContext(words, r.transcript.events, r.ads);
    std::map<std::string, std::vector<double>> pos, neg;
    for (const auto& c : GenerateCandidates(words, r.platform, r.ads)) {
        ClipFeatures f = ComputeFeatures(words, c, nullptr, r.platform, &context);
        f.values["score"] = ScoreClip(f, *genre, r.platform, c.DurationMs());
        auto& side = MomentsFound({{c.start_ms, c.end_ms}}, moments) > 0 ? pos : neg;
        for (const auto& [k, v] : f.values) side[k].push_back(v);
    }
    for (const auto& [k, p] : pos) table->try_emplace(k).first->second.push_back(Auc(p, neg[k]));
}

void PrintSignals(const SignalTable& table) {
    std::cout << "\nfeature            mean AUC  episodes > 0.55  < 0.45   per episode\n";
    for (const auto& [k, aucs] : table) {
        double sum = 0;
        int above = 0, below = 0;
        std::string per;
        for (double a : aucs) {
            sum += a;
            above += a > 0.55;
            below += a < 0.45;
            per += fmt::format(" {:.2f}", a);
        }
        std::cout << fmt::format("{:<18} {:>8.2f}  {:>9}/{:<5} {:>6}  {}\n", k, sum / std::max<size_t>(1, aucs.size()),
                                 above, aucs.size(), below, per);
    }
}

// Scores one labelled transcript and adds its row to `totals`; false (with a message) when it cannot.
bool EvaluateOne(const fs::path& file, const nlohmann::json& label, const Platform& platform, bool show_clips,
                 bool signals, Totals* totals) {
    auto transcript = LoadTranscriptFile(file);
    if (!transcript.ok()) {
        std::cerr << file.filename().string() << ": " << transcript.status().message() << "\n";
        return false;
    }
    EpisodeResult r;
    r.source = file;
    r.platform = platform;
    r.transcript = std::move(*transcript);
    r.duration_ms = static_cast<Ms>(label.at("duration").get<double>() * 1000);
    if (Status s = ScoreEpisode(&r, nullptr, "auto", 10); !s.ok()) {
        std::cerr << file.filename().string() << ": " << s.message() << "\n";
        return false;
    }
    const auto moments = Spans(label.at("highlights"));
    const auto ads = Spans(label.at("ads"));
    if (show_clips) PrintEpisodeDiagnostics(r, ads);
    std::vector<TimeSpan> top5, top10;
    std::vector<Ms> len5, len10;
    int bad_titles = 0, prefixes = 0;
    for (const auto& c : r.clips) {
        const TimeSpan span{c.candidate.start_ms, c.candidate.end_ms};
        if (top5.size() < 5) top5.push_back(span), len5.push_back(span.DurationMs());
        top10.push_back(span);
        len10.push_back(span.DurationMs());
        bad_titles += TitleEndsMidPhrase(c.title);
        prefixes += HasSpeakerPrefix(c.text) || HasSpeakerPrefix(c.title);
        if (show_clips) {
            std::cout << fmt::format(
                "    {:>7} {:>4.0f}s {:>3} {:<10} {}{}{} | {}\n", FormatClock(span.start_ms, false),
                span.DurationMs() / 1000.0, c.display_score, c.path, MomentsFound({span}, moments) ? "* " : "",
                ClipsOverlapping({span}, ads, 2000) ? "AD " : "", TitleEndsMidPhrase(c.title) ? "MID " : "", c.title);
        }
    }
    if (show_clips) PrintMomentsAsScored(r, moments);
    if (signals) AddSignals(r, moments, &totals->signals);
    const auto genres = label.at("genre");
    const bool genre_right = std::find(genres.begin(), genres.end(), r.detection.genre) != genres.end();
    const int f5 = MomentsFound(top5, moments), f10 = MomentsFound(top10, moments);
    const double rnd5 = RandomMomentsFound(len5, moments, r.duration_ms);
    const double rnd10 = RandomMomentsFound(len10, moments, r.duration_ms);
    const int on_ads = ClipsOverlapping(top10, ads, 2000);
    std::cout << fmt::format(
        "{:<58} {:>2}/{:<2} {:>4.1f} {:>4}/{:<2} {:>4.1f} {:>6} {:<5} {:<14} {:>5.0f}s {:>6} {:>8}\n",
        file.filename().string().substr(0, 58), f5, moments.size(), rnd5, f10, moments.size(), rnd10, on_ads,
        genre_right ? "yes" : "no", r.detection.genre, Median(len10) / 1000.0, bad_titles, prefixes);
    totals->episodes++;
    totals->moments += static_cast<int>(moments.size());
    totals->found5 += f5;
    totals->found10 += f10;
    totals->random5 += rnd5;
    totals->random10 += rnd10;
    totals->on_ads += on_ads;
    totals->genre_right += genre_right;
    totals->bad_titles += bad_titles;
    totals->prefixes += prefixes;
    totals->lengths.insert(totals->lengths.end(), len10.begin(), len10.end());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: moments_eval DIR [--platform P] [--clips] [--signals] [--strict [--max-on-ads N]]\n";
        return 2;
    }
    const fs::path dir = argv[1];
    std::string platform_name = "tiktok";
    bool show_clips = false, strict = false, signals = false;
    int max_on_ads = 0;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--platform" && i + 1 < argc) {
            platform_name = argv[++i];
        } else if (a == "--clips") {
            show_clips = true;
        } else if (a == "--signals") {
            signals = true;
        } else if (a == "--strict") {
            strict = true;
        } else if (a == "--max-on-ads" && i + 1 < argc) {
            max_on_ads = std::atoi(argv[++i]);
        } else {
            std::cerr << "moments_eval: unknown option " << a << "\n";
            return 2;
        }
    }
    auto platform = PlatformByName(platform_name);
    if (!platform.ok()) {
        std::cerr << "moments_eval: " << platform.status().message() << "\n";
        return 2;
    }
    std::ifstream in(dir / "labels.json");
    if (!in) {
        std::cout << "moments_eval: skipped: " << (dir / "labels.json").string() << " is absent\n";
        return 77;
    }
    const auto labels = nlohmann::json::parse(in);
    std::cout << fmt::format("{:<58} {:>5} {:>4} {:>7} {:>4} {:>6} {:<5} {:<14} {:>6} {:>6} {:>8}\n", "episode", "top5",
                             "rnd", "top10", "rnd", "on-ad", "genre", "detected", "median", "titles", "prefixes");
    Totals t;
    int failed = 0;
    for (const auto& [name, label] : labels.items())
        failed += !EvaluateOne(dir / name, label, *platform, show_clips, signals, &t);
    std::cout << fmt::format(
        "TOTAL {} episodes: top 5 found {}/{} ({:.0f}%), random {:.1f} ({:.1f}x); top 10 found {}/{}, random {:.1f} "
        "({:.1f}x); top-10 clips on an ad block {}; genre right {}/{}; median clip {:.0f} s; titles mid-phrase {}; "
        "texts with speaker marks {}\n",
        t.episodes, t.found5, t.moments, 100.0 * t.found5 / std::max(1, t.moments), t.random5,
        t.found5 / std::max(0.01, t.random5), t.found10, t.moments, t.random10, t.found10 / std::max(0.01, t.random10),
        t.on_ads, t.genre_right, t.episodes, Median(t.lengths) / 1000.0, t.bad_titles, t.prefixes);
    if (signals) PrintSignals(t.signals);
    if (failed) return 1;
    if (strict && (t.bad_titles > 0 || t.prefixes > 0 || t.on_ads > max_on_ads || t.found10 < t.random10)) {
        std::cout << "moments_eval: --strict: a bar is not met\n";
        return 3;
    }
    return 0;
}
