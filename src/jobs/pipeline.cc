#include "podpromo/jobs/pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>

#include "podpromo/asr/transcript_io.h"
#include "podpromo/asr/turns.h"
#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"
#include "podpromo/media/audio_cut.h"
#include "podpromo/media/audio_features.h"
#include "podpromo/media/decode.h"
#include "podpromo/scoring/candidates.h"
#include "podpromo/scoring/features.h"

namespace podpromo {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class StageTimer {
  public:
    StageTimer(EpisodeResult* r, std::string name)
        : r_(r), name_(std::move(name)), t0_(std::chrono::steady_clock::now()) {}
    ~StageTimer() {
        r_->stage_ms[name_] =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_).count();
    }
    StageTimer(const StageTimer&) = delete;
    StageTimer& operator=(const StageTimer&) = delete;

  private:
    EpisodeResult* r_;
    std::string name_;
    std::chrono::steady_clock::time_point t0_;
};

std::vector<Word> ClipWords(const std::vector<Word>& words, const Candidate& c) {
    return {words.begin() + static_cast<std::ptrdiff_t>(c.first_word),
            words.begin() + static_cast<std::ptrdiff_t>(c.end_word)};
}

}  // namespace

std::string NewId(const std::string& prefix) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{}_{:012x}", prefix, rng() & 0xffffffffffffULL);
}

Status ValidateOptions(const PipelineOptions& o) {
    if (o.genre != "auto") PODPROMO_RETURN_IF_ERROR(GenreByName(o.genre).status());
    PODPROMO_RETURN_IF_ERROR(PlatformByName(o.platform).status());
    if (o.clips < 1 || o.clips > 50) return Status::InvalidInput("--clips must be between 1 and 50");
    for (const auto& [name, value] : o.asr.flags) {
        // The recogniser's log is process-wide: a log file per run would be closed under running decoders.
        if (name == "-logfn") return Status::InvalidInput("--asr-flag -logfn is not supported (logging is off)");
    }
    return Status::Ok();
}

namespace {

// A given transcript is parsed before the long stages so a malformed one fails fast; without one, the engine's
// settings (or pocketsphinx's model) are checked. The transcript to use, nullopt to recognise.
Result<std::optional<Transcript>> TranscriptOrEngineCheck(const PipelineOptions& options) {
    if (options.given_transcript) return options.given_transcript;  // made before (a resumed job)
    if (options.transcript) {
        PODPROMO_ASSIGN_OR_RETURN(Transcript t, LoadTranscriptFile(*options.transcript));
        return std::optional<Transcript>(std::move(t));
    }
    if (options.whisper) {
        PODPROMO_RETURN_IF_ERROR(ValidateWhisperHttpConfig(*options.whisper));
    } else {
        PODPROMO_RETURN_IF_ERROR(CheckPocketsphinxModel(options.asr));
    }
    return std::optional<Transcript>();
}

// Decodes the episode; refuses one that is silent or shorter than a clip.
Result<Pcm> Decode(const fs::path& source, const PipelineOptions& options, const ProgressFn& progress,
                   const CancelToken* cancel, EpisodeResult* r) {
    StageTimer t(r, "decode");
    PODPROMO_ASSIGN_OR_RETURN(Pcm pcm, DecodeToPcm(source, r->media, progress, cancel, options.max_episode_ms));
    r->duration_ms = pcm.DurationMs();
    const Status audible = CheckAudible(pcm);
    if (!audible.ok()) return Status::InvalidInput(PrintableName(source) + ": " + audible.message());
    if (r->duration_ms < kMinClipMs) {
        return Status::InvalidInput(fmt::format("{}: the episode is {:.1f} s long; the shortest clip is {} s",
                                                PrintableName(source), Sec(r->duration_ms), kMinClipMs / 1000));
    }
    return pcm;
}

// The recogniser the options ask for, told the names in the show, the title and the user's terms.
std::unique_ptr<Transcriber> MakeTranscriber(const PipelineOptions& options, const Vocabulary& vocabulary) {
    if (options.make_transcriber) return options.make_transcriber(vocabulary);
    if (options.whisper) {
        WhisperHttpConfig c = *options.whisper;
        if (c.prompt.empty()) c.prompt = WhisperPrompt(vocabulary);
        return MakeWhisperHttpTranscriber(std::move(c));
    }
    PocketsphinxConfig c = options.asr;
    c.vocabulary = VocabularyWords(vocabulary);
    return MakePocketsphinxTranscriber(std::move(c));
}

// Recognises the episode's speech, its speaker turns marked. The recogniser reads the audio from an anonymous temp
// file, so the PCM (350 MB for 3 hours) is not resident beside the decoders' models; if the spill fails (a full
// disk, say) the memory copy is used. `pcm`'s samples are released either way.
Result<Transcript> Recognise(Pcm* pcm, const AudioFrames& frames, const PipelineOptions& options,
                             const EpisodeResult& r, const ProgressFn& progress, const CancelToken* cancel) {
    std::unique_ptr<PcmSource> source;
    if (auto spilled = SpilledPcm::Create(*pcm); spilled.ok()) {
        source = std::move(*spilled);
        pcm->samples = {};
        pcm->samples.shrink_to_fit();
    } else {
        source = std::make_unique<MemoryPcmSource>(*pcm);
    }
    const auto asr = MakeTranscriber(options, Vocabulary{r.title, options.show, options.terms});
    PODPROMO_ASSIGN_OR_RETURN(Transcript t, asr->Transcribe(*source, frames, progress, cancel));
    MarkSpeakerTurns(&t.segments, frames);
    return t;
}

// A transcript of another (longer) recording would give clips the media cannot render.
Status CheckTranscriptFits(const Transcript& t, Ms duration_ms) {
    Ms last_end = 0;
    for (const auto& seg : t.segments) last_end = std::max(last_end, seg.end_ms);
    if (last_end > duration_ms + 2000) {
        return Status::InvalidInput(
            fmt::format("the transcript runs to {} but the audio ends at {}: is it the transcript of this episode?",
                        FormatClock(last_end), FormatClock(duration_ms)));
    }
    return Status::Ok();
}

}  // namespace

