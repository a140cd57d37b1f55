// Errors as values: Status for "did it work and why not", Result<T> for a value or a Status.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace mm {

class Status {
 public:
  Status() = default;  // OK
  static Status ok() { return {}; }
  static Status error(std::string msg) { return Status(std::move(msg)); }
  bool is_ok() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const std::string& message() const { return msg_; }

 private:
  explicit Status(std::string msg) : failed_(true), msg_(std::move(msg)) {}
  bool failed_ = false;
  std::string msg_;
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}                // NOLINT: implicit by design
  Result(Status err) : v_(std::move(err)) {}               // NOLINT: must be an error
  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The error; only valid when !is_ok().
  const Status& status() const { return std::get<1>(v_); }
  const std::string& error() const { return status().message(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace mm
