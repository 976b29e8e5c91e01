// podpromo: the command-line entry point.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include "accounts_cmd.h"
#include "podpromo/core/config.h"
#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"
#include "podpromo/files/storage.h"
#include "podpromo/jobs/pipeline.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"
#include "serve.h"

namespace {

using podpromo::CancelToken;
using podpromo::ReportFailure;
using podpromo::Status;
namespace fs = std::filesystem;

CancelToken g_cancel;

// The first Ctrl-C asks the work to stop and clean up; a second one ends the process at once.
extern "C" void OnSignal(int) {
    if (g_cancel.cancelled()) _exit(130);
    g_cancel.Cancel();
}

// Prints "[ 42%] transcribe  0:12 elapsed, ETA 0:16" to stderr: in place on a terminal, one line per step
// otherwise. Stages are weighted by their typical share of the run. Thread-safe.
class ProgressPrinter {
  public:
    explicit ProgressPrinter(bool transcribing, bool writing, bool rendering)
        : tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {
        // Start offset and weight (share of the whole) of each stage.
        std::vector<std::pair<std::string, double>> w = {{"download", 0},
                                                         {"probe", 1},
                                                         {"decode", 4},
                                                         {"analyze", 3},
                                                         {"transcribe", transcribing ? 80.0 : 1.0},
                                                         {"score", 4},
                                                         {"render", rendering ? 40.0 : 0.0},
                                                         {"write", writing ? 1.0 : 0.0}};
        double total = 0;
        for (auto& [_, x] : w) total += x;
        double at = 0;
        for (auto& [name, x] : w) {
            stages_[name] = {at / total, x / total};
            at += x;
        }
    }
    void operator()(std::string_view stage, double fraction) {
        std::lock_guard<std::mutex> lock(mu_);
        const auto it = stages_.find(std::string(stage));
        if (it == stages_.end()) return;
        const double overall = std::clamp(it->second.first + it->second.second * fraction, 0.0, 1.0);
        const int pct = static_cast<int>(overall * 100.0);
        if (pct <= last_pct_ && stage == last_stage_) return;
        if (!tty_ && stage == last_stage_ && pct < last_pct_ + 5 && fraction < 1.0) return;
        last_pct_ = std::max(last_pct_, pct);
        last_stage_ = std::string(stage);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        std::string eta = "--:--";
        if (overall > 0.03) {
            const auto left = static_cast<podpromo::Ms>(elapsed / overall * (1.0 - overall) * 1000.0);
            eta = podpromo::FormatClock(left, false);
        }
        const std::string line =
            fmt::format("[{:3}%] {:<10} {} elapsed, ETA {}", last_pct_, stage,
                        podpromo::FormatClock(static_cast<podpromo::Ms>(elapsed * 1000), false), eta);
        if (tty_) {
            std::fprintf(stderr, "\r%-70s", line.c_str());
        } else {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
        std::fflush(stderr);
    }
    void Finish() {
        std::lock_guard<std::mutex> lock(mu_);
        if (tty_) std::fprintf(stderr, "\n");
    }

  private:
    bool tty_;
    std::chrono::steady_clock::time_point start_;
    std::map<std::string, std::pair<double, double>> stages_;
    std::mutex mu_;
    int last_pct_ = -1;
    std::string last_stage_;
};

std::string Shorten(const std::string& s, size_t n) {
    return podpromo::Utf8Length(s) <= n ? s : podpromo::TruncateUtf8(s, n) + "…";
}

void PrintTable(const podpromo::EpisodeResult& r) {
    std::cout << fmt::format("{} — {} — genre {}{} — {} clips for {}\n", r.title,
                             podpromo::FormatClock(r.duration_ms, false), r.genre,
                             r.genre == r.detection.genre ? " (detected)" : "", r.clips.size(), r.platform.display);
    std::cout << fmt::format("{:>4}  {:<17}  {:>5}  {:>5}  {:<6}  {:<38}  {}\n", "rank", "start–end", "len", "score",
                             "conf", "first words", "why");
    for (size_t i = 0; i < r.clips.size(); ++i) {
        const auto& c = r.clips[i];
        const std::string span =
            podpromo::FormatClock(c.candidate.start_ms) + "–" + podpromo::FormatClock(c.candidate.end_ms);
        const std::string why = c.explanation.empty() ? "" : c.explanation.front();
        std::cout << fmt::format("{:>4}  {:<17}  {:>4.0f}s  {:>5}  {:<6}  {:<38}  {}\n", i + 1, span,
                                 static_cast<double>(c.candidate.DurationMs()) / 1000.0, c.display_score,
                                 podpromo::Name(c.confidence), Shorten(c.text, 36), why);
        for (size_t k = 1; k < c.explanation.size(); ++k) std::cout << fmt::format("{:>88}{}\n", "", c.explanation[k]);
    }
}

// A cover named on the command line is read as an uploaded one is: renders use a normalised copy (NormalizeImage)
// in a scratch directory that goes with this object; the user's file is never changed.
class CoverCopy {
  public:
    CoverCopy() = default;
    CoverCopy(const CoverCopy&) = delete;
    CoverCopy& operator=(const CoverCopy&) = delete;
    ~CoverCopy() {
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }
    // Points `cover` at the copy.
    Status Make(fs::path* cover) {
        std::string tmpl = (fs::temp_directory_path() / (podpromo::WorkScratchPrefix("cover") + "XXXXXX")).string();
        if (mkdtemp(tmpl.data()) == nullptr) return podpromo::StatusFromErrno(errno, "cannot make a scratch folder");
        dir_ = tmpl;
        const fs::path copy = dir_ / "cover.jpg";
        std::error_code ec;
        if (!fs::copy_file(*cover, copy, ec)) return Status::IoError("cannot copy the cover: " + ec.message());
        if (Status st = podpromo::NormalizeImage(copy, &g_cancel); !st.ok()) {
            return Status(st.code(), "the cover " + podpromo::PrintableName(*cover) + ": " + st.message());
        }
        *cover = copy;
        return Status::Ok();
    }

