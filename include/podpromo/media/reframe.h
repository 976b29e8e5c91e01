// Speaker-centred reframing of a landscape video into a narrower frame: faces found on sampled frames
// (OpenCV's frontal-face cascade), then a smoothed horizontal crop path that follows them.
// Threads: each call loads its own cascade and may run beside others; the planner is pure. Without faces the plan
// is the centre crop, not an error.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

// One face on one sampled frame, in source pixels.
struct FaceBox {
    double x = 0, y = 0, w = 0, h = 0;
    double CentreX() const { return x + w / 2; }
};

struct FaceSample {
    Ms t_ms = 0;  // from the start of the span
    std::vector<FaceBox> faces;
};

// Samples `fps` frames a second of [start_ms, end_ms) of `source` (which must carry a video stream of
// `width`×`height`) and finds frontal faces on each. Errors: Unavailable when ffmpeg or the cascade file
// is missing, IoError when the video cannot be read, Cancelled.
Result<std::vector<FaceSample>> DetectFaces(const std::filesystem::path& source, int width, int height, Ms start_ms,
                                            Ms end_ms, double fps = 2.0, const CancelToken* cancel = nullptr);

struct CropKey {
    Ms t_ms = 0;
    double x = 0;  // left edge of the crop, in source pixels
};

struct CropPlan {
    // "track": a crop of crop_w×crop_h that moves along `keys`; "centre": a fixed centred crop (no face
    // found); "fit": the whole frame fitted over a blurred copy of itself (faces too far apart for one crop,
    // or a source already narrower than the target).
    std::string mode = "centre";
    int crop_w = 0, crop_h = 0;
    std::vector<CropKey> keys;  // "track" only; times ascending
    std::string reason;         // one line for people

    // The crop's left edge at `t_ms` (piecewise linear between keys; the centre for "centre").
    double XAt(Ms t_ms, int src_w) const;
};

// Plans the crop of a `src_w`×`src_h` source for an output of `out_w`×`out_h` from face samples. The path
// holds still while the face stays inside a dead zone around the crop's centre and glides (at most a third
// of the crop width per second) when it leaves it, so small head motion and detector jitter never move
// the frame. Pure.
CropPlan PlanCrop(const std::vector<FaceSample>& samples, int src_w, int src_h, int out_w, int out_h);

// An ffmpeg expression in `t` (seconds from the clip's start) for the crop's left edge: piecewise linear
// through the plan's keys.
std::string CropXExpression(const CropPlan& plan, int src_w);

}  // namespace podpromo
