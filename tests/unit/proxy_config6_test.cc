// The IPv6 proxy's configuration (lib/control): --backend-ip's IPv6 form
// makes an IPv6 proxy whose VIP is --ip's IPv6 address; --backend takes
// [ADDR]:PORT or ADDR; MakeProxyConfig carries the family; mixed families
// and bad addresses are refused with errors that name the flag.
#include <string>

#include "control/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace synwave::control {
namespace {

using ::testing::StartsWith;

// A valid dual-stack IPv6 proxy.
Config Proxy6() {
  Config c;
  c.ports = {"net_null0"};
  c.ip = wire::Ipv4Prefix::Parse("198.18.0.2/24");
  c.ip6 = wire::Ipv6Prefix::Parse("fd00::2/64");
  c.lcores = {0};
  c.mode = Mode::kProxy;
  c.listen_ports = {80};
  c.load.concurrency = 10;
  c.proxy.backend_ip6 = wire::Ipv6Prefix::Parse("fd01::1/64");
  c.proxy.backends = {*ParseBackend("[fd01::2]:8080")};
  return c;
}

TEST(ProxyConfig6Test, Ipv6VipAndBackends) {
  absl::StatusOr<app::ProxyBackend> b1 = ParseBackend("[fd01::2]:8080");
  absl::StatusOr<app::ProxyBackend> b2 = ParseBackend("fd01::3");
  ASSERT_TRUE(b1.ok()) << b1.status();
  ASSERT_TRUE(b2.ok()) << b2.status();
  EXPECT_EQ(b1->ip6.ToString(), "fd01::2");
  EXPECT_EQ(b1->port, 8080);
  EXPECT_EQ(b1->ip, 0u);
  EXPECT_EQ(b2->ip6.ToString(), "fd01::3");
  EXPECT_EQ(b2->port, 0);
  Config c = Proxy6();
  c.proxy.backends = {*b1, *b2};
  EXPECT_TRUE(Validate(c).ok()) << Validate(c);
  const app::ProxyConfig pc = MakeProxyConfig(c);
  EXPECT_TRUE(pc.ipv6);
  EXPECT_EQ(pc.vip6.ToString(), "fd00::2");
  EXPECT_EQ(pc.backend_side_ip6.ToString(), "fd01::1");
  EXPECT_EQ(pc.defaults.mss, 1440);
  ASSERT_EQ(pc.backends.size(), 2u);
  EXPECT_EQ(pc.backends[1].ip6.ToString(), "fd01::3");
}

TEST(ProxyConfig6Test, MalformedBackendsAreRefused) {
  for (const char* bad : {"[fd01::2]", "[fd01::2]:", "[fd01::2]:0",
                          "[fd01::2]:70000", "[fd01::zz]:80", "fd01::zz",
                          "[fd01::2:80", "[10.9.0.2]:80"}) {
    EXPECT_FALSE(ParseBackend(bad).ok()) << bad;
  }
}

TEST(ProxyConfig6Test, ErrorsNameTheirFlag) {
  struct Case {
    void (*mutate)(Config&);
    const char* message;
  } cases[] = {
      {[](Config& c) {
         c.proxy.backends = {app::ProxyBackend{0x0a090002, 80}};
       },
       "--backend: 10.9.0.2 is IPv4 but --backend-ip is IPv6"},
      {[](Config& c) { c.proxy.backends = {*ParseBackend("[fd02::9]:80")}; },
       "--backend: fd02::9 is not another host on the prefix of "
       "--backend-ip=fd01::1/64"},
      {[](Config& c) { c.proxy.backends = {*ParseBackend("[fd01::1]:80")}; },
       "--backend: fd01::1 is not another host"},
      {[](Config& c) {
         c.proxy.backends.push_back(c.proxy.backends.front());
       },
       "--backend: fd01::2 is given twice"},
      {[](Config& c) { c.ip6.reset(); },
       "--backend-ip: fd01::1/64 is IPv6, so the VIP is too: give an IPv6 "
       "--ip"},
      {[](Config& c) {
         c.proxy.backend_ip6 = wire::Ipv6Prefix::Parse("fd00::2/64");
         c.proxy.backends = {*ParseBackend("[fd00::9]:80")};
       },
       "--backend-ip: must differ from the VIP"},
      {[](Config& c) {
         c.proxy.backend_ip6.reset();
         c.proxy.backend_ip = wire::Ipv4Prefix::Parse("10.9.0.1/24");
       },
       "--backend: fd01::2 is IPv6 but --backend-ip is IPv4"},
  };
  for (const Case& k : cases) {
    Config c = Proxy6();
    k.mutate(c);
    absl::Status s = Validate(c);
    EXPECT_FALSE(s.ok()) << k.message;
    EXPECT_THAT(std::string(s.message()), StartsWith(k.message));
  }
}

}  // namespace
}  // namespace synwave::control
