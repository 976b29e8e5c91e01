#include "podpromo/core/status.h"

#include <iterator>

namespace podpromo {

namespace {

struct CodeNames {
    StatusCode code;
    const char* name;  // for people
    const char* kind;  // for metrics labels and error groups
};

constexpr CodeNames kCodeNames[] = {
    {StatusCode::kOk, "ok", "ok"},
    {StatusCode::kInvalidInput, "invalid input", "invalid_input"},
    {StatusCode::kNotFound, "not found", "not_found"},
    {StatusCode::kIoError, "i/o error", "io_error"},
    {StatusCode::kNoSpace, "no space left", "no_space"},
    {StatusCode::kCancelled, "cancelled", "cancelled"},
    {StatusCode::kUnavailable, "unavailable", "unavailable"},
    {StatusCode::kInternal, "internal error", "internal"},
};

const CodeNames& NamesOf(StatusCode code) {
    for (const auto& n : kCodeNames) {
        if (n.code == code) return n;
    }
    return kCodeNames[std::size(kCodeNames) - 1];
}

}  // namespace

const char* StatusCodeName(StatusCode code) { return NamesOf(code).name; }

const char* StatusCodeKind(StatusCode code) { return NamesOf(code).kind; }

std::string Status::ToString() const {
    if (ok()) return "ok";
    return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace podpromo
