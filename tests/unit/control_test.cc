// Control-plane parsing: CPU lists, address and port ranges, config
// validation, EAL argument building, device names. The command-line and
// config-file contract and synwave's flags are in control_flags_test.cc.
#include <string>
#include <utility>
#include <vector>

#include "control/config.h"
#include "control_valid_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/eal.h"

namespace synwave::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ParseCpuListTest, AcceptsSinglesAndRanges) {
  EXPECT_THAT(*ParseCpuList("0"), ElementsAre(0));
  EXPECT_THAT(*ParseCpuList("1-3,6"), ElementsAre(1, 2, 3, 6));
}

TEST(ParseCpuListTest, RejectsMalformedLists) {
  for (const char* bad : {"", "a", "1-", "-1", "3-1", "1,,2", "1-2-3", "1,1",
                          "0-1,1", "99999"}) {
    EXPECT_FALSE(ParseCpuList(bad).ok()) << bad;
  }
}

TEST(SplitArgsTest, SplitsOnWhiteSpaceWithQuotes) {
  EXPECT_THAT(*SplitArgs("  -m 1024  --vdev='net_tap0,iface=a b' \"x y\""),
              ElementsAre("-m", "1024", "--vdev=net_tap0,iface=a b", "x y"));
  EXPECT_THAT(*SplitArgs(""), ElementsAre());
  EXPECT_FALSE(SplitArgs("'open").ok());
}

TEST(ParseAddressRangeTest, RangesPrefixesAndSingleAddresses) {
  using P = std::pair<uint32_t, uint32_t>;
  EXPECT_EQ(*ParseAddressRange("10.0.0.2-10.0.0.200"), P(0x0a000002, 0x0a0000c8));
  // A prefix means its host addresses: not the network or the broadcast.
  EXPECT_EQ(*ParseAddressRange("10.0.1.0/24"), P(0x0a000101, 0x0a0001fe));
  EXPECT_EQ(*ParseAddressRange("10.0.1.7/32"), P(0x0a000107, 0x0a000107));
  EXPECT_EQ(*ParseAddressRange("10.0.1.0/31"), P(0x0a000100, 0x0a000101));
  EXPECT_EQ(*ParseAddressRange("198.18.0.2"), P(0xc6120002, 0xc6120002));
}

TEST(ParseAddressRangeTest, RejectsMalformedRanges) {
  for (const char* bad : {"", "10.0.0.300", "10.0.0.5-10.0.0.1", "10.0.0.1-",
                          "10.0.0.0/33", "x-y", "10.0.0.1/24/2"}) {
    EXPECT_FALSE(ParseAddressRange(bad).ok()) << bad;
  }
}

TEST(ParsePortRangeTest, AcceptsPortsAndRanges) {
  using P = std::pair<uint16_t, uint16_t>;
  EXPECT_EQ(*ParsePortRange("1024-65535"), P(1024, 65535));
  EXPECT_EQ(*ParsePortRange("40000"), P(40000, 40000));
  for (const char* bad : {"", "0", "0-10", "10-5", "1-65536", "a", "1-2-3"}) {
    EXPECT_FALSE(ParsePortRange(bad).ok()) << bad;
  }
}

TEST(ParseServerTest, AddressAndPort) {
  absl::StatusOr<app::LoadTarget> t = ParseServer("198.18.0.1:8080");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ip, 0xc6120001u);
  EXPECT_EQ(t->port, 8080);
  for (const char* bad : {"", "198.18.0.1", "198.18.0.1:", "198.18.0.1:0",
                          "198.18.0.1:70000", ":80", "host:80"}) {
    EXPECT_FALSE(ParseServer(bad).ok()) << bad;
  }
}

TEST(ValidateTest, LoadNeedsAServerAndALimit) {
  Config c = Valid();
  c.mode = Mode::kLoad;
  absl::Status s = Validate(c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), StartsWith("--server:"));
  c.load.servers.push_back(app::LoadTarget{0xc6120001, 80});
  c.load.cps = 0;
  c.load.concurrency = 0;
  s = Validate(c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), StartsWith("--concurrency:"));
  c.load.concurrency = 10;
  EXPECT_TRUE(Validate(c).ok());
}

