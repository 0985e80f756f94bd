// The cookie and ISN secret shared by front ends behind ECMP
// (--secret-file): any host that holds the same secret validates a SYN
// cookie another host sent, and their ISNs and timestamp offsets follow the
// same keyed hash (RFC 6528, RFC 4987).
//
// The file is one line, "synwave-secret-v1 " and 32 hexadecimal digits (128
// bits), written by `synwave secret generate PATH` from the kernel's random
// source with mode 0600. A file that group or others may read is refused:
// whoever reads it can forge cookies.
#ifndef SYNWAVE_CONTROL_SECRET_H_
#define SYNWAVE_CONTROL_SECRET_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tcp/siphash.h"

namespace synwave::control {

// Writes a new secret to `path` (which must not exist yet), mode 0600.
absl::Status GenerateSecret(const std::string& path);

// Reads the secret at `path`; errors name --secret-file and say what to do.
absl::StatusOr<tcp::SipKey> LoadSecret(const std::string& path);

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_SECRET_H_
