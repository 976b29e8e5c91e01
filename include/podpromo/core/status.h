// Status and Result<T>: expected failures as values (DESIGN.md §5.2).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace podpromo {

// What kind of failure a Status carries. Two functions map them outward: HttpErrorFor (api/http_common.h) and
// ExitCodeFor (below).
enum class StatusCode {
    kOk,
    kInvalidInput,  // the user's input is malformed (a bad field, flag or transcript)
    kNotFound,
    kIoError,      // reading or writing a file failed
    kNoSpace,      // a write failed for lack of disk space
    kCancelled,    // the caller asked to stop
    kUnavailable,  // a needed program, model or database cannot be reached now
    kInternal,
    kResourceExhausted,   // a shared capacity is used up (the queue is full); try again later
    kFailedPrecondition,  // not in a state that allows it (busy, not ready, already ended)
    kUnsupported,         // a kind of input this build does not take (not media, an unknown encoding)
    kTooLarge,            // over a size limit
    kGone,                // it existed and was removed on purpose (an expired clip)
    kRateLimited,         // this caller asked too often; try again later
    kUnprocessable,       // well-formed but unusable (silent audio, shorter than a clip)
    kUnauthenticated,     // no valid credentials (a missing, wrong, revoked or expired key or session)
    kPermissionDenied,    // valid credentials that lack what this needs (a read key asked to write)
};

// An outcome: ok, or a code with a one-line human-readable message, a machine slug (what an API client
// switches on: "queue_full", "busy"; the code's own kind when not set) and an optional retry-after. Cheap to
// copy; thread-compatible. A Status cannot be dropped silently: handle it, or say why not with
// IgnoreError("reason").
class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status Ok() { return {}; }
    static Status InvalidInput(std::string m) { return {StatusCode::kInvalidInput, std::move(m)}; }
    static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
    static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
    static Status NoSpace(std::string m) { return {StatusCode::kNoSpace, std::move(m)}; }
    static Status Cancelled(std::string m = "cancelled") { return {StatusCode::kCancelled, std::move(m)}; }
    static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
    static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
    static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
    static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
    static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
    static Status TooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
    static Status Gone(std::string m) { return {StatusCode::kGone, std::move(m)}; }
    static Status RateLimited(std::string m) { return {StatusCode::kRateLimited, std::move(m)}; }
    static Status Unprocessable(std::string m) { return {StatusCode::kUnprocessable, std::move(m)}; }
    static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
    static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }

    // The same status with a machine slug (lower_snake_case) / a retry-after in seconds.
    Status WithSlug(std::string slug) const&;
    Status WithSlug(std::string slug) &&;
    Status WithRetryAfter(int seconds) const&;
    Status WithRetryAfter(int seconds) &&;
    // The same code and slug with `context + ": " + message`.
    Status Annotate(const std::string& context) const;

    bool ok() const { return code_ == StatusCode::kOk; }
    StatusCode code() const { return code_; }
    const std::string& message() const { return message_; }
    // The slug given with WithSlug, or the code's kind (StatusCodeKind).
    std::string slug() const;
    // Seconds after which trying again may succeed; 0 when not said.
    int retry_after_s() const { return retry_after_s_; }
    // "invalid input: <message>" style text for logs.
    std::string ToString() const;
    // Drops this status on purpose; `why` says why nothing needs to happen (it documents the call site).
    void IgnoreError(const char* why) const { (void)why; }

  private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
    std::string slug_;
    int retry_after_s_ = 0;
};

const char* StatusCodeName(StatusCode code);
// The code as a label: invalid_input, not_found, io_error, no_space, cancelled, unavailable, internal,
// resource_exhausted, failed_precondition, unsupported, too_large, gone, rate_limited, unprocessable,
// unauthenticated, permission_denied.
const char* StatusCodeKind(StatusCode code);

// The process exit code for a command that ended with `st`: 0 ok; 2 the user's input or arguments (invalid,
// not found, unsupported, too large, unprocessable); 130 interrupted; 1 the environment or anything else
// (a missing program or model, a full disk, an internal error).
int ExitCodeFor(const Status& st);

// A value or a (non-ok) Status. Like Status, it cannot be dropped silently.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor): return values directly
    Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return std::holds_alternative<T>(v_); }
    // The failure; Status::Ok() when a value is held.
    Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

  private:
    std::variant<T, Status> v_;
};

}  // namespace podpromo

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define PODPROMO_RETURN_IF_ERROR(expr)   \
    do {                                 \
        ::podpromo::Status _st = (expr); \
        if (!_st.ok()) return _st;       \
    } while (0)

#define PODPROMO_CONCAT_INNER(a, b) a##b
#define PODPROMO_CONCAT(a, b) PODPROMO_CONCAT_INNER(a, b)
// `PODPROMO_ASSIGN_OR_RETURN(auto x, MakeX());` declares (or assigns) `x` from a Result's value, or returns the
// Result's Status from the enclosing function. `lhs` may be a declaration or an existing variable.
#define PODPROMO_ASSIGN_OR_RETURN(lhs, expr) \
    PODPROMO_ASSIGN_OR_RETURN_IMPL(PODPROMO_CONCAT(_podpromo_result_, __LINE__), lhs, expr)
#define PODPROMO_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
    auto result = (expr);                                 \
    if (!result.ok()) return result.status();             \
    lhs = std::move(result).value()
