// pocketsphinx 5prealpha backend: chunks split at pauses, decoded on all cores, one decoder per thread.
#include "podpromo/asr/pocketsphinx.h"

#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/cmd_ln.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fe.h>
#include <sphinxbase/ngram_model.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <thread>

#include "podpromo/asr/narrowband.h"
#include "podpromo/asr/segments.h"
#include "podpromo/monitor/log.h"

namespace podpromo {
namespace fs = std::filesystem;

namespace {

struct DecoderFreer {
    void operator()(ps_decoder_t* d) const { ps_free(d); }
};
using DecoderPtr = std::unique_ptr<ps_decoder_t, DecoderFreer>;

// Recogniser tokens that are not words: sentence marks, silence, fillers and noise.
bool IsNonWord(const char* w) { return w == nullptr || w[0] == '<' || w[0] == '[' || w[0] == '+' || w[0] == '\0'; }

// "word(2)" names the second pronunciation of "word".
std::string BaseWord(const char* w) {
    std::string s(w);
    const auto paren = s.find('(');
    if (paren != std::string::npos && paren > 0) s.resize(paren);
    return s;
}

// sphinxbase keeps process-wide state (its log file, its debug level) that ps_init, ps_free and fe_init rewrite:
// creating or freeing decoders while others run corrupts the heap. Shared by every transcriber in the process.
std::mutex& DecoderLifecycleMutex() {
    static std::mutex mu;
    return mu;
}

// Called with DecoderLifecycleMutex held.
ps_decoder_t* NewDecoder(const PocketsphinxConfig& config) {
    // Logging goes nowhere, set once for the process: a "-logfn" per decoder would make each new
    // decoder close the log file the running ones are writing to.
    static const bool quiet = [] {
        err_set_logfp(nullptr);
        return true;
    }();
    (void)quiet;
    const fs::path dir(config.model_dir);
    std::vector<std::pair<std::string, std::string>> args = {
        {"-hmm", (dir / "en-us").string()},
        {"-lm", (dir / "en-us.lm.bin").string()},
        {"-dict", (dir / "cmudict-en-us.dict").string()},
        {"-topn", "2"},
        {"-maxwpf", "5"},
        {"-maxhmmpf", "3000"},
        {"-fwdflat", "yes"},
        // Tuned on the real recordings (bench/asr_tuning.cc): a smaller word insertion penalty and wider
        // beams cut the pooled WER from 71.6% to 69.8% for ~5% more CPU.
        {"-wip", "0.2"},
        {"-beam", "1e-60"},
        {"-wbeam", "1e-40"},
    };
    for (const auto& f : config.flags) {
        auto it = std::find_if(args.begin(), args.end(), [&](const auto& a) { return a.first == f.first; });
        if (it != args.end()) {
            it->second = f.second;
        } else {
            args.push_back(f);
        }
    }
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.first.data());
        argv.push_back(a.second.data());
    }
    cmd_ln_t* cfg = cmd_ln_parse_r(nullptr, ps_args(), static_cast<int32>(argv.size()), argv.data(), FALSE);
    if (!cfg) return nullptr;
    ps_decoder_t* ps = ps_init(cfg);
    cmd_ln_free_r(cfg);
    return ps;
}