Result<EpisodeResult> AnalyzeEpisode(const fs::path& source, const PipelineOptions& options, const ProgressFn& progress,
                                     const CancelToken* cancel) {
    PODPROMO_RETURN_IF_ERROR(ValidateOptions(options));
    EpisodeResult r;
    r.id = NewId("ep");
    r.source = source;
    r.title = options.title.empty() ? source.stem().string() : options.title;
    r.platform = PlatformByName(options.platform).value();
    r.chapters = options.chapters;
    {
        StageTimer t(&r, "probe");
        Report(progress, Stage::kProbe, 0);
        PODPROMO_ASSIGN_OR_RETURN(r.media, ProbeMedia(source));  // from content
        Report(progress, Stage::kProbe, 1);
    }
    PODPROMO_ASSIGN_OR_RETURN(std::optional<Transcript> imported, TranscriptOrEngineCheck(options));
    PODPROMO_ASSIGN_OR_RETURN(Pcm pcm, Decode(source, options, progress, cancel, &r));
    AudioFrames frames;
    {
        StageTimer t(&r, "analyze");
        PODPROMO_ASSIGN_OR_RETURN(frames, AnalyzeAudio(pcm, progress, cancel));
    }
    {
        StageTimer t(&r, "transcribe");
        if (imported) {
            PODPROMO_RETURN_IF_ERROR(CheckTranscriptFits(*imported, r.duration_ms));
            r.transcript = std::move(*imported);
            Report(progress, Stage::kTranscribe, 1);
        } else {
            PODPROMO_ASSIGN_OR_RETURN(r.transcript, Recognise(&pcm, frames, options, r, progress, cancel));
        }
    }
    if (options.on_transcribed) PODPROMO_RETURN_IF_ERROR(options.on_transcribed(r.transcript));
    pcm.samples = {};
    pcm.samples.shrink_to_fit();
    if (cancel && cancel->cancelled()) return Status::Cancelled();
    {
        StageTimer t(&r, "score");
        Report(progress, Stage::kScore, 0);
        PODPROMO_RETURN_IF_ERROR(ScoreEpisode(&r, &frames, options.genre, options.clips));
        Report(progress, Stage::kScore, 1);
    }
    r.frames = std::make_shared<const AudioFrames>(std::move(frames));
    return r;
}

