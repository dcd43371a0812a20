// Result type for the layers that do not know CAF (optim, model, data,
// config): success, or an error code with a message naming what is at fault.
//
// Thread-safety: a status is a value; copies are independent.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace ormo {

/// Broad class of an error. Callers branch on the code; humans read the
/// message.
enum class status_code {
  ok,
  invalid_argument, ///< Bad value from a caller or a file.
  not_found,        ///< A file or entry does not exist.
  corrupt,          ///< A file exists but its content is wrong.
  io_error,         ///< The operating system refused a read or write.
};

/// Success or a described failure. Cheap when ok (no allocation).
class status {
public:
  status() = default;

  static status ok() { return {}; }

  static status error(status_code code, std::string message) {
    return status{code, std::move(message)};
  }

  bool is_ok() const { return code_ == status_code::ok; }
  explicit operator bool() const { return is_ok(); }

  status_code code() const { return code_; }

  /// Empty when ok.
  const std::string& message() const { return message_; }

private:
  status(status_code code, std::string message)
    : code_(code), message_(std::move(message)) {}

  status_code code_ = status_code::ok;
  std::string message_;
};

/// A value or the status that explains its absence.
template <class T>
class result {
public:
  result(T value) : value_(std::move(value)) {}

  /// REQUIRES: !error.is_ok().
  result(status error) : error_(std::move(error)) {}

  bool has_value() const { return value_.has_value(); }
  explicit operator bool() const { return value_.has_value(); }

  /// REQUIRES: has_value().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

  /// ok() when has_value().
  const status& error() const { return error_; }

private:
  std::optional<T> value_;
  status error_;
};

} // namespace ormo
