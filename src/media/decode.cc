#include "podpromo/media/decode.h"

#include <cmath>

#include "libav.h"

namespace podpromo {
namespace fs = std::filesystem;

namespace {

// A decode that ends this much short of the declared length is a truncated (or lying) file.
constexpr double kTruncatedFraction = 0.90;
constexpr Ms kTruncatedSlackMs = 1000;

constexpr size_t kHop = kAnalysisSampleRate / 100;  // 10 ms
// Speech needs at least a second of loud 10 ms frames (CheckAudible and CheckDecodable share the rule).
constexpr size_t kMinLoudFrames = 100;

// 10 ms frames of `samples` (whole frames only) whose RMS is above -45 dBFS.
size_t CountLoudFrames(const int16_t* samples, size_t n) {
    static const double threshold = 32768.0 * std::pow(10.0, -45.0 / 20.0);
    size_t loud = 0;
    for (size_t i = 0; i + kHop <= n; i += kHop) {
        double sum = 0;
        for (size_t k = i; k < i + kHop; ++k) sum += static_cast<double>(samples[k]) * samples[k];
        if (std::sqrt(sum / kHop) > threshold) ++loud;
    }
    return loud;
}

class Decoder {
  public:
    // keep_pcm false: decode to check only, counting samples and loud frames and dropping the PCM as it goes.
    Decoder(const fs::path& path, const MediaInfo& info, Ms max_ms, bool keep_pcm = true)
        : path_(path), info_(info), shown_(PrintableName(path)), max_ms_(max_ms), keep_(keep_pcm) {}

    size_t loud_frames() const { return loud_; }

    Result<Pcm> Run(const ProgressFn& progress, const CancelToken* cancel) {
        PODPROMO_RETURN_IF_ERROR(Open());
        Pcm pcm;
        pcm.sample_rate = kAnalysisSampleRate;
        const Ms expected_ms = declared_ms_ > 0 ? declared_ms_ : info_.duration_ms;
        if (expected_ms > max_ms_) return TooLong("declares " + FormatClock(expected_ms));
        if (keep_ && expected_ms > 0) {
            pcm.samples.reserve(static_cast<size_t>(expected_ms * kAnalysisSampleRate / 1000 * 103 / 100 + 4096));
        }
        libav::PacketPtr pkt(av_packet_alloc());
        libav::FramePtr frame(av_frame_alloc());
        int packets = 0, bad_packets = 0;
        double last_report = -1;
        while (true) {
            if (cancel && cancel->cancelled()) return Status::Cancelled();
            const int err = av_read_frame(fmt_.get(), pkt.get());
            if (err == AVERROR_EOF) break;
            if (err < 0) {
                // A read error in the middle of the file ends the stream; what was decoded is checked below.
                break;
            }
            if (pkt->stream_index == stream_index_) {
                ++packets;
                if (avcodec_send_packet(codec_.get(), pkt.get()) < 0) {
                    ++bad_packets;
                } else {
                    PODPROMO_RETURN_IF_ERROR(Drain(frame.get(), &pcm, &bad_packets));
                    Fold(&pcm, false);
                    if (DecodedMs(pcm) > max_ms_) return TooLong("goes on past " + FormatClock(max_ms_));
                }
                if (expected_ms > 0 && pkt->pts != AV_NOPTS_VALUE) {
                    const double f = std::min(1.0, static_cast<double>(DecodedMs(pcm)) / expected_ms);
                    if (f - last_report >= 0.02) {
                        Report(progress, Stage::kDecode, f);
                        last_report = f;
                    }
                }
            }
            av_packet_unref(pkt.get());
        }
        avcodec_send_packet(codec_.get(), nullptr);
        PODPROMO_RETURN_IF_ERROR(Drain(frame.get(), &pcm, &bad_packets));
        PODPROMO_RETURN_IF_ERROR(Flush(&pcm));
        Fold(&pcm, true);

        if (packets == 0 || DecodedMs(pcm) == 0) return Status::InvalidInput(shown_ + ": no audio could be decoded");
        if (bad_packets > 8 && bad_packets * 5 > packets) {
            return Status::InvalidInput(shown_ + ": the audio is corrupt (" + std::to_string(bad_packets) + " of " +
                                        std::to_string(packets) + " packets failed to decode)");
        }
        if (declared_ms_ > 0 && DecodedMs(pcm) + kTruncatedSlackMs < declared_ms_ * kTruncatedFraction) {
            return Status::InvalidInput(shown_ + ": the file is truncated: its header says " +
                                        FormatClock(declared_ms_) + " but the audio ends at " +
                                        FormatClock(DecodedMs(pcm)));
        }
        Report(progress, Stage::kDecode, 1.0);
        return pcm;
    }

