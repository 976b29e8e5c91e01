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
    {StatusCode::kResourceExhausted, "resource exhausted", "resource_exhausted"},
    {StatusCode::kFailedPrecondition, "failed precondition", "failed_precondition"},
    {StatusCode::kUnsupported, "unsupported", "unsupported"},
    {StatusCode::kTooLarge, "too large", "too_large"},
    {StatusCode::kGone, "gone", "gone"},
    {StatusCode::kRateLimited, "rate limited", "rate_limited"},
    {StatusCode::kUnprocessable, "unprocessable", "unprocessable"},
    {StatusCode::kUnauthenticated, "unauthenticated", "unauthenticated"},
    {StatusCode::kPermissionDenied, "permission denied", "permission_denied"},
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

Status Status::WithSlug(std::string slug) const& { return Status(*this).WithSlug(std::move(slug)); }

Status Status::WithSlug(std::string slug) && {
    slug_ = std::move(slug);
    return std::move(*this);
}

Status Status::WithRetryAfter(int seconds) const& { return Status(*this).WithRetryAfter(seconds); }

Status Status::WithRetryAfter(int seconds) && {
    retry_after_s_ = seconds;
    return std::move(*this);
}

Status Status::Annotate(const std::string& context) const {
    Status out = *this;
    if (!ok()) out.message_ = context + ": " + message_;
    return out;
}

std::string Status::slug() const { return slug_.empty() ? StatusCodeKind(code_) : slug_; }

int ExitCodeFor(const Status& st) {
    switch (st.code()) {
        case StatusCode::kOk:
            return 0;
        case StatusCode::kInvalidInput:
        case StatusCode::kNotFound:
        case StatusCode::kUnsupported:
        case StatusCode::kTooLarge:
        case StatusCode::kUnprocessable:
            return 2;
        case StatusCode::kCancelled:
            return 130;
        default:
            return 1;
    }
}

std::string Status::ToString() const {
    if (ok()) return "ok";
    return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace podpromo
