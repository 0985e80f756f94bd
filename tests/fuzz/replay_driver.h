// What the replay tests of the fuzz targets share (replay_main.cc for the
// parser, stack_replay_main.cc for the TCP stack): a deterministic random
// source for their generated inputs, and the command line
//
//   REPLAY [--generated=N] [--write-seeds=DIR] [PATH...]
//
// which replays every file under the PATHs (directories recursively)
// through the target, or writes the seed inputs to DIR and exits.
#ifndef SYNWAVE_TESTS_FUZZ_REPLAY_DRIVER_H_
#define SYNWAVE_TESTS_FUZZ_REPLAY_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace synwave::fuzz_replay {

// SplitMix64: tiny, seedable, and identical on every platform (unlike the
// distributions of <random>).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// Named seed inputs.
using Seeds = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

struct ReplayTarget {
  void (*run)(const std::vector<uint8_t>& input);
  Seeds (*seeds)();
};

namespace internal {

inline bool ReplayFile(const ReplayTarget& target,
                       const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  target.run(bytes);
  return true;
}

inline int WriteSeeds(const ReplayTarget& target,
                      const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (const auto& [name, input] : target.seeds()) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(input.data()),
              static_cast<std::streamsize>(input.size()));
    if (!out) return 1;
  }
  return 0;
}

}  // namespace internal

// Handles the command line: replays the files named (counting them in
// *files) and sets *generated from --generated=N (left alone otherwise).
// Returns an exit code when the program is done (seeds written, or an error),
// or -1 when the caller goes on to its generated inputs.
inline int ReplayCommandLine(int argc, char** argv, const ReplayTarget& target,
                             size_t* generated, size_t* files) {
  namespace fs = std::filesystem;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--generated=")) {
      *generated = std::strtoull(argv[i] + 12, nullptr, 10);
      continue;
    }
    if (arg.starts_with("--write-seeds=")) {
      return internal::WriteSeeds(target, fs::path(arg.substr(14)));
    }
    const fs::path path(arg);
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(path)) {
        if (!entry.is_regular_file()) continue;
        if (!internal::ReplayFile(target, entry.path())) return 1;
        ++*files;
      }
    } else if (fs::is_regular_file(path, ec)) {
      if (!internal::ReplayFile(target, path)) return 1;
      ++*files;
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      return 1;
    }
  }
  return -1;
}

}  // namespace synwave::fuzz_replay

#endif  // SYNWAVE_TESTS_FUZZ_REPLAY_DRIVER_H_