    Status TooLong(const std::string& what) const {
        return Status::InvalidInput(shown_ + ": the episode " + what + "; episodes are at most " +
                                    FormatClock(max_ms_) + " (MAX_EPISODE_SECONDS)");
    }

    // Milliseconds decoded so far.
    Ms DecodedMs(const Pcm& pcm) const {
        return static_cast<Ms>((dropped_ + pcm.samples.size()) * 1000 / kAnalysisSampleRate);
    }

  private:
    // In check-only mode, counts and drops the whole 10 ms frames decoded so far (all of them at the end).
    void Fold(Pcm* pcm, bool last) {
        if (keep_) return;
        const size_t whole = last ? pcm->samples.size() : pcm->samples.size() / kHop * kHop;
        loud_ += CountLoudFrames(pcm->samples.data(), whole);
        dropped_ += whole;
        pcm->samples.erase(pcm->samples.begin(), pcm->samples.begin() + static_cast<std::ptrdiff_t>(whole));
    }

    Status Open() {
        AVDictionary* opts = nullptr;
        av_dict_set(&opts, "protocol_whitelist", "file", 0);
        AVFormatContext* raw = nullptr;
        const std::string url = "file:" + fs::absolute(path_).string();
        const AVInputFormat* fmt = av_find_input_format(FirstName(info_.format).c_str());
        int err = avformat_open_input(&raw, url.c_str(), fmt, &opts);
        av_dict_free(&opts);
        if (err < 0) return Status::InvalidInput(shown_ + ": cannot be opened (" + libav::ErrorText(err) + ")");
        fmt_.reset(raw);
        if ((err = avformat_find_stream_info(fmt_.get(), nullptr)) < 0) {
            return Status::InvalidInput(shown_ + ": unreadable stream information (" + libav::ErrorText(err) + ")");
        }
        const AVCodec* codec = nullptr;
        stream_index_ = av_find_best_stream(fmt_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
        if (stream_index_ < 0 || !codec) return Status::InvalidInput(shown_ + ": no decodable audio stream");
        const AVStream* st = fmt_->streams[stream_index_];
        for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
            if (static_cast<int>(i) != stream_index_) fmt_->streams[i]->discard = AVDISCARD_ALL;
        }
        if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
            declared_ms_ = av_rescale_q(st->duration, st->time_base, AVRational{1, 1000});
        } else if (info_.duration_declared && !info_.has_video) {
            // The container's duration covers every stream: with video it may outlast the audio legitimately.
            declared_ms_ = info_.duration_ms;
        }
        codec_.reset(avcodec_alloc_context3(codec));
        if (!codec_) return Status::Internal("out of memory");
        if (avcodec_parameters_to_context(codec_.get(), st->codecpar) < 0) {
            return Status::InvalidInput(shown_ + ": unusable audio parameters");
        }
        codec_->thread_count = 1;
        if ((err = avcodec_open2(codec_.get(), codec, nullptr)) < 0) {
            return Status::InvalidInput(shown_ + ": cannot decode " + avcodec_get_name(codec->id) + " audio (" +
                                        libav::ErrorText(err) + ")");
        }
        return Status::Ok();
    }

    static std::string FirstName(const std::string& names) { return names.substr(0, names.find(',')); }

    Status EnsureResampler(const AVFrame* frame) {
        if (swr_) return Status::Ok();
        SwrContext* raw = nullptr;
        AVChannelLayout out_layout = AV_CHANNEL_LAYOUT_MONO;
        AVChannelLayout in_layout;
        if (frame->ch_layout.nb_channels > 0) {
            av_channel_layout_copy(&in_layout, &frame->ch_layout);
        } else {
            av_channel_layout_default(&in_layout,
                                      codec_->ch_layout.nb_channels > 0 ? codec_->ch_layout.nb_channels : 1);
        }
        if (in_layout.order == AV_CHANNEL_ORDER_UNSPEC) av_channel_layout_default(&in_layout, in_layout.nb_channels);
        const int rc = swr_alloc_set_opts2(&raw, &out_layout, AV_SAMPLE_FMT_S16, kAnalysisSampleRate, &in_layout,
                                           static_cast<AVSampleFormat>(frame->format), frame->sample_rate, 0, nullptr);
        av_channel_layout_uninit(&in_layout);
        if (rc < 0 || !raw) return Status::InvalidInput(shown_ + ": unsupported audio layout");
        swr_.reset(raw);
        if (swr_init(swr_.get()) < 0) return Status::InvalidInput(shown_ + ": unsupported audio format");
        return Status::Ok();
    }

