// Instructions per segment of synwave proxy's paths, for callgrind
// (bench/callgrind.sh): each path's rounds run inside its own non-inlined
// synwave::bench::Measure function. Prints "path burst segments".
//   proxy_cost --path=proxy-to-backend|proxy-to-client|proxy-cookie
//              [--rounds=N]
// and the same over IPv6 (an IPv6 proxy): proxy6-to-backend,
// proxy6-to-client, proxy6-cookie.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/app/proxy_fixture.h"

namespace synwave::bench {

[[gnu::noinline]] size_t MeasureProxy(ProxyFixture& fx, ProxyFrames& f,
                                      int rounds) {
  size_t done = 0;
  uint64_t now = 5'000'000'000;
  for (int r = 0; r < rounds; ++r) {
    done += ProcessBurst(fx.core(), f, now);
    now += 1000;
  }
  return done;
}

}  // namespace synwave::bench

int main(int argc, char** argv) {
  std::string path = "proxy-to-backend";
  int rounds = 128;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--path=", 7) == 0) path = argv[i] + 7;
    if (std::strncmp(argv[i], "--rounds=", 9) == 0) rounds = std::atoi(argv[i] + 9);
    if (std::strcmp(argv[i], "--list") == 0) {
      std::printf("proxy-to-backend\nproxy-to-client\nproxy-cookie\n"
                  "proxy6-to-backend\nproxy6-to-client\nproxy6-cookie\n");
      return 0;
    }
  }
  const bool v6 = path.rfind("proxy6-", 0) == 0;
  const std::string p4 = v6 ? "proxy-" + path.substr(7) : path;
  synwave::bench::ProxyFixture fx(v6);
  synwave::bench::ProxyFrames* f =
      p4 == "proxy-to-backend" ? &fx.to_backend
      : p4 == "proxy-to-client" ? &fx.to_client
      : p4 == "proxy-cookie"    ? &fx.syns
                                : nullptr;
  if (f == nullptr) {
    std::fprintf(stderr, "proxy_cost: unknown path %s\n", path.c_str());
    return 2;
  }
  synwave::bench::ProcessBurst(fx.core(), *f, 4'000'000'000);  // warm-up
  const size_t n = synwave::bench::MeasureProxy(fx, *f, rounds);
  std::printf("%s %zu %zu\n", path.c_str(), synwave::bench::kProxyBurst, n);
  return n == static_cast<size_t>(rounds) * synwave::bench::kProxyBurst ? 0 : 1;
}
