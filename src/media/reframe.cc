#include "podpromo/media/reframe.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <optional>

#include "podpromo/core/subprocess.h"
#include "podpromo/media/probe.h"

namespace podpromo {
namespace fs = std::filesystem;

namespace {

constexpr int kDetectWidth = 480;  // frames are scanned at most this wide
// A face smaller than this fraction of the frame height is background (a poster, a far-away guest).
constexpr double kMinFaceFraction = 0.08;
// Below this share of sampled frames with a face, there is nobody to follow.
constexpr double kMinFaceShare = 0.3;
// Above this share of face-bearing frames with faces too far apart for one crop, show the whole frame.
constexpr double kMaxApartShare = 0.4;
constexpr double kDeadZone = 0.15;           // of the crop width, either side of its centre
constexpr double kMaxSpeedPerSec = 1.0 / 3;  // of the crop width

const char* const kCascades[] = {
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
    "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml",
};

int Even(double v) { return std::max(2, static_cast<int>(std::lround(v / 2)) * 2); }

// The middle of the faces on one frame, or nothing (no face) or NAN (faces too far apart for the crop).
std::optional<double> Target(const FaceSample& s, double crop_w) {
    if (s.faces.empty()) return std::nullopt;
    double lo = s.faces.front().x, hi = s.faces.front().x + s.faces.front().w;
    for (const auto& f : s.faces) {
        lo = std::min(lo, f.x);
        hi = std::max(hi, f.x + f.w);
    }
    if (hi - lo > crop_w * 0.9) return NAN;
    return (lo + hi) / 2;
}

}  // namespace

Result<std::vector<FaceSample>> DetectFaces(const fs::path& source, int width, int height, Ms start_ms, Ms end_ms,
                                            double fps, const CancelToken* cancel) {
    if (width <= 0 || height <= 0) return Status::InvalidInput("the video has no frame size");
    cv::CascadeClassifier cascade;
    bool loaded = false;
    for (const char* path : kCascades) {
        std::error_code ec;
        if (fs::exists(path, ec) && cascade.load(path)) {
            loaded = true;
            break;
        }
    }
    if (!loaded) return Status::Unavailable("the OpenCV face cascade is missing (install opencv-data)");
    const int sw = std::min(width, kDetectWidth) / 2 * 2;
    const int sh = Even(static_cast<double>(height) * sw / width);
    const double start = static_cast<double>(start_ms) / 1000.0, dur = static_cast<double>(end_ms - start_ms) / 1000;
    auto input = FfmpegInput(source);
    if (!input.ok()) return input.status();
    std::vector<std::string> argv = {"ffmpeg",
                                     "-nostdin",
                                     "-hide_banner",
                                     "-loglevel",
                                     "error",
                                     "-ss",
                                     fmt::format("{:.3f}", start),
                                     "-t",
                                     fmt::format("{:.3f}", dur)};
    argv.insert(argv.end(), input->begin(), input->end());
    argv.insert(argv.end(), {"-an", "-sn", "-vf", fmt::format("fps={},scale={}:{},format=gray", fps, sw, sh), "-f",
                             "rawvideo", "pipe:1"});
    auto r = RunProcess(argv, cancel, TimeLimitMs(end_ms - start_ms, 2), kChildMemoryBytes);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
        return Status::IoError("ffmpeg could not read the video frames: " + r->err.substr(0, r->err.find('\n')));
    }
    const size_t frame_bytes = static_cast<size_t>(sw) * sh;
    const double scale = static_cast<double>(width) / sw;
    std::vector<FaceSample> samples;
    for (size_t off = 0, i = 0; off + frame_bytes <= r->out.size(); off += frame_bytes, ++i) {
        if (cancel && cancel->cancelled()) return Status::Cancelled();
        cv::Mat gray(sh, sw, CV_8UC1, r->out.data() + off);
        cv::Mat eq;
        cv::equalizeHist(gray, eq);
        std::vector<cv::Rect> found;
        const int min_side = static_cast<int>(sh * kMinFaceFraction);
        cascade.detectMultiScale(eq, found, 1.1, 5, 0, cv::Size(min_side, min_side));
        FaceSample s;
        s.t_ms = static_cast<Ms>(std::lround(static_cast<double>(i) * 1000.0 / fps));
        for (const auto& f : found) {
            s.faces.push_back({f.x * scale, f.y * scale, f.width * scale, f.height * scale});
        }
        samples.push_back(std::move(s));
    }
    return samples;
}

double CropPlan::XAt(Ms t_ms, int src_w) const {
    if (mode != "track" || keys.empty()) return static_cast<double>(src_w - crop_w) / 2;
    if (t_ms <= keys.front().t_ms) return keys.front().x;
    for (size_t i = 1; i < keys.size(); ++i) {
        if (t_ms < keys[i].t_ms) {
            const auto& a = keys[i - 1];
            const auto& b = keys[i];
            return a.x + (b.x - a.x) * static_cast<double>(t_ms - a.t_ms) / static_cast<double>(b.t_ms - a.t_ms);
        }
    }
    return keys.back().x;
}