Status ScoreEpisode(EpisodeResult* r, const AudioFrames* frames, const std::string& genre_option, int clips) {
    r->clips.clear();
    const auto words = r->transcript.AllWords();
    if (words.size() < 20) {
        return Status::InvalidInput(PrintableName(r->source) + ": no speech found (" + std::to_string(words.size()) +
                                    " words recognised)");
    }
    r->ads = DetectAdSpans(words);
    // Genre detection leaves the ad reads out.
    std::vector<Word> non_ad;
    for (const auto& w : words) {
        const bool in_ad = std::any_of(r->ads.begin(), r->ads.end(), [&](const AdSpan& a) {
            return w.start_ms >= a.start_ms && w.end_ms <= a.end_ms;
        });
        if (!in_ad) non_ad.push_back(w);
    }
    const EpisodeContext context = BuildEpisodeContext(words, r->transcript.events, r->ads, r->chapters);
    const double reactions_per_k =
        1000.0 * static_cast<double>(context.reactions.size()) / static_cast<double>(words.size());
    r->detection = DetectGenre(Tokenize(non_ad, 0, non_ad.size()), reactions_per_k);
    r->genre = genre_option == "auto" ? r->detection.genre : genre_option;
    auto genre_found = GenreByName(r->genre);
    if (!genre_found.ok()) return genre_found.status();
    const GenreProfile genre = *genre_found;
    const auto candidates = GenerateCandidates(words, r->platform, r->ads);
    // Features are independent per candidate: spread them over the cores, and keep only the score (a long
    // episode has tens of thousands of candidates; the chosen few get their features again below).
    std::vector<double> scores(candidates.size());
    const size_t n_threads = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), 8));
    std::vector<std::thread> pool;
    std::atomic<size_t> next{0};
    for (size_t k = 0; k < n_threads; ++k) {
        pool.emplace_back([&] {
            for (size_t i = next.fetch_add(1); i < candidates.size(); i = next.fetch_add(1)) {
                scores[i] = ScoreClip(ComputeFeatures(words, candidates[i], frames, r->platform, &context), genre,
                                      r->platform, candidates[i].DurationMs());
            }
        });
    }
    for (auto& th : pool) th.join();
    RankOptions ro;
    ro.max_clips = clips;
    const auto counts = WordCounts(words);
    for (size_t i : SelectClips(candidates, scores, r->platform, ro)) {
        r->clips.push_back(DescribeClip(words, candidates[i],
                                        ComputeFeatures(words, candidates[i], frames, r->platform, &context), genre,
                                        r->platform, counts));
    }
    for (auto& clip : r->clips) {
        clip.candidate =
            WithBreathingRoom(words, clip.candidate, std::min(kMaxClipMs, r->platform.max_ms), r->duration_ms);
    }
    if (r->clips.empty()) {
        return Status::InvalidInput(PrintableName(r->source) + ": no span of speech fits a " + r->platform.display +
                                    " clip (" + std::to_string(r->platform.min_ms / 1000) + "–" +
                                    std::to_string(r->platform.max_ms / 1000) + " s) outside sponsor reads");
    }
    r->files.assign(r->clips.size(), {});
    return Status::Ok();
}

