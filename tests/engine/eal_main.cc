// GoogleTest main for suites that need the EAL: starts it once per process
// the way the tests run everywhere (no hugepages, no PCI), with a run-time
// prefix unique to the process so suites can run in parallel.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "port/eal.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const std::string prefix = "synwave_test_" + std::to_string(getpid());
  const absl::Status s = synwave::port::InitEal(
      {"engine_test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
       "--log-level=warning", "-l", "0", "--file-prefix=" + prefix});
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  synwave::port::CleanupEal();
  return rc;
}
