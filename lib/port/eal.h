// EAL start-up: turning synwave's options into rte_eal_init arguments.
//
// Workers are lcores 1..N pinned to the CPUs the user chose (--lcores); the
// main lcore 0 only waits, prints statistics and handles signals, so it is
// put on a CPU that no worker uses when there is one, or shares the first
// worker's CPU otherwise. Devices named like virtual drivers (net_tap0,...)
// become --vdev, anything else is taken as a PCI address and allow-listed.
// With no raw EAL arguments given, the EAL runs without hugepages or PCI
// (--no-huge -m 512 --no-pci --no-shconf), which is what tests and the
// loopback mode need on a machine with no NIC.
#ifndef SYNWAVE_PORT_EAL_H_
#define SYNWAVE_PORT_EAL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace synwave::port {

struct EalOptions {
  std::vector<unsigned> worker_cpus;     // one worker lcore per CPU, in order
  std::vector<std::string> devices;      // --port devargs
  std::vector<std::string> extra_args;   // --eal, split on white space
  unsigned available_cpus = 0;           // CPUs the process may run on
  std::string file_prefix;               // unique run-time dir; empty: default
};

// True for devargs naming a virtual device ("net_tap0,iface=x", "net_ring0").
bool IsVirtualDevice(const std::string& devargs);

// The device name a devargs string probes as ("net_tap0" for
// "net_tap0,iface=sw0"; the PCI address for a PCI device).
std::string DeviceName(const std::string& devargs);

// Builds argv for rte_eal_init (program name first). Fails when extra_args
// set cores themselves (-l, -c, --lcores: use --lcores of synwave instead).
absl::StatusOr<std::vector<std::string>> BuildEalArgs(const EalOptions& opts);

// Calls rte_eal_init once per process. The error names the first bad
// argument where the EAL says which.
absl::Status InitEal(const std::vector<std::string>& args);

// Releases EAL resources at exit (rte_eal_cleanup).
void CleanupEal();

// The DPDK version string ("DPDK 22.11.x"), for `synwave version`.
std::string DpdkVersion();

}  // namespace synwave::port

#endif  // SYNWAVE_PORT_EAL_H_