Result<ScoredClip> DescribeSpan(const EpisodeResult& r, const AudioFrames* frames, Ms start_ms, Ms end_ms) {
    const auto words = r.transcript.AllWords();
    Candidate c;
    c.first_word = words.size();
    for (size_t i = 0; i < words.size(); ++i) {
        if (words[i].start_ms < start_ms || words[i].end_ms > end_ms) continue;
        if (c.first_word == words.size()) c.first_word = i;
        c.end_word = i + 1;
    }
    if (c.first_word == words.size()) return Status::InvalidInput("no words fall inside the chosen span");
    c.start_ms = words[c.first_word].start_ms;
    c.end_ms = words[c.end_word - 1].end_ms;
    if (c.DurationMs() < kMinClipMs || c.DurationMs() > kMaxClipMs) {
        return Status::InvalidInput(fmt::format("the span's words last {:.1f} s; a clip lasts {}–{} s",
                                                Sec(c.DurationMs()), kMinClipMs / 1000, kMaxClipMs / 1000));
    }
    auto genre = GenreByName(r.genre);
    if (!genre.ok()) return genre.status();
    const EpisodeContext context = BuildEpisodeContext(words, r.transcript.events, r.ads, r.chapters);
    ScoredClip clip = DescribeClip(words, c, ComputeFeatures(words, c, frames, r.platform, &context), *genre,
                                   r.platform, WordCounts(words));
    clip.candidate = WithBreathingRoom(words, clip.candidate, kMaxClipMs, r.duration_ms);
    return clip;
}

Candidate WithBreathingRoom(const std::vector<Word>& words, const Candidate& c, Ms max_ms, Ms media_end_ms) {
    constexpr Ms kLead = 150, kTail = 300;
    Candidate out = c;
    // Never more than half the silence to the neighbouring word, so no part of it is heard.
    const Ms prev_end = c.first_word > 0 ? words[c.first_word - 1].end_ms : 0;
    const Ms next_start = c.end_word < words.size() ? words[c.end_word].start_ms : c.end_ms + 2 * kTail;
    out.start_ms = std::max(c.start_ms - kLead, prev_end + (c.start_ms - prev_end + 1) / 2);
    out.start_ms = std::min(out.start_ms, c.start_ms);
    out.end_ms = std::max(c.end_ms, std::min(c.end_ms + kTail, next_start - (next_start - c.end_ms) / 2));
    if (media_end_ms > 0) out.end_ms = std::max(c.end_ms, std::min(out.end_ms, media_end_ms));
    // The platform's longest clip still holds: trim the room, tail first.
    if (out.DurationMs() > max_ms) out.end_ms = std::max(c.end_ms, out.start_ms + max_ms);
    if (out.DurationMs() > max_ms) out.start_ms = std::min(c.start_ms, out.end_ms - max_ms);
    return out;
}

Status ValidateMedia(const MediaOptions& media, const std::string& platform) {
    auto preset = PresetFor(platform, media.aspect);
    if (!preset.ok()) return preset.status();
    PODPROMO_RETURN_IF_ERROR(StyleFrom(ChoiceOf(media.style)).status());
    if (!media.background.empty() && !IsHexColour(media.background)) {
        return Status::InvalidInput("background '" + media.background + "' is not RRGGBB hex (e.g. 1B1F3B)");
    }
    if (media.cover) {
        auto info = ProbeImage(*media.cover);
        if (!info.ok()) return Status::InvalidInput("the cover " + PrintableName(*media.cover) + " is not an image");
    }
    return Status::Ok();
}

namespace {

// Reads render option `key` into `out` (OptionValueText), leaving it as it is when absent.
Status OptionText(const json& j, const char* key, std::string* out) {
    if (!j.contains(key) || j[key].is_null()) return Status::Ok();
    PODPROMO_ASSIGN_OR_RETURN(*out, OptionValueText(j[key], key));
    return Status::Ok();
}

Status WholeNumber(const std::string& text, const char* what, int* out) {
    if (text.empty()) return Status::Ok();
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || v < -1000 || v > 1000) {
        return Status::InvalidInput(std::string(what) + " must be a whole number of pixels");
    }
    *out = static_cast<int>(v);
    return Status::Ok();
}

}  // namespace

Result<std::string> OptionValueText(const json& value, const std::string& key) {
    if (value.is_null()) return std::string();
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number_integer()) return std::to_string(value.get<long long>());
    if (value.is_boolean()) return std::string(value.get<bool>() ? "true" : "false");
    return Status::InvalidInput(key + " must be text");
}

