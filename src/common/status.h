// Status and StatusOr: how every module boundary in inferd reports failure.
//
// A Status is a code plus a human-readable message that says what was wrong and
// where. Codes are transport-neutral; api/http_status.h is the one place that maps
// them to HTTP status codes. Status values are immutable and safe to copy across
// threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace inferd {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller sent something malformed or inconsistent
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // the named thing exists and may not be created again
  kFailedPrecondition,  // valid request, but the system is not in a state to do it
  kResourceExhausted,   // a named limit was exceeded (body size, batch size, ...)
  kUnavailable,         // not ready, shutting down, or a dependency is down
  kUnauthenticated,     // no credentials where some are required
  kPermissionDenied,    // credentials given but not sufficient
  kUnimplemented,       // the operation is not supported for this object
  kInternal,            // a broken invariant or an unexpected library failure
};

// Returns the canonical upper-case name of a code, e.g. "INVALID_ARGUMENT".
const char* StatusCodeName(StatusCode code);

// True for the codes that blame the caller's request (invalid, unknown, over a
// limit, not allowed), false for the server's own failures (unavailable,
// internal, unimplemented).
bool IsCallerError(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a value of T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Internal("StatusOr built from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace inferd

#define INFERD_CONCAT_INNER(a, b) a##b
#define INFERD_CONCAT(a, b) INFERD_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` yields a non-OK Status.
#define RETURN_IF_ERROR(expr)                     \
  do {                                            \
    ::inferd::Status _st = (expr);                \
    if (!_st.ok()) return _st;                    \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr)                                     \
  auto INFERD_CONCAT(_statusor_, __LINE__) = (expr);                    \
  if (!INFERD_CONCAT(_statusor_, __LINE__).ok())                        \
    return INFERD_CONCAT(_statusor_, __LINE__).status();                \
  lhs = std::move(INFERD_CONCAT(_statusor_, __LINE__)).value()