// The decoder's own front end, stopped at the log-mel spectrum so that spectrum can be changed (narrowband.h)
// before the cepstra are taken and handed to the decoder (ps_process_cep). Every front-end setting is copied from
// the decoder's configuration, so for unchanged audio the decoder sees exactly the cepstra ps_process_raw would
// give it; only the lifter is applied here, after the DCT (sphinxbase applies it to log spectra too).
class LogMelFrontEnd {
  public:
    // nullptr when the decoder's filterbank is not the one narrowband.h was made for (another model).
    static std::unique_ptr<LogMelFrontEnd> ForDecoder(ps_decoder_t* ps) {
        cmd_ln_t* dc = ps_get_config(ps);
        if (cmd_ln_int_r(dc, "-nfilt") != kMelBands || std::lround(cmd_ln_float_r(dc, "-lowerf")) != 130 ||
            std::lround(cmd_ln_float_r(dc, "-upperf")) != 6800 ||
            std::lround(cmd_ln_float_r(dc, "-samprate")) != 16000) {
            return nullptr;
        }
        const char* transform = cmd_ln_str_r(dc, "-transform");
        if (!transform || std::string_view(transform) != "dct") return nullptr;  // the DCT-II the cepstra below use
        std::vector<std::string> args;
        for (const arg_t* a = fe_get_args(); a->name; ++a) {
            const std::string name = a->name;
            if (name == "-logspec" || name == "-smoothspec" || name == "-lifter" || !cmd_ln_exists_r(dc, a->name)) {
                continue;
            }
            std::string value;
            if (a->type & ARG_BOOLEAN) {
                value = cmd_ln_int_r(dc, a->name) ? "yes" : "no";
            } else if (a->type & ARG_INTEGER) {
                value = std::to_string(cmd_ln_int_r(dc, a->name));
            } else if (a->type & ARG_FLOATING) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.9g", cmd_ln_float_r(dc, a->name));
                value = buf;
            } else if (a->type & ARG_STRING) {
                const char* v = cmd_ln_str_r(dc, a->name);
                if (!v) continue;
                value = v;
            } else {
                continue;
            }
            args.push_back(name);
            args.push_back(value);
        }
        for (const char* kv : {"-logspec", "yes", "-lifter", "0"}) args.emplace_back(kv);
        std::vector<char*> argv;
        argv.reserve(args.size());
        for (auto& a : args) argv.push_back(a.data());
        cmd_ln_t* fc = cmd_ln_parse_r(nullptr, fe_get_args(), static_cast<int32>(argv.size()), argv.data(), FALSE);
        if (!fc) return nullptr;
        fe_t* fe = fe_init_auto_r(fc);
        cmd_ln_free_r(fc);  // the front end keeps its own reference
        if (!fe) return nullptr;
        auto out = std::unique_ptr<LogMelFrontEnd>(new LogMelFrontEnd(fe));
        const long lifter = cmd_ln_int_r(dc, "-lifter");
        const long ncep = cmd_ln_int_r(dc, "-ncep");
        out->lifter_.assign(static_cast<size_t>(ncep), 1.0f);
        if (lifter > 0) {
            const long half = lifter / 2;  // sphinxbase's weights halve the lifter in integers
            for (long i = 0; i < ncep; ++i) {
                out->lifter_[static_cast<size_t>(i)] =
                    static_cast<float>(1.0 + static_cast<double>(half) *
                                                 std::sin(static_cast<double>(i) * M_PI / static_cast<double>(lifter)));
            }
        }
        return out;
    }

    ~LogMelFrontEnd() { fe_free(fe_); }
    LogMelFrontEnd(const LogMelFrontEnd&) = delete;
    LogMelFrontEnd& operator=(const LogMelFrontEnd&) = delete;

    // One utterance, as a new stream (so noise estimates do not carry over from the last one). The front end's
    // voice activity detection leaves long silence out, as the decoder's would; `index` gets the frame (10 ms
    // steps from the start) of every frame returned. The samples are fed one frame shift at a time, so each
    // call's output, which is always the latest frames, can be placed.
    std::vector<MelFrame> LogMel(std::span<const int16_t> pcm, std::vector<uint32_t>* index) {
        std::vector<MelFrame> out;
        index->clear();
        int shift = 0, size = 0;
        fe_get_input_size(fe_, &shift, &size);
        fe_start_stream(fe_);
        fe_start_utt(fe_);
        std::vector<MelFrame> buf(256);  // room for the detection's buffered lead-in, flushed at once
        std::vector<mfcc_t*> rows(buf.size());
        for (size_t i = 0; i < buf.size(); ++i) rows[i] = buf[i].data();
        const int16* in = pcm.data();
        size_t fed = 0, framed = 0;  // samples consumed; whole frames they make
        auto take = [&](int got, size_t framed) {
            for (int i = 0; i < got; ++i) {
                out.push_back(buf[static_cast<size_t>(i)]);
                const size_t back = static_cast<size_t>(got - i);  // frames from the end of what was framed
                index->push_back(static_cast<uint32_t>(framed >= back ? framed - back : 0));
            }
        };
        while (fed < pcm.size()) {
            size_t step = std::min<size_t>(static_cast<size_t>(shift), pcm.size() - fed);
            const size_t before = step;
            int got = static_cast<int>(buf.size());
            fe_process_frames(fe_, &in, &step, rows.data(), &got, nullptr);
            fed += before - step;
            framed = fed >= static_cast<size_t>(size) ? (fed - static_cast<size_t>(size)) / shift + 1 : 0;
            take(got, framed);
            if (before == step && got == 0) break;  // nothing consumed: cannot happen, but never loop forever
        }
        int last = 0;
        fe_end_utt(fe_, rows[0], &last);
        if (last > 0) take(1, framed + 1);  // the last, partial frame
        return out;
    }

    // The cepstra the decoder would have computed from these spectra, one row of `ncep` per frame.
    std::vector<mfcc_t> Cepstra(const std::vector<MelFrame>& frames) {
        const size_t ncep = lifter_.size();
        std::vector<mfcc_t> out(frames.size() * ncep);
        std::vector<mfcc_t> row(std::max<size_t>(ncep, kMelBands));
        for (size_t t = 0; t < frames.size(); ++t) {
            fe_logspec_dct2(fe_, frames[t].data(), row.data());
            for (size_t i = 0; i < ncep; ++i) out[t * ncep + i] = row[i] * lifter_[i];
        }
        return out;
    }

    size_t ncep() const { return lifter_.size(); }

  private:
    explicit LogMelFrontEnd(fe_t* fe) : fe_(fe) {}
    fe_t* fe_;
    std::vector<float> lifter_;
};

