// The pieces every flags*.cc file of lib/control shares to turn flags into
// typed settings: range-checked reads whose errors name the flag. Internal
// to lib/control (flags.cc, flags_proxy.cc).
#ifndef SYNWAVE_CONTROL_FLAG_VALUES_H_
#define SYNWAVE_CONTROL_FLAG_VALUES_H_

#include <cstdint>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/config.h"

namespace synwave::control {

inline absl::Status Bad(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

// An integer flag in [lo, hi], checked before it is narrowed to T.
template <typename T>
absl::StatusOr<T> IntFlag(const absl::Flag<int64_t>& flag, const char* name,
                          int64_t lo, int64_t hi) {
  const int64_t v = absl::GetFlag(flag);
  if (v < lo || v > hi) {
    return Bad(name, absl::StrCat(v, " is outside ", lo, "..", hi));
  }
  return static_cast<T>(v);
}

// A small integer flag in [lo, hi] (its message names the range only).
template <typename T>
absl::StatusOr<T> SmallIntFlag(const absl::Flag<int32_t>& flag,
                               const char* name, int32_t lo, int32_t hi) {
  const int32_t v = absl::GetFlag(flag);
  if (v < lo || v > hi) {
    return Bad(name, absl::StrCat("must be ", lo, "..", hi));
  }
  return static_cast<T>(v);
}

// A positive number of seconds, in nanoseconds.
inline absl::StatusOr<uint64_t> SecondsFlag(const absl::Flag<double>& flag,
                                     const char* name) {
  const double v = absl::GetFlag(flag);
  if (!(v > 0) || v > 1e7) {
    return Bad(name, "must be a positive number of seconds");
  }
  return static_cast<uint64_t>(v * 1e9);
}

// The proxy's settings (flags_proxy.cc).
absl::Status ProxyFromFlags(Config& c);

// --ip and --gateway (flags_address.cc).
absl::Status AddressesFromFlags(Config& c);

// --client-ips, --flood-sources and loopback --ipv6, once --ip and
// --server are read (flags_address.cc).
absl::Status LoadAddressesFromFlags(Mode mode, Config& c);

}  // namespace synwave::control

// `lhs = *expr`, or return expr's status from the enclosing function.
#define SYNWAVE_ASSIGN_OR_RETURN(lhs, expr) \
  {                                         \
    auto r = (expr);                        \
    if (!r.ok()) return r.status();         \
    lhs = *r;                               \
  }

#endif  // SYNWAVE_CONTROL_FLAG_VALUES_H_
