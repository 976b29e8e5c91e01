#include "podpromo/core/status.h"

namespace podpromo {

const char* StatusCodeName(StatusCode code) {
    switch (code) {
        case StatusCode::kOk:
            return "ok";
        case StatusCode::kInvalidInput:
            return "invalid input";
        case StatusCode::kNotFound:
            return "not found";
        case StatusCode::kIoError:
            return "i/o error";
        case StatusCode::kNoSpace:
            return "no space left";
        case StatusCode::kCancelled:
            return "cancelled";
        case StatusCode::kUnavailable:
            return "unavailable";
        case StatusCode::kInternal:
            return "internal error";
    }
    return "unknown";
}

std::string Status::ToString() const {
    if (ok()) return "ok";
    return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace podpromo