Result<MediaOptions> MediaOptionsFromJson(const json& j, const std::string& platform) {
    if (!j.is_object()) return Status::InvalidInput("render options must be a JSON object");
    MediaOptions m;
    StyleChoice choice;
    std::string size, outline, uppercase;
    for (const auto& [key, out] :
         std::initializer_list<std::pair<const char*, std::string*>>{{"aspect", &m.aspect},
                                                                     {"style", &choice.name},
                                                                     {"font", &choice.font},
                                                                     {"color", &choice.color},
                                                                     {"highlight", &choice.highlight},
                                                                     {"position", &choice.position},
                                                                     {"background", &m.background},
                                                                     {"size", &size},
                                                                     {"outline", &outline},
                                                                     {"uppercase", &uppercase}}) {
        PODPROMO_RETURN_IF_ERROR(OptionText(j, key, out));
    }
    PODPROMO_RETURN_IF_ERROR(WholeNumber(size, "size", &choice.size));
    PODPROMO_RETURN_IF_ERROR(WholeNumber(outline, "outline", &choice.outline));
    if (!uppercase.empty() && uppercase != "true" && uppercase != "false") {
        return Status::InvalidInput("uppercase must be true or false");
    }
    if (!uppercase.empty()) choice.uppercase = uppercase == "true";
    if (m.aspect.empty()) m.aspect = "9:16";
    if (choice.name.empty()) choice.name = "bold";
    PODPROMO_ASSIGN_OR_RETURN(m.style, StyleFrom(choice));
    PODPROMO_RETURN_IF_ERROR(ValidateMedia(m, platform));
    return m;
}

json MediaOptionsToJson(const MediaOptions& m) {
    json j = {{"aspect", m.aspect},         {"style", m.style.name},          {"font", m.style.font},
              {"color", m.style.color},     {"highlight", m.style.highlight}, {"size", m.style.size},
              {"outline", m.style.outline}, {"position", m.style.position},   {"uppercase", m.style.uppercase}};
    if (!m.background.empty()) j["background"] = m.background;
    return j;
}

Result<RenderRequest> RenderRequestFor(const EpisodeResult& r, const ScoredClip& clip, const MediaOptions& media) {
    const Candidate& c = clip.candidate;
    PODPROMO_ASSIGN_OR_RETURN(const RenderPreset preset, PresetFor(r.platform.name, media.aspect));
    RenderRequest rq;
    rq.source = r.source;
    rq.start_ms = c.start_ms;
    rq.end_ms = c.end_ms;
    rq.words = ClipWords(r.transcript.AllWords(), c);
    rq.preset = preset;
    rq.style = media.style;
    rq.title = clip.title;
    rq.has_video = r.media.has_video;
    rq.src_width = r.media.width;
    rq.src_height = r.media.height;
    rq.cover = media.cover;
    rq.source_has_cover = r.media.has_cover_art;
    rq.background = media.background;
    rq.logo = media.logo;
    return rq;
}

Status WriteClipFiles(const EpisodeResult& r, const ScoredClip& clip, const fs::path& dir, const std::string& stem,
                      const MediaOptions& media, ClipFiles* files, const CancelToken* cancel, FileSystem* disk) {
    const Candidate& c = clip.candidate;
    const auto words = r.transcript.AllWords();
    if (media.video) {
        auto request = RenderRequestFor(r, clip, media);
        if (!request.ok()) return request.status();
        const RenderRequest& rq = *request;
        RenderOutputs outs{dir / (stem + ".mp4"), media.audio ? dir / (stem + ".m4a") : fs::path(),
                           dir / (stem + ".jpg")};
        auto rendered = RenderClip(rq, outs, cancel);
        if (!rendered.ok()) return rendered.status();
        files->video = stem + ".mp4";
        files->thumbnail = stem + ".jpg";
        if (media.audio) files->audio = stem + ".m4a";
    } else if (media.audio) {
        PODPROMO_RETURN_IF_ERROR(CutAudio(r.source, c.start_ms, c.end_ms, dir / (stem + ".m4a"), cancel));
        files->audio = stem + ".m4a";
    }
    const auto cues = CuesFromWords(ClipWords(words, c), c.start_ms);
    PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / (stem + ".srt"), FormatSrt(cues), disk));
    PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / (stem + ".vtt"), FormatVtt(cues), disk));
    std::string post = clip.title + "\n\n";
    for (const auto& tag : clip.hashtags) post += (post.back() == '\n' ? "" : " ") + tag;
    PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / (stem + ".txt"), post + "\n", disk));
    files->srt = stem + ".srt";
    files->vtt = stem + ".vtt";
    files->post = stem + ".txt";
    return Status::Ok();
}

