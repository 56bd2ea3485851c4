// Status and StatusOr<T>: how every edgeopt library reports failure across its boundary.
// No exceptions cross the public API. A Status carries a code (what kind of failure, which the
// CLI maps to an exit code) and a message that names the file/node/sample and the reason.
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace edgeopt {

enum class StatusCode {
  kOk = 0,
  kInvalidInput,   // the user's model, data or arguments are wrong (CLI exit 2)
  kUnsupported,    // valid input that edgeopt does not handle (CLI exit 2)
  kIoError,        // a file could not be read or written (CLI exit 2)
  kInternal,       // a bug in edgeopt (CLI exit 1)
  kExternal,       // an external program the user named (the fine-tune hook) failed (CLI exit 4)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<context>: <message>"; used to add where a failure happened.
  Status withContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalidInput(std::string m) { return {StatusCode::kInvalidInput, std::move(m)}; }
inline Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status ioError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status internalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status externalFailure(std::string m) { return {StatusCode::kExternal, std::move(m)}; }

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT
  StatusOr(T value) : value_(std::move(value)) {}                                 // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace edgeopt

// Aborts with file and line when an internal invariant is broken (a bug in edgeopt, never a
// consequence of user input). Active in every build type, unlike assert.
#define EDGEOPT_CHECK(cond)                                                                  \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "edgeopt: internal error: check failed at %s:%d: %s\n", __FILE__, \
                   __LINE__, #cond);                                                         \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

#define EDGEOPT_CONCAT_INNER(a, b) a##b
#define EDGEOPT_CONCAT(a, b) EDGEOPT_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` yields a failed Status.
#define EDGEOPT_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::edgeopt::Status _edgeopt_status = (expr);        \
    if (!_edgeopt_status.ok()) return _edgeopt_status; \
  } while (0)

#define EDGEOPT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

// `lhs = value of expr`, or returns its Status from the enclosing function.
#define EDGEOPT_ASSIGN_OR_RETURN(lhs, expr) \
  EDGEOPT_ASSIGN_OR_RETURN_IMPL(EDGEOPT_CONCAT(_edgeopt_or_, __LINE__), lhs, expr)