TEST(MakeWorkerConfigTest, LoadConnectsFromTheClientRange) {
  Config c = Valid();
  c.mode = Mode::kLoad;
  c.listen_ports = {80};
  c.load.client_ip_first = 0xc6120002;
  c.load.client_ip_last = 0xc6120010;
  const engine::WorkerConfig w = MakeWorkerConfig(c);
  EXPECT_TRUE(w.tcp_active);
  EXPECT_TRUE(w.listen_ports.empty());
  EXPECT_EQ(w.local_ip_first, 0xc6120002u);
  EXPECT_EQ(w.local_ip_last, 0xc6120010u);
}

TEST(ValidateTest, AcceptsAMinimalConfig) { EXPECT_TRUE(Validate(Valid()).ok()); }

TEST(ValidateTest, ErrorsNameTheirFlag) {
  struct Case {
    void (*mutate)(Config&);
    const char* flag;
  } cases[] = {
      {[](Config& c) { c.ports.clear(); }, "--port:"},
      {[](Config& c) { c.ip.reset(); }, "--ip:"},
      {[](Config& c) { c.ip = wire::Ipv4Prefix::Parse("224.0.0.1/24"); },
       "--ip:"},
      {[](Config& c) { c.ip = wire::Ipv4Prefix::Parse("198.18.0.255/24"); },
       "--ip:"},
      {[](Config& c) { c.gateway = wire::Ipv4Address::Parse("198.19.0.1"); },
       "--gateway:"},
      {[](Config& c) { c.gateway = c.ip->address; }, "--gateway:"},
      {[](Config& c) { c.mac = wire::MacAddress::Broadcast(); }, "--mac:"},
      {[](Config& c) { c.lcores.clear(); }, "--lcores:"},
      {[](Config& c) { c.duration_s = -1; }, "--duration:"},
      {[](Config& c) { c.stats_interval_s = -1; }, "--stats-interval:"},
      {[](Config& c) { c.burst = 0; }, "--burst:"},
      {[](Config& c) { c.json_path = "/no/such/dir/r.json"; }, "--json:"},
  };
  for (const Case& k : cases) {
    Config c = Valid();
    k.mutate(c);
    absl::Status s = Validate(c);
    EXPECT_FALSE(s.ok()) << k.flag;
    EXPECT_THAT(std::string(s.message()), StartsWith(k.flag));
  }
}

TEST(ValidateTest, PointToPointPrefixesNeedNoHostBits) {
  Config c = Valid();
  c.ip = wire::Ipv4Prefix::Parse("198.18.0.0/31");
  EXPECT_TRUE(Validate(c).ok());
}

TEST(BuildEalArgsTest, DefaultsRunWithoutHugepagesOrPci) {
  port::EalOptions o;
  o.worker_cpus = {1};
  o.devices = {"net_tap0,iface=sw0"};
  o.available_cpus = 2;
  std::vector<std::string> args = *port::BuildEalArgs(o);
  EXPECT_THAT(args, ::testing::IsSupersetOf(
                        {"--no-huge", "--no-pci", "--no-shconf",
                         "--vdev=net_tap0,iface=sw0", "--lcores", "0@0,1@1"}));
}

TEST(BuildEalArgsTest, MainLcoreSharesAWorkerCpuOnlyWhenNoneIsFree) {
  port::EalOptions o;
  o.worker_cpus = {0, 1};
  o.devices = {"net_null0"};
  o.available_cpus = 2;
  std::vector<std::string> args = *port::BuildEalArgs(o);
  EXPECT_THAT(args, ::testing::Contains("0@0,1@0,2@1"));
}

TEST(BuildEalArgsTest, PciDevicesAreAllowListedAndRawArgsReplaceDefaults) {
  port::EalOptions o;
  o.worker_cpus = {2};
  o.devices = {"0000:01:00.0"};
  o.extra_args = {"-m", "2048", "--huge-dir=/mnt/huge"};
  o.available_cpus = 4;
  std::vector<std::string> args = *port::BuildEalArgs(o);
  EXPECT_THAT(args, ::testing::IsSupersetOf({"-a", "0000:01:00.0",
                                             "--huge-dir=/mnt/huge"}));
  EXPECT_THAT(args, ::testing::Not(::testing::Contains("--no-huge")));
  EXPECT_THAT(args, ::testing::Not(::testing::Contains("--no-pci")));
}