// The language model of the decoder's search. pocketsphinx 5prealpha's ps_get_search leaks its hash iterator (it
// returns from inside the loop without freeing it, 24 bytes a call, which LeakSanitizer reports), so the search a
// decoder made with -lm has is asked for by its name, PS_DEFAULT_SEARCH in the library's pocketsphinx_internal.h;
// ps_get_search only when that name is not there.
ngram_model_t* DecoderLanguageModel(ps_decoder_t* ps) {
    constexpr const char* kDefaultSearch = "_default";
    if (ngram_model_t* lm = ps_get_lm(ps, kDefaultSearch)) return lm;
    return ps_get_lm(ps, ps_get_search(ps));
}

class PocketsphinxTranscriber final : public Transcriber {
  public:
    explicit PocketsphinxTranscriber(PocketsphinxConfig config) : config_(std::move(config)) {}

    std::string Name() const override { return "pocketsphinx"; }

    Result<Transcript> Transcribe(const PcmSource& pcm, const AudioFrames& frames, const ProgressFn& progress,
                                  const CancelToken* cancel) override {
        PODPROMO_RETURN_IF_ERROR(CheckPocketsphinxModel(config_));
        if (pcm.sample_rate() != 16000) return Status::Internal("pocketsphinx needs 16 kHz audio");
        const auto chunks = PlanChunks(frames, config_.chunk_target_ms, config_.chunk_max_ms);
        std::vector<std::vector<Word>> chunk_words(chunks.size());
        const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        const int n_threads =
            std::max(1, std::min<int>(config_.threads > 0 ? config_.threads : hw, static_cast<int>(chunks.size())));
        // Longest chunks first so the threads finish together.
        std::vector<size_t> order(chunks.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return chunks[a].second - chunks[a].first > chunks[b].second - chunks[b].first;
        });
        std::atomic<size_t> next{0};
        std::atomic<Ms> done_ms{0};
        Ms total_ms = 0;
        for (const auto& c : chunks) total_ms += c.second - c.first;
        // Every decoder (and its front end) is made here, one after another under the lifecycle lock, before any
        // thread starts, and freed after they have all ended.
        std::vector<DecoderPtr> decoders;
        std::vector<std::unique_ptr<LogMelFrontEnd>> front_ends;
        auto release = [&] {
            std::lock_guard<std::mutex> lock(DecoderLifecycleMutex());
            front_ends.clear();
            decoders.clear();
        };
        {
            std::lock_guard<std::mutex> lock(DecoderLifecycleMutex());
            for (int i = 0; i < n_threads; ++i) {
                decoders.emplace_back(NewDecoder(config_));
                if (!decoders.back()) break;
                front_ends.push_back(LogMelFrontEnd::ForDecoder(decoders.back().get()));
            }
        }
        if (!decoders.back()) {
            release();
            return Status::Unavailable("pocketsphinx could not load its model from " + config_.model_dir);
        }
        if (Status added = AddVocabulary(decoders); !added.ok()) {
            release();
            return added;
        }
        std::atomic<size_t> narrow_frames{0};
        auto worker = [&](ps_decoder_t* ps, LogMelFrontEnd* front_end) {
            while (true) {
                const size_t k = next.fetch_add(1);
                if (k >= order.size()) return;
                if (cancel && cancel->cancelled()) return;
                const auto [s, e] = chunks[order[k]];
                chunk_words[order[k]] = DecodeChunk(ps, front_end, pcm, s, e, &narrow_frames);
                const Ms d = done_ms.fetch_add(e - s) + (e - s);
                Report(progress, Stage::kTranscribe,
                       static_cast<double>(d) / static_cast<double>(std::max<Ms>(1, total_ms)));
            }
        };
        std::vector<std::thread> threads;
        threads.reserve(static_cast<size_t>(n_threads));
        for (size_t i = 0; i < decoders.size(); ++i)
            threads.emplace_back(worker, decoders[i].get(), front_ends[i].get());
        for (auto& t : threads) t.join();
        release();
        if (cancel && cancel->cancelled()) return Status::Cancelled();