int RemoveStaging(const fs::path& out_dir, const std::string& prefix) {
    int removed = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out_dir, ec)) {
        if (e.path().filename().string().rfind(prefix, 0) != 0) continue;
        removed += fs::remove_all(e.path(), ec) > 0 ? 1 : 0;
    }
    return removed;
}

Status WriteOutputs(EpisodeResult* r, const fs::path& out_dir, const MediaOptions& media, const ProgressFn& progress,
                    const CancelToken* cancel, FileSystem* disk, const PublishFn& publish) {
    std::error_code ec;
    const bool created = !fs::exists(out_dir, ec);
    if (created && !fs::create_directories(out_dir, ec) && ec) {
        return StatusFromErrno(ec.value(), "cannot create " + out_dir.string());
    }
    if (!fs::is_directory(out_dir, ec)) return Status::InvalidInput(out_dir.string() + " is not a directory");
    Status st = [&]() -> Status {
        auto staging = StagingDir::Create(out_dir, media.staging_prefix);
        if (!staging.ok()) return staging.status();
        const fs::path& dir = staging->path();
        r->files.assign(r->clips.size(), {});
        std::vector<Status> clip_status(r->clips.size());
        std::atomic<size_t> next{0}, done{0};
        std::atomic<bool> failed{false};
        const bool heavy = media.video || media.audio;
        const size_t cores = std::max(1u, std::thread::hardware_concurrency());
        const size_t workers = heavy ? std::max<size_t>(1, std::min(cores, r->clips.size())) : 1;
        // Clips render side by side, one per core; each encoder may use every core, so the last clip left
        // running does not leave the others idle.
        if (heavy) Report(progress, Stage::kRender, 0);
        auto worker = [&] {
            for (size_t i = next.fetch_add(1); i < r->clips.size() && !failed; i = next.fetch_add(1)) {
                clip_status[i] = WriteClipFiles(*r, r->clips[i], dir, fmt::format("clip_{:02}", i + 1), media,
                                                &r->files[i], cancel, disk);
                if (!clip_status[i].ok()) failed = true;
                if (heavy) {
                    Report(progress, Stage::kRender,
                           static_cast<double>(done.fetch_add(1) + 1) / static_cast<double>(r->clips.size()));
                }
            }
        };
        std::vector<std::thread> pool;
        for (size_t k = 0; k < workers; ++k) pool.emplace_back(worker);
        for (auto& th : pool) th.join();
        if (cancel && cancel->cancelled()) return Status::Cancelled();
        for (const auto& s : clip_status) PODPROMO_RETURN_IF_ERROR(s);
        Report(progress, Stage::kWrite, 0);
        const auto all_cues = TranscriptCues(r->transcript);
        PODPROMO_RETURN_IF_ERROR(
            WriteFileAtomic(dir / "transcript.json", DumpJson(TranscriptToJson(r->transcript), 2), disk));
        PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / "transcript.srt", FormatSrt(all_cues), disk));
        PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / "transcript.vtt", FormatVtt(all_cues), disk));
        PODPROMO_RETURN_IF_ERROR(WriteFileAtomic(dir / "result.json", DumpJson(ResultToJson(*r), 2), disk));
        if (cancel && cancel->cancelled()) return Status::Cancelled();
        // Everything is complete: move it into place (result.json last, so its presence means "done").
        std::vector<fs::path> entries;
        for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path());
        std::stable_partition(entries.begin(), entries.end(),
                              [](const fs::path& p) { return p.filename() != "result.json"; });
        const auto move = [&]() -> Status {
            std::error_code gone;
            for (const auto& p : entries) {
                if (!fs::exists(p, gone)) continue;  // moved by an earlier run of this (a retried transaction)
                PODPROMO_RETURN_IF_ERROR(disk->Rename(p, out_dir / p.filename()));
            }
            return Status::Ok();
        };
        // (Reported before publishing: the job's own progress is not written once its success is.)
        Report(progress, Stage::kWrite, 1);
        PODPROMO_RETURN_IF_ERROR(publish ? publish(move) : move());
        return Status::Ok();
    }();
    if (!st.ok() && created) fs::remove_all(out_dir, ec);
    return st;
}

