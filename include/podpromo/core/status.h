// Status and Result<T>: expected failures as values (DESIGN.md §5.2).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace podpromo {

// What kind of failure a Status carries. Callers map these to exit codes and HTTP statuses in one place.
enum class StatusCode {
    kOk,
    kInvalidInput,  // the user's input is unusable (corrupt media, malformed transcript, bad flag)
    kNotFound,
    kIoError,      // reading or writing a file failed
    kNoSpace,      // a write failed for lack of disk space
    kCancelled,    // the caller asked to stop
    kUnavailable,  // a needed program or model is missing
    kInternal,
};

// An outcome: ok, or a code with a one-line human-readable message. Cheap to copy; thread-compatible. A Status
// cannot be dropped silently: handle it, or say why not with IgnoreError("reason").
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

    bool ok() const { return code_ == StatusCode::kOk; }
    StatusCode code() const { return code_; }
    const std::string& message() const { return message_; }
    // "invalid input: <message>" style text for logs.
    std::string ToString() const;
    // Drops this status on purpose; `why` says why nothing needs to happen (it documents the call site).
    void IgnoreError(const char* why) const { (void)why; }

  private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
};

const char* StatusCodeName(StatusCode code);
// The code as a label: invalid_input, not_found, io_error, no_space, cancelled, unavailable, internal.
const char* StatusCodeKind(StatusCode code);

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