  private:
    fs::path dir_;
};

// Processes one episode and prints its clips (or the result document).
int ProcessEpisode(const std::string& file, const podpromo::PipelineOptions& options, const std::string& out_dir,
                   podpromo::MediaOptions media, bool json_out) {
    Status valid = podpromo::ValidateOptions(options);
    if (valid.ok()) valid = podpromo::ValidateMedia(media, options.platform);
    CoverCopy cover;
    if (valid.ok() && media.cover && !out_dir.empty()) valid = cover.Make(&*media.cover);
    if (!valid.ok()) {
        return ReportFailure(valid);
    }
    ProgressPrinter printer(!options.transcript.has_value(), !out_dir.empty(),
                            !out_dir.empty() && (media.audio || media.video));
    auto progress = [&](podpromo::Stage stage, double f) { printer(podpromo::Name(stage), f); };
    auto result = podpromo::AnalyzeEpisode(file, options, progress, &g_cancel);
    Status st = result.status();
    if (st.ok() && !out_dir.empty()) st = podpromo::WriteOutputs(&*result, out_dir, media, progress, &g_cancel);
    printer.Finish();
    if (!st.ok()) {
        return ReportFailure(st);
    }
    if (json_out) {
        std::cout << podpromo::DumpJson(podpromo::ResultToJson(*result), 2) << "\n";
    } else {
        PrintTable(*result);
        if (!out_dir.empty()) std::cout << "\nWrote " << out_dir << "/result.json and the clip files.\n";
    }
    return 0;
}

// `podpromo process`'s flags, as given.
struct ProcessFlags {
    std::string file, genre = "auto", platform = "tiktok", transcript, out_dir, title, show, terms;
    int clips = 5, threads = 0;
    std::vector<std::string> asr_flags;
    std::string asr_engine, asr_url, asr_model, asr_language, asr_prompt;
    double asr_chunk_seconds = 0;
    bool json_out = false, no_render = false, no_video = false, no_narrowband = false;
    std::string aspect = "9:16", cover, style_name = "bold", caption_font, caption_color, highlight_color;
    int caption_size = 0;
};

void AddRecognitionFlags(CLI::App* process, ProcessFlags* f) {
    process->add_option("--show", f->show, "The show's name (SHOW_NAME): a vocabulary hint for recognition");
    process->add_option("--terms", f->terms,
                        "Names and terms said in the episode, comma-separated (ASR_TERMS), so they come out right: "
                        "pocketsphinx adds them to its dictionary, Whisper engines get them in the prompt");
    process->add_option("--threads", f->threads, "Recognition threads (default: one per core)");
    process->add_option("--asr-flag", f->asr_flags,
                        "Advanced: a pocketsphinx decoder flag as NAME=VALUE (e.g. -lw=7), repeatable");
    process->add_option("--asr-engine", f->asr_engine,
                        "pocketsphinx (built in), openai (the OpenAI transcription API shape) or whisper-server "
                        "(whisper.cpp's server); default ASR_ENGINE or pocketsphinx");
    process->add_option("--asr-url", f->asr_url, "The engine's base URL (ASR_URL), e.g. https://api.openai.com");
    process->add_option("--asr-model", f->asr_model, "The engine's model (ASR_MODEL, default whisper-1)");
    process->add_option("--asr-language", f->asr_language,
                        "Spoken language, ISO 639-1 (ASR_LANGUAGE; default: detected)");
    process->add_option("--asr-prompt", f->asr_prompt,
                        "The Whisper engine's prompt as is (default: built from --show, --title and --terms)");
    process->add_option("--asr-chunk-seconds", f->asr_chunk_seconds,
                        "Advanced: seconds of audio per request to the engine (default 600)");
    process->add_flag("--no-narrowband", f->no_narrowband,
                      "Advanced: recognise 8 kHz (phone-line) speech as it is, without predicting the band above "
                      "4 kHz it lacks (pocketsphinx)");
}

void AddRenderFlags(CLI::App* process, ProcessFlags* f) {
    process->add_flag("--no-render", f->no_render,
                      "With --out: skip the video and audio files, write captions and JSON only");
    process->add_flag("--no-video", f->no_video, "With --out: write the audio cuts but no videos");
    process->add_option("--aspect", f->aspect, "Video frame: 9:16, 4:5, 1:1 or 16:9")->capture_default_str();
    process->add_option("--style", f->style_name, "Caption style: bold, clean or boxed")->capture_default_str();
    process->add_option("--caption-font", f->caption_font, "Caption font family (fontconfig name)");
    process->add_option("--caption-color", f->caption_color, "Caption colour, RRGGBB");
    process->add_option("--highlight-color", f->highlight_color, "Colour of the word being spoken, RRGGBB");
    process->add_option("--caption-size", f->caption_size, "Caption size in px on a 1920-high frame (24-200)");
    process->add_option("--cover", f->cover,
                        "Audiogram background image (default: the episode's cover art, or a gradient)");
}

CLI::App* AddProcessCommand(CLI::App* app, ProcessFlags* f) {
    auto* process = app->add_subcommand("process", "Process one episode end to end, without a server");
    process
        ->add_option("FILE", f->file,
                     "Episode: any audio or video file (mp3, wav, m4a, flac, ogg, mp4, mov, mkv, webm...)")
        ->required();
    process
        ->add_option("--genre", f->genre,
                     "auto|general|business|comedy|true_crime|education|health_wellness|news_politics|sports")
        ->capture_default_str();
    process->add_option("--platform", f->platform, "tiktok|shorts|reels|linkedin|x")->capture_default_str();
    process->add_option("--clips", f->clips, "How many clips (1-50)")->capture_default_str();
    process->add_option("--transcript", f->transcript,
                        "Use this transcript (SRT, WebVTT or whisper JSON) instead of recognising");
    process->add_option("--out", f->out_dir, "Write result.json, transcripts and clip files into this directory");
    process->add_option("--title", f->title, "Episode title (default: the file name)");
    AddRecognitionFlags(process, f);
    AddRenderFlags(process, f);
    process->add_flag("--json", f->json_out, "Print the result document as JSON instead of a table");
    return process;
}

// Recognition: the environment's settings, then the flags (the API key only from ASR_API_KEY, so it never shows in
// a process list).
Status SetRecognition(const ProcessFlags& f, podpromo::PipelineOptions* options) {
    for (const auto& flag : f.asr_flags) {
        const auto eq = flag.find('=');
        if (eq == std::string::npos || eq == 0 || flag[0] != '-') {
            return Status::InvalidInput("--asr-flag wants -NAME=VALUE, got '" + flag + "'");
        }
        options->asr.flags.emplace_back(flag.substr(0, eq), flag.substr(eq + 1));
    }
    podpromo::AsrSettings asr;
    PODPROMO_RETURN_IF_ERROR(podpromo::LoadAsrSettingsFromEnv(&asr));
    if (!f.asr_engine.empty()) {
        auto engine = podpromo::ParseAsrEngine(f.asr_engine, "--asr-engine");
        if (!engine.ok()) return engine.status();
        asr.engine = *engine;
    }
    for (const auto& [flag, setting] : {std::pair{&f.asr_url, &asr.url}, std::pair{&f.asr_model, &asr.model},
                                        std::pair{&f.asr_language, &asr.language}, std::pair{&f.show, &asr.show_name},
                                        std::pair{&f.terms, &asr.terms}}) {
        if (!flag->empty()) *setting = *flag;
    }
    PODPROMO_RETURN_IF_ERROR(podpromo::ValidateAsrEngine(asr.engine, asr.url));
    options->show = asr.show_name;
    options->terms = podpromo::ParseTerms(asr.terms);
    if (asr.engine != podpromo::AsrEngine::kPocketsphinx) {
        podpromo::WhisperHttpConfig w = podpromo::WhisperConfigFrom(asr);
        w.prompt = f.asr_prompt;
        if (f.asr_chunk_seconds > 0) {
            w.chunk_target_ms = static_cast<podpromo::Ms>(f.asr_chunk_seconds * 1000);
            w.chunk_max_ms = w.chunk_target_ms * 6 / 5;
        }
        options->whisper = w;
    }
    return Status::Ok();
}

int RunProcessCommand(const ProcessFlags& f) {
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    podpromo::PipelineOptions options;
    options.genre = f.genre;
    options.platform = f.platform;
    options.clips = f.clips;
    options.title = f.title;
    options.asr.threads = f.threads;
    options.asr.extend_narrowband = !f.no_narrowband;
    if (!f.transcript.empty()) options.transcript = f.transcript;
    podpromo::MediaOptions media;
    media.aspect = f.aspect;
    media.audio = !f.no_render;
    media.video = !f.no_render && !f.no_video;
    if (!f.cover.empty()) media.cover = f.cover;
    // Unset style fields keep the chosen style's own.
    auto style =
        podpromo::StyleByName(f.style_name, f.caption_font, f.caption_color, f.highlight_color, f.caption_size);
    Status st = style.status();
    if (st.ok()) st = SetRecognition(f, &options);
    if (!st.ok()) {
        return ReportFailure(st);
    }
    media.style = *style;
    return ProcessEpisode(f.file, options, f.out_dir, media, f.json_out);
}

// The service's subcommands' flags: serve, migrate and cleanup.
struct ServiceFlags {
    CLI::App *serve = nullptr, *worker = nullptr, *migrate = nullptr, *cleanup = nullptr;
    std::string host, data_dir, migrate_from;
    int port = -1;
    std::string status_host = "127.0.0.1";
    int status_port = 9464;
    bool dry_run = false, remove_orphans = false, cleanup_json = false;
};

void AddServiceCommands(CLI::App* app, ServiceFlags* f) {
    f->serve = app->add_subcommand("serve", "Run the HTTP API, the job queue and its workers");
    f->serve->add_option("--host", f->host, "Address to listen on (HOST, default 127.0.0.1)");
    f->serve->add_option("--port", f->port, "Port (PORT, default 8080; 0 picks a free one)");
    f->serve->add_option("--data-dir", f->data_dir,
                         "Uploads, outputs and the SQLite database (DATA_DIR, default ./data)");
    f->serve->footer(
        "Environment: DATABASE_URL DATA_DIR MAX_FILE_SIZE MAX_STORAGE_GB MAX_CONCURRENT_JOBS MAX_QUEUE_SIZE\n"
        "CLEANUP_INTERVAL_HOURS SOURCE_RETENTION_DAYS CLIP_RETENTION_DAYS WORK_RETENTION_HOURS\n"
        "METRICS_RETENTION_HOURS HTTP_THREADS MAX_EVENT_STREAMS JOB_LEASE_SECONDS JOB_MAX_ATTEMPTS\n"
        "RETRY_BACKOFF_SECONDS ASR_THREADS HEALTH_MIN_FREE_DISK_PERCENT HEALTH_MAX_MEMORY_PERCENT\n"
        "HEALTH_MAX_QUEUE_AGE_SECONDS LOG_FORMAT LOG_LEVEL HOST PORT (see README.md)");
    f->worker = app->add_subcommand(
        "worker", "Run workers only, for more machines sharing one PostgreSQL database and one storage root");
    f->worker->add_option("--data-dir", f->data_dir, "The shared storage root (DATA_DIR, default ./data)");
    f->worker->add_option("--status-host", f->status_host, "Address of the /livez and /metrics port (127.0.0.1)");
    f->worker->add_option("--status-port", f->status_port, "Port for /livez and /metrics (9464; 0 picks a free one)");
    f->worker->footer(
        "Environment: DATABASE_URL (postgresql://…, the same as every serve's) MAX_CONCURRENT_JOBS JOB_LEASE_SECONDS\n"
        "JOB_MAX_ATTEMPTS RETRY_BACKOFF_SECONDS ASR_* METRICS_TOKEN LOG_FORMAT LOG_LEVEL (see README.md, \"Many "
        "machines\")");
    f->migrate = app->add_subcommand("migrate", "Apply the database migrations and exit");
    f->migrate->add_option("--data-dir", f->data_dir, "Data directory (DATA_DIR, default ./data)");
    f->migrate->add_option("--from", f->migrate_from,
                           "Then copy every row of this database (sqlite:///path/podpromo.db) into DATABASE_URL's, "
                           "which must be empty: moving a SQLite start to PostgreSQL");
    f->cleanup = app->add_subcommand(
        "cleanup", "Archive old sources, expire old clips, remove leftovers, and report files and rows that disagree");
    f->cleanup->add_option("--data-dir", f->data_dir, "Data directory (DATA_DIR, default ./data)");
    f->cleanup->add_flag("--dry-run", f->dry_run, "List what would be done and the bytes it frees; change nothing");
    f->cleanup->add_flag("--remove-orphans", f->remove_orphans,
                         "Also remove files the database does not know and rows whose files are missing");
    f->cleanup->add_flag("--json", f->cleanup_json, "Print the report as JSON");
    f->cleanup->footer(
        "Environment: SOURCE_RETENTION_DAYS (30) CLIP_RETENTION_DAYS (90) WORK_RETENTION_HOURS (6) DATA_DIR\n"
        "DATABASE_URL. Safe while the service runs: episodes with queued or running jobs are left alone.");
}

// serve, migrate or cleanup: the environment's configuration, then the flags.
int RunServiceCommand(const ServiceFlags& f) {
    podpromo::ServiceConfig service;
    if (Status st = podpromo::LoadConfigFromEnv(&service); !st.ok()) {
        return ReportFailure(st);
    }
    if (!f.host.empty()) service.host = f.host;
    if (f.port >= 0) service.port = f.port;
    if (!f.data_dir.empty()) service.data_dir = f.data_dir;
    if (*f.cleanup) return podpromo::RunCleanupCommand(service, f.dry_run, f.remove_orphans, f.cleanup_json);
    if (*f.worker) return podpromo::RunWorker(service, f.status_host, f.status_port);
    return *f.serve ? podpromo::RunServe(service) : podpromo::RunMigrate(service, f.migrate_from);
}

// user add|passwd|disable|list and key create|revoke|list (cli/accounts_cmd.h).
struct AccountFlags {
    CLI::App *user = nullptr, *key = nullptr;
    podpromo::UserCommand user_command;
    podpromo::KeyCommand key_command;
    std::string data_dir;
};

void AddAccountCommands(CLI::App* app, AccountFlags* f) {
    f->user = app->add_subcommand("user", "Manage users");
    f->user->require_subcommand(1);
    auto& u = f->user_command;
    auto* add = f->user->add_subcommand("add", "Add a user; the password is read from standard input");
    add->add_option("name", u.name, "a-z 0-9 . _ -, at most 64")->required();
    add->add_flag("--admin", u.admin, "An administrator");
    auto* passwd = f->user->add_subcommand("passwd", "Set a user's password (read from standard input)");
    passwd->add_option("name", u.name)->required();
    auto* disable = f->user->add_subcommand("disable", "Disable a user: their sessions end, their keys are revoked");
    disable->add_option("name", u.name)->required();
    auto* link = f->user->add_subcommand("link", "Print a one-time sign-in link for a user (24 hours)");
    link->add_option("name", u.name)->required();
    link->add_option("--url", u.base_url, "The service's address as users reach it (default http://HOST:PORT)");
    auto* list = f->user->add_subcommand("list", "List the users");
    list->add_flag("--json", u.json, "As JSON");
    f->key = app->add_subcommand("key", "Manage API keys");
    f->key->require_subcommand(1);
    auto& k = f->key_command;
    auto* create = f->key->add_subcommand("create", "Make a key and print it once");
    create->add_option("--user", k.user, "Whose key")->required();
    create->add_option("--scopes", k.scopes, "Comma-separated: read, write, render, admin")->required();
    create->add_option("--name", k.name, "A note to tell it apart in lists");
    auto* revoke = f->key->add_subcommand("revoke", "Revoke a key at once");
    revoke->add_option("prefix", k.prefix, "The key's prefix as listed (pp_xxxxxxxx), or the key")->required();
    auto* keys = f->key->add_subcommand("list", "List a user's keys (never their secrets)");
    keys->add_option("--user", k.user)->required();
    keys->add_flag("--json", k.json, "As JSON");
    for (CLI::App* c : {add, passwd, disable, link, list, create, revoke, keys}) {
        c->add_option("--data-dir", f->data_dir, "Data directory (DATA_DIR, default ./data)");
    }
}

int RunAccountCommand(AccountFlags& f) {
    podpromo::ServiceConfig config;
    if (Status st = podpromo::LoadConfigFromEnv(&config); !st.ok()) return ReportFailure(st);
    if (!f.data_dir.empty()) config.data_dir = f.data_dir;
    if (*f.user) {
        f.user_command.action = f.user->get_subcommands().front()->get_name();
        return podpromo::RunUserCommand(config, f.user_command);
    }
    f.key_command.action = f.key->get_subcommands().front()->get_name();
    return podpromo::RunKeyCommand(config, f.key_command);
}

int Main(int argc, char** argv) {
    CLI::App app{"PodPromo: turn a podcast episode into ranked, explained promo clips"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("podpromo 0.1.0"));
    ProcessFlags process_flags;
    CLI::App* process = AddProcessCommand(&app, &process_flags);
    ServiceFlags service_flags;
    AddServiceCommands(&app, &service_flags);
    AccountFlags account_flags;
    AddAccountCommands(&app, &account_flags);
    CLI11_PARSE(app, argc, argv);
    if (*process) return RunProcessCommand(process_flags);
    if (*account_flags.user || *account_flags.key) return RunAccountCommand(account_flags);
    return RunServiceCommand(service_flags);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return Main(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "podpromo: internal error: " << e.what() << "\n";
        return 1;
    }
}