json AnalysisSummaryJson(const EpisodeResult& r) {
    json ads = json::array();
    for (const auto& a : r.ads) ads.push_back({{"start", Sec(a.start_ms)}, {"end", Sec(a.end_ms)}, {"cue", a.cue}});
    json genre_scores = json::object();
    for (const auto& [k, v] : r.detection.scores) genre_scores[k] = Round3(v);
    json stages = json::object();
    for (const auto& [k, v] : r.stage_ms) stages[k] = Sec(v);
    json out = {{"genre_scores", genre_scores}, {"ad_spans", ads}, {"stage_seconds", stages}};
    if (!r.chapters.empty()) out["chapters"] = ChaptersToJson(r.chapters);
    return out;
}

json ChaptersToJson(const std::vector<Chapter>& chapters) {
    json list = json::array();
    for (const auto& c : chapters) list.push_back({{"start", Sec(c.start_ms)}, {"title", c.title}});
    return list;
}

std::vector<Chapter> ChaptersFromJson(const json& list) {
    std::vector<Chapter> out;
    if (!list.is_array()) return out;
    for (const auto& c : list) {
        if (!c.is_object() || !c.contains("start") || !c["start"].is_number()) continue;
        out.push_back(
            {static_cast<Ms>(std::llround(c["start"].get<double>() * 1000)), c.value("title", std::string())});
    }
    return out;
}

json ResultToJson(const EpisodeResult& r) {
    json clips = json::array();
    for (size_t i = 0; i < r.clips.size(); ++i) {
        const auto& c = r.clips[i];
        json features = json::object();
        for (const auto& [k, v] : c.features.values) features[k] = Round3(v);
        json files = json::object();
        const ClipFiles cf = i < r.files.size() ? r.files[i] : ClipFiles{};
        auto file_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
        files["video"] = file_or_null(cf.video);
        files["audio"] = file_or_null(cf.audio);
        files["thumbnail"] = file_or_null(cf.thumbnail);
        files["post"] = file_or_null(cf.post);
        files["srt"] = file_or_null(cf.srt);
        files["vtt"] = file_or_null(cf.vtt);
        clips.push_back({{"id", fmt::format("{}_c{}", r.id, i + 1)},
                         {"rank", i + 1},
                         {"start", Sec(c.candidate.start_ms)},
                         {"end", Sec(c.candidate.end_ms)},
                         {"duration", Sec(c.candidate.DurationMs())},
                         {"score", Round3(c.score)},
                         {"display_score", c.display_score},
                         {"confidence", Name(c.confidence)},
                         {"platform", r.platform.name},
                         {"genre", r.genre},
                         {"scoring_path", c.path},
                         {"title", c.title},
                         {"hashtags", c.hashtags},
                         {"text", c.text},
                         {"features", features},
                         {"explanation", c.explanation},
                         {"files", files}});
    }
    const json summary = AnalysisSummaryJson(r);
    json episode = {{"id", r.id},
                    {"title", r.title},
                    {"status", "succeeded"},
                    {"filename", r.source.filename().string()},
                    {"duration", Sec(r.duration_ms)},
                    {"format", r.media.format},
                    {"has_video", r.media.has_video},
                    {"genre", r.genre},
                    {"detected_genre", r.detection.genre},
                    {"genre_scores", summary["genre_scores"]},
                    {"platform", r.platform.name},
                    {"ad_spans", summary["ad_spans"]},
                    {"stage_seconds", summary["stage_seconds"]}};
    return {{"episode", episode}, {"transcript", TranscriptToJson(r.transcript)}, {"clips", clips}};
}

}  // namespace podpromo