namespace {

// Faces far apart that take turns being seen (a two-person show whose detector catches one at a time) would make
// the crop swing back and forth.
bool TakeTurns(const std::vector<std::optional<double>>& targets, double cw) {
    size_t jumps = 0, seen = 0;
    std::optional<double> prev;
    for (const auto& t : targets) {
        if (!t) continue;
        ++seen;
        if (prev && std::abs(*t - *prev) > cw * 0.5) ++jumps;
        prev = t;
    }
    return static_cast<double>(jumps) > 0.15 * static_cast<double>(seen);
}

// Each sample's target, frames without one filled from their neighbours (hold the last one; the first found before
// it), then a median over five samples, which removes single-frame detector mistakes. At least one target is set.
std::vector<double> SmoothTargets(const std::vector<std::optional<double>>& targets) {
    size_t first = 0;
    while (!targets[first]) ++first;
    std::vector<double> filled(targets.size());
    double last = *targets[first];
    for (size_t i = 0; i < targets.size(); ++i) {
        if (targets[i]) last = *targets[i];
        filled[i] = last;
    }
    std::vector<double> smooth(filled.size());
    for (size_t i = 0; i < filled.size(); ++i) {
        std::vector<double> w;
        for (size_t k = (i >= 2 ? i - 2 : 0); k <= std::min(filled.size() - 1, i + 2); ++k) w.push_back(filled[k]);
        std::nth_element(w.begin(), w.begin() + static_cast<long>(w.size() / 2), w.end());
        smooth[i] = w[w.size() / 2];
    }
    return smooth;
}

// The camera's left edge at each sample: it starts moving when the face leaves the dead zone and keeps moving, at a
// bounded speed, until the face is centred again.
std::vector<CropKey> FollowTargets(const std::vector<FaceSample>& samples, const std::vector<double>& smooth, double cw,
                                   int src_w) {
    auto clamp_x = [&](double centre) { return std::clamp(centre - cw / 2, 0.0, static_cast<double>(src_w) - cw); };
    double cam = smooth.front();
    std::vector<CropKey> keys = {{samples.front().t_ms, clamp_x(cam)}};
    bool moving = false;
    for (size_t i = 1; i < smooth.size(); ++i) {
        const double dt = static_cast<double>(samples[i].t_ms - samples[i - 1].t_ms) / 1000.0;
        const double gap = smooth[i] - cam;
        if (std::abs(gap) > kDeadZone * cw) moving = true;
        if (moving) {
            const double step = std::min(std::abs(gap), kMaxSpeedPerSec * cw * dt);
            cam += std::copysign(step, gap);
            if (std::abs(smooth[i] - cam) < 1.0) moving = false;
        }
        keys.push_back({samples[i].t_ms, clamp_x(cam)});
    }
    return keys;
}

// Drops keys in the middle of straight stretches (a still camera becomes two keys).
std::vector<CropKey> DropStraightKeys(const std::vector<CropKey>& keys) {
    std::vector<CropKey> kept;
    for (size_t i = 0; i < keys.size(); ++i) {
        if (i > 0 && i + 1 < keys.size()) {
            const auto& a = kept.back();
            const auto& b = keys[i + 1];
            const double lerp =
                a.x + (b.x - a.x) * static_cast<double>(keys[i].t_ms - a.t_ms) / static_cast<double>(b.t_ms - a.t_ms);
            if (std::abs(lerp - keys[i].x) < 0.5) continue;
        }
        kept.push_back(keys[i]);
    }
    return kept;
}

CropPlan Fallback(CropPlan plan, const char* mode, const char* reason) {
    plan.mode = mode;
    plan.reason = reason;
    return plan;
}

}  // namespace

CropPlan PlanCrop(const std::vector<FaceSample>& samples, int src_w, int src_h, int out_w, int out_h) {
    CropPlan plan;
    plan.crop_h = src_h / 2 * 2;
    plan.crop_w = Even(static_cast<double>(src_h) * out_w / out_h);
    if (plan.crop_w >= src_w) {
        plan.crop_w = src_w;
        return Fallback(plan, "fit", "the source is no wider than the target: fitted over a blurred fill");
    }
    const double cw = plan.crop_w;
    std::vector<std::optional<double>> targets;
    size_t with_face = 0, apart = 0;
    for (const auto& s : samples) {
        auto t = Target(s, cw);
        if (t) {
            ++with_face;
            if (std::isnan(*t)) {
                ++apart;
                t.reset();
            }
        }
        targets.push_back(t);
    }
    if (samples.empty() || static_cast<double>(with_face) < kMinFaceShare * static_cast<double>(samples.size())) {
        return Fallback(plan, "centre", "no face found: centre crop");
    }
    if (static_cast<double>(apart) > kMaxApartShare * static_cast<double>(with_face)) {
        return Fallback(plan, "fit", "several faces too far apart for one crop: whole frame over a blurred fill");
    }
    if (TakeTurns(targets, cw)) {
        return Fallback(plan, "fit", "faces far apart take turns: whole frame over a blurred fill, no swinging crop");
    }
    plan.mode = "track";
    plan.reason = "follows the speaker's face";
    plan.keys = DropStraightKeys(FollowTargets(samples, SmoothTargets(targets), cw, src_w));
    return plan;
}

std::string CropXExpression(const CropPlan& plan, int src_w) {
    if (plan.mode != "track" || plan.keys.size() < 2) return fmt::format("{:.1f}", plan.XAt(0, src_w));
    // if(lt(t,t1), x0+(x1-x0)*(t-t0)/(t1-t0), if(lt(t,t2), ..., xn))
    std::string expr;
    std::string closing;
    for (size_t i = 1; i < plan.keys.size(); ++i) {
        const auto& a = plan.keys[i - 1];
        const auto& b = plan.keys[i];
        const double t0 = static_cast<double>(a.t_ms) / 1000, t1 = static_cast<double>(b.t_ms) / 1000;
        expr += fmt::format("if(lt(t,{:.3f}),{:.1f}+({:.1f})*(t-{:.3f})/{:.3f},", t1, a.x, b.x - a.x, t0, t1 - t0);
        closing += ')';
    }
    return expr + fmt::format("{:.1f}", plan.keys.back().x) + closing;
}

}  // namespace podpromo
