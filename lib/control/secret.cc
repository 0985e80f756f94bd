#include "control/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace synwave::control {
namespace {

constexpr char kMagic[] = "synwave-secret-v1 ";

}  // namespace

absl::Status GenerateSecret(const std::string& path) {
  std::random_device rd;  // the kernel's random source
  auto word = [&] { return (uint64_t{rd()} << 32) | rd(); };
  const tcp::SipKey key{word(), word()};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret: cannot create '", path, "': ",
                     std::strerror(errno),
                     errno == EEXIST ? " (it exists: keep it, or remove it)"
                                     : ""));
  }
  const std::string line =
      absl::StrFormat("%s%016x%016x\n", kMagic, key.k0, key.k1);
  const bool ok = ::write(fd, line.data(), line.size()) ==
                  static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) {
    return absl::InternalError(absl::StrCat("secret: cannot write '", path, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<tcp::SipKey> LoadSecret(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--secret-file: cannot read '", path, "': ", std::strerror(errno),
        errno == ENOENT ? absl::StrCat(" (create one with: synwave secret "
                                       "generate ", path, ")")
                        : ""));
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--secret-file: '", path, "' is readable by others (mode ",
        absl::StrFormat("%04o", st.st_mode & 07777),
        "): anyone who reads it can forge SYN cookies; chmod 600 it"));
  }
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  absl::string_view hex = line;
  uint64_t k0 = 0, k1 = 0;
  if (!absl::ConsumePrefix(&hex, kMagic) || hex.size() != 32 ||
      !absl::SimpleHexAtoi(hex.substr(0, 16), &k0) ||
      !absl::SimpleHexAtoi(hex.substr(16), &k1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--secret-file: '", path, "' is not a synwave secret (\"", kMagic,
        "\" and 32 hex digits; see synwave secret generate)"));
  }
  return tcp::SipKey{k0, k1};
}

}  // namespace synwave::control
