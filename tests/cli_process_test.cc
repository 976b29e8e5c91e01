// Black-box: `podpromo process` on episodes synthesised at test time with planted strong moments and a
// sponsor read, in several containers.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "podpromo/asr/transcript_io.h"
#include "podpromo/media/probe.h"
#include "testsupport.h"

namespace podpromo::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct Episode {
    std::string name;
    std::string genre;
    fs::path wav;
    std::vector<TimedLine> timeline;
};

class ProcessEpisodes : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        for (const auto& [name, genre] : std::vector<std::pair<std::string, std::string>>{
                 {"business_interview", "business"}, {"true_crime", "true_crime"}}) {
            auto script = LoadScript(fs::path(PODPROMO_TEST_DATA) / (name + ".tsv"));
            ASSERT_TRUE(script.ok()) << script.status().ToString();
            Episode ep{name, genre, *dir_ / (name + ".wav"), {}};
            auto tl = SynthesizeEpisode(*script, ep.wav);
            ASSERT_TRUE(tl.ok()) << tl.status().ToString();
            ep.timeline = *tl;
            episodes_[name] = ep;
        }
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
        runs_.clear();
    }

    // `process FILE --json --genre auto --platform tiktok --clips 5`, run once per file and remembered.
    static const json& Run(const fs::path& file) {
        auto it = runs_.find(file.string());
        if (it != runs_.end()) return it->second;
        auto r = RunPodpromo(
            {"process", file.string(), "--json", "--genre", "auto", "--platform", "tiktok", "--clips", "5"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_NE(r.err.find("transcribe"), std::string::npos) << "progress on stderr names the stage";
        EXPECT_NE(r.err.find("ETA"), std::string::npos);
        json j = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << r.out.substr(0, 500);
        return runs_[file.string()] = j;
    }

    // The episode's exact words as an SRT in `dir`: for tests of what comes after recognition, which then
    // need not wait for it (recognition itself is measured by the tests above).
    static fs::path ScriptSrt(const Episode& ep, const fs::path& dir) {
        const fs::path srt = dir / (ep.name + ".srt");
        std::ofstream(srt) << podpromo::testing::ScriptSrt(ep.timeline);
        return srt;
    }

    static double Overlap(double a0, double a1, double b0, double b1) {
        return std::max(0.0, std::min(a1, b1) - std::max(a0, b0));
    }

    // How many strong moments a top clip covers by at least half.
    static int Covered(const json& result, const Episode& ep) {
        int n = 0;
        for (const auto& line : ep.timeline) {
            if (line.line.kind != "strong") continue;
            const double s = line.start_ms / 1000.0, e = line.end_ms / 1000.0;
            bool hit = false;
            for (const auto& c : result["clips"]) hit |= Overlap(s, e, c["start"], c["end"]) >= 0.5 * (e - s);
            n += hit;
        }
        return n;
    }

    static void ExpectNoClipTouchesAnAd(const json& result, const Episode& ep) {
        for (const auto& line : ep.timeline) {
            if (line.line.kind != "ad") continue;
            for (const auto& c : result["clips"]) {
                EXPECT_EQ(Overlap(line.start_ms / 1000.0, line.end_ms / 1000.0, c["start"], c["end"]), 0.0)
                    << "clip " << c["rank"] << " touches the sponsor read";
            }
        }
    }

    static TempDir* dir_;
    static std::map<std::string, Episode> episodes_;
    static std::map<std::string, json> runs_;
};
TempDir* ProcessEpisodes::dir_ = nullptr;
std::map<std::string, Episode> ProcessEpisodes::episodes_;
std::map<std::string, json> ProcessEpisodes::runs_;

TEST_F(ProcessEpisodes, FindsTheStrongMomentsAndNeverASponsorRead) {
    int covered = 0, planted = 0;
    for (const auto& [name, ep] : episodes_) {
        SCOPED_TRACE(name);
        const json& r = Run(ep.wav);
        ASSERT_TRUE(r.contains("clips"));
        const int c = Covered(r, ep);
        std::cout << name << ": " << c << " of 3 strong moments covered by the top 5\n";
        EXPECT_GE(c, 2);
        covered += c;
        planted += 3;
        ExpectNoClipTouchesAnAd(r, ep);
        EXPECT_EQ(r["episode"]["detected_genre"], ep.genre);
        EXPECT_EQ(r["episode"]["genre"], ep.genre);
        EXPECT_FALSE(r["episode"]["ad_spans"].empty()) << "the sponsor read was not detected";
    }
    EXPECT_GE(covered, 5) << "of " << planted;
}

TEST_F(ProcessEpisodes, ClipsFollowTheResultContract) {
    for (const auto& [name, ep] : episodes_) {
        SCOPED_TRACE(name);
        const json& r = Run(ep.wav);
        const auto& clips = r["clips"];
        ASSERT_GE(clips.size(), 3u);
        ASSERT_LE(clips.size(), 5u);
        std::vector<std::pair<double, double>> words;
        for (const auto& seg : r["transcript"]["segments"]) {
            for (const auto& w : seg["words"]) words.emplace_back(w["start"].get<double>(), w["end"].get<double>());
        }
        // A cut sits in the pause before a word (at most 0.15 s early) or after one (at most 0.3 s late), never
        // inside a word.
        auto starts_clean = [&](double t) {
            for (size_t i = 0; i < words.size(); ++i) {
                if (words[i].first >= t - 1e-6) {
                    return words[i].first - t <= 0.151 && (i == 0 || words[i - 1].second <= t + 1e-6);
                }
            }
            return false;
        };
        auto ends_clean = [&](double t) {
            for (size_t i = words.size(); i-- > 0;) {
                if (words[i].second <= t + 1e-6) {
                    return t - words[i].second <= 0.301 && (i + 1 == words.size() || words[i + 1].first >= t - 1e-6);
                }
            }
            return false;
        };
        double last_score = 2;
        for (size_t i = 0; i < clips.size(); ++i) {
            const auto& c = clips[i];
            EXPECT_EQ(c["rank"], i + 1);
            const double d = c["duration"];
            EXPECT_GE(d, 12.0);
            EXPECT_LE(d, 45.0);  // TikTok's acceptable range
            EXPECT_TRUE(starts_clean(c["start"].get<double>())) << "clip starts just before a word: " << c["start"];
            EXPECT_TRUE(ends_clean(c["end"].get<double>())) << "clip ends just after a word: " << c["end"];
            EXPECT_LE(c["score"].get<double>(), last_score);
            last_score = c["score"];
            EXPECT_GE(c["display_score"].get<int>(), 0);
            EXPECT_LE(c["display_score"].get<int>(), 100);
            EXPECT_TRUE(c["confidence"] == "High" || c["confidence"] == "Medium" || c["confidence"] == "Low");
            EXPECT_GE(c["explanation"].size(), 1u);
            EXPECT_LE(c["explanation"].size(), 8u);
            EXPECT_FALSE(c["title"].get<std::string>().empty());
            EXPECT_GE(c["hashtags"].size(), 3u);
            EXPECT_LE(c["hashtags"].size(), 5u);
            for (const char* f : {"hook", "payoff", "arousal", "emotion", "question", "info_density", "loopability",
                                  "self_contained", "ad_penalty", "platform_len_match"}) {
                ASSERT_TRUE(c["features"].contains(f)) << f;
                EXPECT_GE(c["features"][f].get<double>(), 0.0);
                EXPECT_LE(c["features"][f].get<double>(), 1.0);
            }
            for (size_t j = i + 1; j < clips.size(); ++j) {
                EXPECT_EQ(Overlap(c["start"], c["end"], clips[j]["start"], clips[j]["end"]), 0.0) << "clips overlap";
            }
        }
        // The best clip is explained by what makes it strong.
        EXPECT_EQ(clips[0]["confidence"] != "Low", true);
    }
}

// Word error rate of the whole episode against its script.
TEST_F(ProcessEpisodes, TranscriptWordErrorRate) {
    for (const auto& [name, ep] : episodes_) {
        const json& r = Run(ep.wav);
        EXPECT_EQ(r["transcript"]["engine"], "pocketsphinx");
        std::string hyp;
        for (const auto& seg : r["transcript"]["segments"]) hyp += seg["text"].get<std::string>() + " ";
        const double wer = WordErrorRate(JoinText(ep.timeline), hyp);
        std::cout << name << ": WER " << wer * 100 << "%\n";
        // The business show's host is kal, flite's 8 kHz voice: recognised after its upper band is predicted back
        // (narrowband.h; ~19%, against ~39% as it is).
        EXPECT_LT(wer, 0.25) << name;
    }
}

// Speaker turns from voice pitch: the true-crime show's narrator (slt, a female voice) and guest (awb, a male
// one) are told apart, each segment named as the voice that spoke it; the business show's two male voices (kal
// and rms) are too close in pitch to tell, and are left unmarked rather than guessed.
// --no-narrowband turns the extension off: the business show's kal lines are then heard as the line carried them,
// with twice the errors.
TEST_F(ProcessEpisodes, NoNarrowbandRecognisesEightKilohertzSpeechAsItIs) {
    const Episode& ep = episodes_.at("business_interview");
    auto transcript_wer = [&](const json& r) {
        std::string hyp;
        for (const auto& seg : r["transcript"]["segments"]) hyp += seg["text"].get<std::string>() + " ";
        return WordErrorRate(JoinText(ep.timeline), hyp);
    };
    auto off = RunPodpromo({"process", ep.wav.string(), "--json", "--no-narrowband"});
    ASSERT_EQ(off.exit_code, 0) << off.err;
    const double extended = transcript_wer(Run(ep.wav));
    const double as_is = transcript_wer(json::parse(off.out));
    std::cout << "business_interview: WER " << as_is * 100 << "% with --no-narrowband, " << extended * 100
              << "% extended\n";
    EXPECT_GT(as_is, extended + 0.1);
}

TEST_F(ProcessEpisodes, SpeakerTurnsWhereVoicesDifferAndNoGuessWhereTheyDoNot) {
    for (const auto& [name, ep] : episodes_) {
        const json& r = Run(ep.wav);
        std::map<std::string, std::map<std::string, double>> seconds;  // voice -> speaker -> seconds
        for (const auto& seg : r["transcript"]["segments"]) {
            const double mid = (seg["start"].get<double>() + seg["end"].get<double>()) * 500;
            for (const auto& l : ep.timeline) {
                if (mid >= static_cast<double>(l.start_ms) && mid <= static_cast<double>(l.end_ms)) {
                    seconds[l.line.voice][seg.value("speaker", "")] +=
                        seg["end"].get<double>() - seg["start"].get<double>();
                }
            }
        }
        if (name == "true_crime") {
            ASSERT_EQ(seconds.size(), 2u);
            std::set<std::string> named;
            for (const auto& [voice, by_speaker] : seconds) {
                double total = 0, best = 0;
                std::string top;
                for (const auto& [speaker, s] : by_speaker) {
                    total += s;
                    if (s > best) {
                        best = s;
                        top = speaker;
                    }
                }
                EXPECT_FALSE(top.empty()) << voice;
                EXPECT_GE(best / total, 0.9) << voice << " is mostly one speaker";
                named.insert(top);
            }
            EXPECT_EQ(named, (std::set<std::string>{"S1", "S2"}));
        } else {
            for (const auto& [voice, by_speaker] : seconds) {
                EXPECT_EQ(by_speaker.size(), 1u) << voice;
                EXPECT_TRUE(by_speaker.count("")) << voice << " was given a speaker";
            }
        }
    }
}

// (The audio containers' decoding, MP3 among them, is checked by Containers.CommonAudioAndVideoContainersDecode;
// here the whole run from a video file, whose AAC audio is recognised anew.)
TEST_F(ProcessEpisodes, SameMomentsFromWavAndMp4Video) {
    const Episode& ep = episodes_["true_crime"];
    const fs::path mp4 = *dir_ / "true crime.mp4";
    ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "testsrc2=s=320x240:r=10", "-i", ep.wav.string(), "-shortest",
                               "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "96k", mp4.string()}));
    const json& r = Run(mp4);
    EXPECT_EQ(Covered(r, ep), Covered(Run(ep.wav), ep));
    EXPECT_EQ(r["episode"]["detected_genre"], ep.genre);
    EXPECT_EQ(r["episode"]["has_video"], true);
    ExpectNoClipTouchesAnAd(r, ep);
}

TEST_F(ProcessEpisodes, VideoEpisodeRendersItsTopClipsForLinkedIn) {
    const Episode& ep = episodes_["business_interview"];
    TempDir work;
    const fs::path mp4 = work / "interview.mp4";
    ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "testsrc2=s=640x360:r=25", "-i", ep.wav.string(), "-shortest",
                               "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "96k", mp4.string()}));
    const fs::path out = work / "linkedin";
    auto r = RunPodpromo({"process", mp4.string(), "--platform", "linkedin", "--clips", "1", "--transcript",
                          ScriptSrt(ep, work.path()).string(), "--out", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json result = json::parse(ReadFile(out / "result.json"));
    ASSERT_EQ(result["clips"].size(), 1u);
    for (const auto& c : result["clips"]) {
        ExpectPostableVideo(out / c["files"]["video"].get<std::string>(), 1080, 1920, c["duration"].get<double>());
    }
}

TEST_F(ProcessEpisodes, OutDirHoldsClipsCaptionsAndTranscripts) {
    const Episode& ep = episodes_["true_crime"];
    TempDir work;
    const fs::path out = work / "clips";
    // From the script's exact words: what is checked here comes after recognition (tested above).
    // (One clip: each file of a clip is checked below, and every render costs CI seconds.)
    // With a cover of the user's own, larger than renders take: they read a normalised copy made in TMPDIR, and
    // neither the user's file nor the copy is left changed or behind.
    const fs::path cover = work / "cover.png";
    auto made = RunProcess({"ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=teal:s=2400x3000",
                            "-frames:v", "1", cover.string()});
    ASSERT_TRUE(made.ok() && made->exit_code == 0);
    const std::string cover_bytes = ReadFile(cover);
    const fs::path tmp = work / "tmp";
    fs::create_directories(tmp);
    auto run = RunProcess(
        {"env", "TMPDIR=" + tmp.string(), PodpromoBinary(), "process", ep.wav.string(), "--clips", "1", "--transcript",
         ScriptSrt(ep, work.path()).string(), "--cover", cover.string(), "--out", out.string()},
        nullptr, 600000);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    auto r = *run;
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadFile(cover), cover_bytes);
    EXPECT_TRUE(fs::is_empty(tmp));
    EXPECT_NE(r.out.find("rank"), std::string::npos) << "a table is printed without --json";
    const json result = json::parse(ReadFile(out / "result.json"));
    ASSERT_EQ(result["clips"].size(), 1u);
    for (const auto& c : result["clips"]) {
        const fs::path audio = out / c["files"]["audio"].get<std::string>();
        auto info = ProbeMedia(audio);
        ASSERT_TRUE(info.ok()) << info.status().ToString();
        EXPECT_EQ(info->audio_codec, "aac");
        EXPECT_NEAR(info->duration_ms / 1000.0, c["duration"].get<double>(), 0.15);
        // Loudness normalised for social: about -14 LUFS integrated.
        auto loud = RunProcess(
            {"ffmpeg", "-nostdin", "-hide_banner", "-i", audio.string(), "-af", "ebur128", "-f", "null", "-"});
        ASSERT_TRUE(loud.ok());
        const auto at = loud->err.rfind("I:");
        ASSERT_NE(at, std::string::npos);
        EXPECT_NEAR(std::stod(loud->err.substr(at + 2)), -14.0, 1.0);
        // Captions parse back and span the clip.
        for (const char* kind : {"srt", "vtt"}) {
            auto cap = LoadTranscriptFile(out / c["files"][kind].get<std::string>());
            ASSERT_TRUE(cap.ok()) << cap.status().ToString();
            EXPECT_LT(cap->segments.front().start_ms, 1000);
            EXPECT_NEAR(cap->segments.back().end_ms / 1000.0, c["duration"].get<double>(), 0.5);
        }
        // The 9:16 captioned audiogram, probed as a person posting it would.
        ExpectPostableVideo(out / c["files"]["video"].get<std::string>(), 1080, 1920, c["duration"].get<double>());
        EXPECT_TRUE(fs::exists(out / c["files"]["thumbnail"].get<std::string>()));
        // The post text: the title, then the hashtags.
        const std::string post = ReadFile(out / c["files"]["post"].get<std::string>());
        EXPECT_EQ(post.substr(0, post.find('\n')), c["title"].get<std::string>());
        for (const auto& tag : c["hashtags"]) EXPECT_NE(post.find(tag.get<std::string>()), std::string::npos);
    }
    // The transcript files are complete and re-importable.
    for (const char* f : {"transcript.json", "transcript.srt", "transcript.vtt"}) {
        auto t = LoadTranscriptFile(out / f);
        ASSERT_TRUE(t.ok()) << f << ": " << t.status().ToString();
        EXPECT_GT(t->WordCount(), 300u);
    }
    for (const auto& e : fs::directory_iterator(out)) {
        EXPECT_NE(e.path().filename().string()[0], '.') << "left behind: " << e.path();
    }
    // --no-render writes captions and JSON but no audio or video; --no-video the audio but no video. (Both with
    // the transcript just written, imported back.)
    const std::string transcript = (out / "transcript.json").string();
    const fs::path quick = work / "quick";
    r = RunPodpromo({"process", ep.wav.string(), "--clips", "2", "--no-render", "--transcript", transcript, "--out",
                     quick.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(fs::exists(quick / "clip_01.m4a"));
    EXPECT_FALSE(fs::exists(quick / "clip_01.mp4"));
    EXPECT_TRUE(fs::exists(quick / "clip_01.srt"));
    const fs::path audio_only = work / "audio_only";
    r = RunPodpromo({"process", ep.wav.string(), "--clips", "1", "--no-video", "--transcript", transcript, "--out",
                     audio_only.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(audio_only / "clip_01.m4a"));
    EXPECT_FALSE(fs::exists(audio_only / "clip_01.mp4"));
    // Bad render options are refused before any work, naming the choices.
    r = RunPodpromo({"process", ep.wav.string(), "--style", "comic", "--out", (work / "x").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("bold, clean, boxed"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(work / "x"));
    r = RunPodpromo({"process", ep.wav.string(), "--cover", ep.wav.string(), "--out", (work / "x").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not an image"), std::string::npos) << r.err;
    r = RunPodpromo({"process", ep.wav.string(), "--platform", "x", "--aspect", "4:3"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("9:16"), std::string::npos) << r.err;
}

TEST_F(ProcessEpisodes, ImportedTranscriptIsUsedAsIs) {
    const Episode& ep = episodes_["business_interview"];
    TempDir work;
    auto r = RunPodpromo({"process", ep.wav.string(), "--json", "--transcript", ScriptSrt(ep, work.path()).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["transcript"]["engine"], "import:srt");
    ASSERT_EQ(j["transcript"]["segments"].size(), ep.timeline.size());
    EXPECT_EQ(j["transcript"]["segments"][4]["text"], ep.timeline[4].line.text);
    EXPECT_EQ(Covered(j, ep), 3) << "with a perfect transcript every strong moment is found";
    ExpectNoClipTouchesAnAd(j, ep);
    EXPECT_EQ(j["episode"]["detected_genre"], "business");
    // A transcript that runs far past the end of the audio belongs to another recording: refused, named.
    std::vector<Cue> cues;
    for (const auto& l : ep.timeline) cues.push_back({l.start_ms, l.end_ms, l.line.text, ""});
    cues.push_back({ep.timeline.back().end_ms + 60000, ep.timeline.back().end_ms + 63000, "and that is all", ""});
    std::ofstream(work / "other.srt") << FormatSrt(cues);
    const fs::path out = work / "out";
    r = RunPodpromo({"process", ep.wav.string(), "--transcript", (work / "other.srt").string(), "--out", out.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("the audio ends at"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
}

TEST_F(ProcessEpisodes, HostileButValidFileNameWorks) {
    const fs::path hostile = *dir_ / "ep 1; rm -rf ~ $(touch pwned) 'quoted\" ünïcode.wav";
    fs::copy_file(episodes_["true_crime"].wav, hostile);
    auto r = RunPodpromo({"process", hostile.string(), "--clips", "1", "--json", "--transcript",
                          (fs::path(PODPROMO_TEST_DATA) / "true_crime.srt").string()});
    // A transcript that does not exist is an input error naming it; with one that does, it works.
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("true_crime.srt"), std::string::npos) << r.err;
    TempDir work;
    r = RunPodpromo({"process", hostile.string(), "--clips", "1", "--json", "--transcript",
                     ScriptSrt(episodes_["true_crime"], work.path()).string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["clips"].size(), 1u);
    EXPECT_FALSE(fs::exists("pwned"));
}

}  // namespace
}  // namespace podpromo::testing