        std::vector<Word> words;
        for (auto& cw : chunk_words) words.insert(words.end(), cw.begin(), cw.end());
        if (narrow_frames > 0) {
            Log(LogLevel::kInfo, "narrowband speech given back its upper band before recognition",
                {{"seconds", static_cast<double>(narrow_frames.load()) / 100.0}});
        }
        Transcript t;
        t.engine = "pocketsphinx";
        t.segments = GroupWordsIntoSegments(words);
        Report(progress, Stage::kTranscribe, 1.0);
        return t;
    }

  private:
    // Adds the vocabulary's words the dictionary lacks to every decoder, with pronunciations generated by
    // espeak-ng (without the lock: it runs as a child process); the dictionaries are changed under it. A new
    // word enters the language model as a unigram of `boost` times the uniform probability for names and terms
    // (1 for the title's other words). It goes into the language models themselves first: the decoder's
    // ps_add_word would add it at weight 1, and a weight cannot be changed once the word is there.
    Status AddVocabulary(const std::vector<DecoderPtr>& decoders) const {
        if (config_.vocabulary.empty() || decoders.empty()) return Status::Ok();
        struct Added {
            std::string word, phones;
            double weight;
        };
        std::vector<Added> added;
        std::vector<std::string> skipped;
        for (const auto& v : config_.vocabulary) {
            char* known = ps_lookup_word(decoders[0].get(), v.word.c_str());
            if (known) {
                ckd_free(known);
                continue;
            }
            if (std::none_of(v.word.begin(), v.word.end(),
                             [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
                continue;  // a bare number: the recogniser spells those out as words anyway
            }
            auto phones = GeneratePronunciation(v.word);
            if (!phones.ok()) {
                skipped.push_back(v.word + " (" + phones.status().message() + ")");
                continue;
            }
            added.push_back({v.word, *phones, v.boost ? config_.boost : 1.0});
        }
        if (!skipped.empty()) {
            Log(LogLevel::kWarn, "vocabulary words left out of the recogniser's dictionary", {{"words", skipped}});
        }
        if (added.empty()) return Status::Ok();
        std::lock_guard<std::mutex> lock(DecoderLifecycleMutex());
        for (const auto& d : decoders) {
            if (ngram_model_t* set = DecoderLanguageModel(d.get())) {
                for (auto* it = ngram_model_set_iter(set); it; it = ngram_model_set_iter_next(it)) {
                    const char* name = nullptr;
                    ngram_model_t* lm = ngram_model_set_iter_model(it, &name);
                    for (const auto& a : added) {
                        if (ngram_wid(lm, a.word.c_str()) == ngram_unknown_wid(lm)) {
                            ngram_model_add_word(lm, a.word.c_str(), static_cast<float32>(a.weight));
                        }
                    }
                }
            }
            for (size_t i = 0; i < added.size(); ++i) {
                const bool last = i + 1 == added.size();
                if (ps_add_word(d.get(), added[i].word.c_str(), added[i].phones.c_str(), last ? TRUE : FALSE) < 0) {
                    return Status::Internal("pocketsphinx could not add \"" + added[i].word + "\" to its dictionary");
                }
            }
        }
        return Status::Ok();
    }

    // Computes the chunk's features with our front end (silence left out, the time of each frame kept), gives back
    // narrowband speech its upper band and hands them to the decoder as one utterance. Returns the chunk frame of
    // each frame handed over.
    std::vector<uint32_t> GiveFeatures(ps_decoder_t* ps, LogMelFrontEnd* front_end, std::span<const int16_t> samples,
                                       std::atomic<size_t>* narrow_frames) const {
        std::vector<uint32_t> index;
        std::vector<MelFrame> mel = front_end->LogMel(samples, &index);
        if (config_.extend_narrowband) *narrow_frames += ExtendBandwidth(mel, FindNarrowbandFrames(mel));
        std::vector<mfcc_t> cep = front_end->Cepstra(mel);
        const size_t ncep = front_end->ncep();
        std::vector<mfcc_t*> rows(mel.size());
        for (size_t i = 0; i < rows.size(); ++i) rows[i] = cep.data() + i * ncep;
        if (!rows.empty()) ps_process_cep(ps, rows.data(), static_cast<int>(rows.size()), FALSE, TRUE);
        return index;
    }

    // `front_end` null (a model our front end does not fit): the decoder computes its features from the samples
    // itself, and its silence removal shifts the times of words after long pauses.
    std::vector<Word> DecodeChunk(ps_decoder_t* ps, LogMelFrontEnd* front_end, const PcmSource& pcm, Ms start_ms,
                                  Ms end_ms, std::atomic<size_t>* narrow_frames) const {
        std::vector<Word> out;
        const size_t a = static_cast<size_t>(start_ms) * 16;
        const size_t b = std::min(pcm.size(), static_cast<size_t>(end_ms) * 16);
        if (b <= a) return out;
        std::vector<int16_t> samples(b - a);
        samples.resize(pcm.Read(a, b - a, samples.data()));
        // A new stream per chunk: otherwise the decoder carries its noise and silence estimates from the
        // chunks it decoded before, and the words would depend on how chunks fell to threads.
        if (ps_start_stream(ps) < 0 || ps_start_utt(ps) < 0) return out;
        std::vector<uint32_t> kept;  // with the front end: the chunk's frame of each frame given to the decoder
        if (front_end) {
            kept = GiveFeatures(ps, front_end, samples, narrow_frames);
        } else {
            ps_process_raw(ps, samples.data(), samples.size(), FALSE, TRUE);
        }
        ps_end_utt(ps);
        int32 score = 0;
        if (ps_get_hyp(ps, &score) == nullptr) return out;
        logmath_t* lmath = ps_get_logmath(ps);
        for (ps_seg_t* seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
            const char* w = ps_seg_word(seg);
            if (IsNonWord(w)) continue;
            int sf = 0, ef = 0;
            ps_seg_frames(seg, &sf, &ef);
            int32 ascr = 0, lscr = 0, lback = 0;
            const int32 post = ps_seg_prob(seg, &ascr, &lscr, &lback);
            Word word;
            word.text = BaseWord(w);
            if (front_end) {
                if (kept.empty()) continue;
                sf = static_cast<int>(
                    kept[std::clamp<size_t>(static_cast<size_t>(std::max(0, sf)), 0, kept.size() - 1)]);
                ef = static_cast<int>(
                    kept[std::clamp<size_t>(static_cast<size_t>(std::max(0, ef)), 0, kept.size() - 1)]);
            }
            word.start_ms = start_ms + static_cast<Ms>(sf) * kFrameMs;
            word.end_ms = start_ms + static_cast<Ms>(ef + 1) * kFrameMs;
            word.confidence = std::clamp(logmath_exp(lmath, post), 0.0, 1.0);
            out.push_back(std::move(word));
        }
        return out;
    }

    PocketsphinxConfig config_;
};

}  // namespace