TEST(BuildEalArgsTest, RawArgsMayNotSetCores) {
  port::EalOptions o;
  o.worker_cpus = {1};
  o.available_cpus = 2;
  for (const char* a : {"-l", "-l0-1", "--lcores=1", "-c"}) {
    o.extra_args = {a};
    absl::StatusOr<std::vector<std::string>> args = port::BuildEalArgs(o);
    ASSERT_FALSE(args.ok()) << a;
    EXPECT_THAT(std::string(args.status().message()), StartsWith("--eal:"));
  }
}

TEST(DeviceNameTest, StripsDevargs) {
  EXPECT_EQ(port::DeviceName("net_tap0,iface=sw0"), "net_tap0");
  EXPECT_EQ(port::DeviceName("0000:01:00.0"), "0000:01:00.0");
  EXPECT_TRUE(port::IsVirtualDevice("net_ring0"));
  EXPECT_FALSE(port::IsVirtualDevice("0000:01:00.0"));
}

// Dual stack: one address of each family; the IPv6 rules name --ip and
// --gateway like the IPv4 ones.
Config ValidDualStack() {
  Config c = Valid();
  c.ip6 = wire::Ipv6Prefix::Parse("fd00::2/64");
  return c;
}

TEST(ValidateTest, DualStackIsAccepted) {
  Config c = ValidDualStack();
  EXPECT_TRUE(Validate(c).ok());
  c.gateway6 = wire::Ipv6Address::Parse("fe80::1");  // a router
  EXPECT_TRUE(Validate(c).ok());
  c.gateway6 = wire::Ipv6Address::Parse("fd00::1");  // on the prefix
  EXPECT_TRUE(Validate(c).ok());
  c.ip6 = wire::Ipv6Prefix::Parse("2001:db8::5/128");
  c.gateway6 = wire::Ipv6Address::Parse("fe80::1");
  EXPECT_TRUE(Validate(c).ok());
}

// IPv6 only: an IPv6 --ip alone serves, loads from IPv6 clients to IPv6
// servers and fronts IPv6 backends; the worker then has no IPv4 address.
TEST(ValidateTest, Ipv6OnlyIsAccepted) {
  Config c = ValidDualStack();
  c.ip.reset();
  EXPECT_TRUE(Validate(c).ok());
  c.gateway6 = wire::Ipv6Address::Parse("fe80::1");
  EXPECT_TRUE(Validate(c).ok());
  EXPECT_TRUE(MakeWorkerConfig(c).ip.address.IsZero());

  Config load = c;
  load.mode = Mode::kLoad;
  load.load.concurrency = 10;
  load.load.servers.push_back(
      app::LoadTarget::Ipv6(*wire::Ipv6Address::Parse("fd00::1"), 80));
  load.load.client_ip6_first = load.load.client_ip6_last = c.ip6->address;
  EXPECT_TRUE(Validate(load).ok());
  const engine::WorkerConfig w = MakeWorkerConfig(load);
  EXPECT_TRUE(w.ip.address.IsZero());
  EXPECT_EQ(w.local_ip_first, 0u);

  Config proxy = c;
  proxy.mode = Mode::kProxy;
  proxy.proxy.backend_ip6 = wire::Ipv6Prefix::Parse("fd01::1/64");
  app::ProxyBackend b;
  b.ip6 = *wire::Ipv6Address::Parse("fd01::2");
  b.port = 80;
  proxy.proxy.backends.push_back(b);
  proxy.load.concurrency = 10;
  EXPECT_TRUE(Validate(proxy).ok()) << Validate(proxy);
}