    Status Convert(const uint8_t** in, int in_samples, Pcm* pcm) {
        const int max_out = swr_get_out_samples(swr_.get(), in_samples);
        if (max_out <= 0) return Status::Ok();
        const size_t old = pcm->samples.size();
        // Past the estimate, grow by 10% rather than doubling: the PCM is most of the memory.
        if (old + static_cast<size_t>(max_out) > pcm->samples.capacity()) {
            pcm->samples.reserve(std::max(old + static_cast<size_t>(max_out), pcm->samples.capacity() * 11 / 10));
        }
        pcm->samples.resize(old + static_cast<size_t>(max_out));
        uint8_t* out = reinterpret_cast<uint8_t*>(pcm->samples.data() + old);
        const int got = swr_convert(swr_.get(), &out, max_out, in, in_samples);
        if (got < 0) {
            pcm->samples.resize(old);
            return Status::InvalidInput(shown_ + ": resampling failed");
        }
        pcm->samples.resize(old + static_cast<size_t>(got));
        return Status::Ok();
    }

    Status Drain(AVFrame* frame, Pcm* pcm, int* bad) {
        while (true) {
            const int err = avcodec_receive_frame(codec_.get(), frame);
            if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return Status::Ok();
            if (err < 0) {
                ++*bad;
                return Status::Ok();
            }
            if (frame->sample_rate > 0 &&
                (frame->sample_rate < kMinSampleRate || frame->sample_rate > kMaxSampleRate)) {
                return Status::InvalidInput(shown_ + ": audio frames at " + std::to_string(frame->sample_rate) +
                                            " Hz (accepted: 8 to 384 kHz)");
            }
            if (frame->sample_rate <= 0 || frame->nb_samples <= 0) {
                av_frame_unref(frame);
                continue;
            }
            PODPROMO_RETURN_IF_ERROR(EnsureResampler(frame));
            const Status st = Convert(const_cast<const uint8_t**>(frame->extended_data), frame->nb_samples, pcm);
            av_frame_unref(frame);
            PODPROMO_RETURN_IF_ERROR(st);
        }
    }

    Status Flush(Pcm* pcm) {
        if (!swr_) return Status::Ok();
        return Convert(nullptr, 0, pcm);
    }

    fs::path path_;
    const MediaInfo& info_;
    std::string shown_;
    libav::FormatPtr fmt_;
    libav::CodecPtr codec_;
    libav::SwrPtr swr_;
    int stream_index_ = -1;
    Ms declared_ms_ = 0;
    Ms max_ms_;
    bool keep_ = true;
    size_t dropped_ = 0;  // samples counted and dropped (check-only mode)
    size_t loud_ = 0;
};

}  // namespace

Result<Pcm> DecodeToPcm(const fs::path& path, const MediaInfo& info, const ProgressFn& progress,
                        const CancelToken* cancel, Ms max_ms) {
    QuietLibav();
    Decoder d(path, info, max_ms);
    return d.Run(progress, cancel);
}

Status CheckAudible(const Pcm& pcm) {
    // Speech needs at least a second of 10 ms frames above -45 dBFS.
    if (pcm.sample_rate != kAnalysisSampleRate) return Status::InvalidInput("no audio");
    if (CountLoudFrames(pcm.samples.data(), pcm.samples.size()) < kMinLoudFrames) {
        return Status::InvalidInput("the audio is silent (no sound above -45 dBFS in " +
                                    FormatClock(pcm.DurationMs(), false) + ")");
    }
    return Status::Ok();
}

Result<AudioCheck> CheckDecodable(const fs::path& path, const MediaInfo& info, const CancelToken* cancel, Ms max_ms) {
    QuietLibav();
    Decoder d(path, info, max_ms, /*keep_pcm=*/false);
    auto r = d.Run({}, cancel);
    if (!r.ok()) return r.status();
    return AudioCheck{d.DecodedMs(*r), d.loud_frames() >= kMinLoudFrames};
}

}  // namespace podpromo