Status CheckPocketsphinxModel(const PocketsphinxConfig& config) {
    const fs::path dir(config.model_dir);
    for (const char* part : {"en-us/mdef", "en-us.lm.bin", "cmudict-en-us.dict"}) {
        if (!fs::exists(dir / part)) {
            return Status::Unavailable("speech model missing: " + (dir / part).string() +
                                       " (install pocketsphinx-en-us, see scripts/setup)");
        }
    }
    return Status::Ok();
}

Result<std::vector<MelFrame>> RecogniserLogMel(const PocketsphinxConfig& config, std::span<const int16_t> pcm) {
    PODPROMO_RETURN_IF_ERROR(CheckPocketsphinxModel(config));
    DecoderPtr ps;
    std::unique_ptr<LogMelFrontEnd> front_end;
    {
        std::lock_guard<std::mutex> lock(DecoderLifecycleMutex());
        ps.reset(NewDecoder(config));
        if (ps) front_end = LogMelFrontEnd::ForDecoder(ps.get());
    }
    std::vector<MelFrame> mel;
    std::vector<uint32_t> index;
    if (front_end) mel = front_end->LogMel(pcm, &index);
    const bool loaded = ps != nullptr, supported = front_end != nullptr;
    {
        std::lock_guard<std::mutex> lock(DecoderLifecycleMutex());
        front_end.reset();
        ps.reset();
    }
    if (!loaded) return Status::Unavailable("pocketsphinx could not load its model from " + config.model_dir);
    if (!supported) return Status::Unavailable("the acoustic model's filterbank is not the 25-filter en-us one");
    return mel;
}

std::unique_ptr<Transcriber> MakePocketsphinxTranscriber(PocketsphinxConfig config) {
    return std::make_unique<PocketsphinxTranscriber>(std::move(config));
}

}  // namespace podpromo