TEST(ValidateTest, Ipv6ErrorsNameTheirFlag) {
  struct Case {
    void (*mutate)(Config&);
    const char* message;
  } cases[] = {
      {[](Config& c) {
         c.ip.reset();
         c.ip6.reset();
       },
       "--ip: the endpoint needs an address"},
      {[](Config& c) {
         c.ip.reset();
         c.gateway = wire::Ipv4Address::Parse("198.18.0.1");
       },
       "--gateway: 198.18.0.1 is IPv4 but no IPv4 --ip is given"},
      {[](Config& c) {
         c.ip.reset();
         c.mode = Mode::kLoad;
         c.load.concurrency = 10;
         c.load.servers.push_back(app::LoadTarget{0xc6120001, 80});
       },
       "--server: 198.18.0.1:80 is IPv4 but no IPv4 --ip is given"},
      {[](Config& c) {
         c.ip.reset();
         c.mode = Mode::kLoad;
         c.load.concurrency = 10;
         c.load.servers.push_back(
             app::LoadTarget::Ipv6(*wire::Ipv6Address::Parse("fd00::1"), 80));
         c.load.client_ip6_first = c.load.client_ip6_last = c.ip6->address;
         c.load.client_ip_first = c.load.client_ip_last = 0x0a000001;
       },
       "--client-ips: IPv4 clients need an IPv4 --ip"},
      {[](Config& c) { c.ip6 = wire::Ipv6Prefix::Parse("fe80::2/64"); },
       "--ip: fe80::2 is link-local"},
      {[](Config& c) { c.ip6 = wire::Ipv6Prefix::Parse("ff02::2/64"); },
       "--ip: ff02::2 cannot be a host address"},
      {[](Config& c) { c.ip6 = wire::Ipv6Prefix::Parse("::/64"); },
       "--ip: :: cannot be a host address"},
      {[](Config& c) { c.ip6 = wire::Ipv6Prefix::Parse("::1/128"); },
       "--ip: ::1 cannot be a host address"},
      {[](Config& c) {
         c.ip6 = wire::Ipv6Prefix::Parse("::ffff:198.18.0.2/128");
       },
       "--ip: ::ffff:c612:2 cannot be a host address"},
      {[](Config& c) { c.gateway6 = wire::Ipv6Address::Parse("fd01::1"); },
       "--gateway: fd01::1 is neither link-local nor on the prefix of "
       "--ip=fd00::2/64"},
      {[](Config& c) { c.gateway6 = wire::Ipv6Address::Parse("ff02::1"); },
       "--gateway: ff02::1 cannot be a next hop"},
      {[](Config& c) { c.gateway6 = c.ip6->address; },
       "--gateway: must differ from our own address"},
      {[](Config& c) {
         c.ip6.reset();
         c.gateway6 = wire::Ipv6Address::Parse("fe80::1");
       },
       "--gateway: fe80::1 is IPv6 but no IPv6 --ip is given"},
      {[](Config& c) {
         c.mode = Mode::kProxy;
         c.proxy.backend_ip = wire::Ipv4Prefix::Parse("10.9.0.1/24");
         c.proxy.backends.push_back(app::ProxyBackend{0x0a090002, 80});
         c.load.concurrency = 10;
       },
       "--ip: fd00::2/64 is IPv6 but --backend-ip is IPv4: an IPv6 VIP in "
       "front of IPv4 backends is not supported"},
  };
  for (const Case& k : cases) {
    Config c = ValidDualStack();
    k.mutate(c);
    absl::Status s = Validate(c);
    EXPECT_FALSE(s.ok()) << k.message;
    EXPECT_THAT(std::string(s.message()), StartsWith(k.message));
  }
}

TEST(MakeWorkerConfigTest, CarriesTheIpv6AddressAndGateway) {
  Config c = ValidDualStack();
  c.gateway6 = wire::Ipv6Address::Parse("fe80::1");
  const engine::WorkerConfig w = MakeWorkerConfig(c);
  ASSERT_TRUE(w.ip6.has_value());
  EXPECT_EQ(w.ip6->ToString(), "fd00::2/64");
  ASSERT_TRUE(w.gateway6.has_value());
  EXPECT_EQ(w.gateway6->ToString(), "fe80::1");
  EXPECT_FALSE(MakeWorkerConfig(Valid()).ip6.has_value());
}

}  // namespace
}  // namespace synwave::control
