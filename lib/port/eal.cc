#include "port/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_version.h>

#include <cctype>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace synwave::port {

bool IsVirtualDevice(const std::string& devargs) {
  // Virtual device drivers are named net_<driver> (eth_<driver> is the old
  // spelling some drivers still accept); PCI addresses start with hex digits.
  return devargs.rfind("net_", 0) == 0 || devargs.rfind("eth_", 0) == 0;
}

std::string DeviceName(const std::string& devargs) {
  return devargs.substr(0, devargs.find(','));
}

absl::StatusOr<std::vector<std::string>> BuildEalArgs(const EalOptions& opts) {
  if (opts.worker_cpus.empty()) {
    return absl::InvalidArgumentError("--lcores: no worker CPU given");
  }
  for (const std::string& a : opts.extra_args) {
    if (a == "-l" || a == "-c" || a.rfind("--lcores", 0) == 0 ||
        a.rfind("-l", 0) == 0 || a.rfind("--main-lcore", 0) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--eal: '", a, "' sets cores; use synwave's --lcores instead"));
    }
  }

  // The main lcore prefers a CPU no worker uses, so that its once-a-second
  // work never preempts a polling worker.
  std::set<unsigned> used(opts.worker_cpus.begin(), opts.worker_cpus.end());
  unsigned main_cpu = opts.worker_cpus.front();
  for (unsigned cpu = 0; cpu < opts.available_cpus; ++cpu) {
    if (!used.contains(cpu)) {
      main_cpu = cpu;
      break;
    }
  }
  std::vector<std::string> lcores = {absl::StrCat("0@", main_cpu)};
  for (size_t i = 0; i < opts.worker_cpus.size(); ++i) {
    lcores.push_back(absl::StrCat(i + 1, "@", opts.worker_cpus[i]));
  }

  std::vector<std::string> args = {"synwave", "--lcores",
                                   absl::StrJoin(lcores, ","),
                                   "--main-lcore", "0"};
  bool has_pci = false;
  for (const std::string& dev : opts.devices) {
    if (IsVirtualDevice(dev)) {
      args.push_back("--vdev=" + dev);
    } else {
      args.push_back("-a");
      args.push_back(dev);
      has_pci = true;
    }
  }
  if (opts.extra_args.empty()) {
    // No NIC, no hugepages: the defaults this project is tested with.
    for (const char* a : {"--no-huge", "-m", "512", "--no-shconf"}) {
      args.push_back(a);
    }
    if (!has_pci) args.push_back("--no-pci");
  } else {
    args.insert(args.end(), opts.extra_args.begin(), opts.extra_args.end());
  }
  bool has_log_level = false;
  for (const std::string& a : opts.extra_args) {
    if (a.rfind("--log-level", 0) == 0) has_log_level = true;
  }
  // EAL's informational start-up lines are noise in a tool's output.
  if (!has_log_level) args.push_back("--log-level=notice");
  if (!opts.file_prefix.empty()) {
    args.push_back("--file-prefix=" + opts.file_prefix);
  }
  return args;
}

absl::Status InitEal(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  // rte_eal_init may permute argv; it keeps pointers into the strings, which
  // must outlive the EAL, so they are copied into storage never freed.
  static std::vector<std::string>* storage = new std::vector<std::string>();
  storage->assign(args.begin(), args.end());
  for (std::string& s : *storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  int rc = rte_eal_init(static_cast<int>(args.size()), argv.data());
  if (rc < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("EAL initialisation failed: ", rte_strerror(rte_errno),
                     " (arguments: ", absl::StrJoin(args, " "), ")"));
  }
  return absl::OkStatus();
}

void CleanupEal() { rte_eal_cleanup(); }

std::string DpdkVersion() { return rte_version(); }

}  // namespace synwave::port
