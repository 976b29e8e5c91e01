// The options an upload's form fields (and a show's settings) give a new episode. Private to app/.
#pragma once

#include <map>
#include <string>

#include "podpromo/jobs/pipeline.h"
#include "podpromo/media/render.h"

namespace podpromo {

struct UploadOptions {
    PipelineOptions pipeline;
    MediaOptions media;
    int priority = 1;
};
// The pipeline's and the renders' options from the fields (genre, platform, clips, priority, aspect, style, font,
// color, highlight, size); InvalidInput names the bad one.
Result<UploadOptions> ParseUploadOptions(const std::map<std::string, std::string>& fields);

}  // namespace podpromo
