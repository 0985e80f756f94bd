// A load over IPv6 as the user writes it: --server=[fd00::1]:80, IPv6
// --client-ips ranges and prefixes (one per family, bounded), IPv6
// --flood-sources, loopback --ipv6, their config-file forms, and the errors
// for the forms that do not hold (control/config_ipv6.cc,
// control/flags_address.cc).
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/reflection.h"
#include "control/config.h"
#include "control/flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace synwave::control {
namespace {

using testing::HasSubstr;
using testing::StartsWith;
using wire::Ipv6Address;

Ipv6Address A(const char* text) { return *Ipv6Address::Parse(text); }

TEST(ParseAddressRange6Test, RangesPrefixesAndSingleAddresses) {
  using P = std::pair<Ipv6Address, Ipv6Address>;
  EXPECT_EQ(*ParseAddressRange6("fd00::100-fd00::1ff"),
            P(A("fd00::100"), A("fd00::1ff")));
  // A prefix: its addresses but the subnet-router anycast (all-zero) one.
  EXPECT_EQ(*ParseAddressRange6("fd00::/120"), P(A("fd00::1"), A("fd00::ff")));
  EXPECT_EQ(*ParseAddressRange6("fd00::1:0/112"),
            P(A("fd00::1:1"), A("fd00::1:ffff")));
  // Host bits in the prefix's address are ignored, as for IPv4.
  EXPECT_EQ(*ParseAddressRange6("fd00::77/120"),
            P(A("fd00::1"), A("fd00::ff")));
  // /127 (RFC 6164) and /128 keep every address.
  EXPECT_EQ(*ParseAddressRange6("fd00::6/127"), P(A("fd00::6"), A("fd00::7")));
  EXPECT_EQ(*ParseAddressRange6("fd00::9/128"), P(A("fd00::9"), A("fd00::9")));
  EXPECT_EQ(*ParseAddressRange6("fd00::9"), P(A("fd00::9"), A("fd00::9")));
  // A range may carry into the next 64-bit word.
  EXPECT_EQ(*ParseAddressRange6("fd00::ffff:ffff:ffff:ffff-fd00:0:0:1::1"),
            P(A("fd00::ffff:ffff:ffff:ffff"), A("fd00:0:0:1::1")));
}

TEST(ParseAddressRange6Test, RejectsMalformedAndNonHostRanges) {
  for (const char* bad :
       {"", "fd00::5-fd00::1", "fd00::1-", "fd00::/129", "x-y", "fd00::1/64/2",
        "[fd00::1]", "fd00::1%eth0", "ff02::1", "::1", "::-fd00::1",
        "::ffff:10.0.0.1", "fd00::1-ff02::1", "fd00::/-1"}) {
    EXPECT_FALSE(ParseAddressRange6(bad).ok()) << bad;
  }
  EXPECT_THAT(
      std::string(ParseAddressRange6("fd00::5-fd00::1").status().message()),
      HasSubstr("ends before it starts"));
  EXPECT_THAT(std::string(ParseAddressRange6("ff02::1").status().message()),
              HasSubstr("cannot be a host address"));
}

TEST(ParseAddressRange6Test, CountsAddressesSaturated) {
  EXPECT_EQ(AddressCount6(A("fd00::1"), A("fd00::1")), 1u);
  EXPECT_EQ(AddressCount6(A("fd00::1"), A("fd00::ff")), 255u);
  EXPECT_EQ(AddressCount6(A("fd00::"), A("fd00::ffff:ffff:ffff:ffff")),
            ~uint64_t{0});
  EXPECT_EQ(AddressCount6(A("fd00::"), A("fd01::")), ~uint64_t{0});
  EXPECT_EQ(AddressCount6(A("fd00::2"), A("fd00::1")), 0u);
}

TEST(ParseServerTest, BracketedIpv6AndItsErrors) {
  absl::StatusOr<app::LoadTarget> t = ParseServer("[fd00::1]:8080");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->ipv6);
  EXPECT_EQ(t->ip6, A("fd00::1"));
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(TargetText(*t), "[fd00::1]:8080");
  t = ParseServer("198.18.0.1:80");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->ipv6);
  EXPECT_EQ(TargetText(*t), "198.18.0.1:80");
  for (const char* bad :
       {"[fd00::1]", "[fd00::1]:", "[fd00::1]:0", "[fd00::1]:65536", "[]:80",
        "[fd00::1:80", "fd00::1]:80", "[fd00::zz]:80", "[ff02::1]:80",
        "[::]:80", "[198.18.0.1]:80", "[fd00::1]x:80"}) {
    EXPECT_FALSE(ParseServer(bad).ok()) << bad;
  }
  // Without brackets the port cannot be told from the address.
  EXPECT_THAT(std::string(ParseServer("fd00::1:80").status().message()),
              HasSubstr("brackets"));
}

Config ValidLoad6() {
  Config c;
  c.mode = Mode::kLoad;
  c.ports = {"net_null0"};
  c.ip = wire::Ipv4Prefix::Parse("198.18.0.2/24");
  c.ip6 = wire::Ipv6Prefix::Parse("fd00::2/64");
  c.lcores = {0};
  c.load.servers = {app::LoadTarget::Ipv6(A("fd00::1"), 80)};
  c.load.client_ip6_first = A("fd00::100");
  c.load.client_ip6_last = A("fd00::1ff");
  c.load.concurrency = 10;
  return c;
}

TEST(ValidateLoad6Test, RulesOfTheFamilies) {
  EXPECT_TRUE(Validate(ValidLoad6()).ok()) << Validate(ValidLoad6());
  struct Case {
    void (*mutate)(Config&);
    const char* message;
  } cases[] = {
      {[](Config& c) { c.ip6.reset(); }, "--server: [fd00::1]:80 is IPv6"},
      {[](Config& c) { c.load.client_ip6_first = c.load.client_ip6_last = {}; },
       "--client-ips: IPv6 servers need"},
      {[](Config& c) {
         c.load.client_ip6_first = A("fd00::1:0:0");
         c.load.client_ip6_last = A("fd00::2:0:0");
       },
       "--client-ips: fd00::1:0:0-fd00::2:0:0 holds more than 16777216"},
      {[](Config& c) {
         c.load.client_ip6_first = A("fd00::ffff:ffff:ffff:ff00");
         c.load.client_ip6_last = A("fd00:0:0:1::ff");
       },
       "--client-ips: fd00::ffff:ffff:ffff:ff00-fd00:0:0:1::ff spans more "
       "than one /64"},
      {[](Config& c) {
         c.load.flood = true;
         c.load.flood_src_first = 0x0a800001;
         c.load.flood_src_last = 0x0a8000ff;
       },
       "--flood-sources: IPv4 sources for an IPv6 target"},
      {[](Config& c) {
         c.load.flood = true;
         c.load.flood_ipv6 = true;
         c.load.flood_src6_first = A("fd00::1");
         c.load.flood_src6_last = A("fd00:0:0:1::1");
       },
       "--flood-sources: fd00::1-fd00:0:0:1::1 spans more than one /64"},
  };
  for (const Case& k : cases) {
    Config c = ValidLoad6();
    k.mutate(c);
    absl::Status s = Validate(c);
    ASSERT_FALSE(s.ok()) << k.message;
    EXPECT_THAT(std::string(s.message()), StartsWith(k.message));
  }
  // An IPv6 flood at an IPv4 first server is refused the same way.
  Config c = ValidLoad6();
  c.load.servers.insert(c.load.servers.begin(),
                        app::LoadTarget{0xc6120001, 80});
  c.load.client_ip_first = c.load.client_ip_last = 0xc6120002;
  EXPECT_TRUE(Validate(c).ok());
  c.load.flood = true;
  c.load.flood_ipv6 = true;
  c.load.flood_src6_first = A("fd00::8000:0:0:0");
  c.load.flood_src6_last = A("fd00::ffff:ffff:ffff:ffff");
  EXPECT_THAT(std::string(Validate(c).message()),
              StartsWith("--flood-sources: IPv6 sources for an IPv4 target"));
}

// The generator and the workers get what the flags said.
TEST(ValidateLoad6Test, WorkerAndGeneratorConfigs) {
  Config c = ValidLoad6();
  engine::WorkerConfig w = MakeWorkerConfig(c);
  EXPECT_EQ(w.local_ip6_first, A("fd00::100"));
  EXPECT_EQ(w.local_ip6_last, A("fd00::1ff"));
  app::GeneratorConfig g = MakeGeneratorConfig(c, 0, 1);
  EXPECT_EQ(g.client_ip6_first, A("fd00::100"));
  EXPECT_EQ(g.client_ip6_last, A("fd00::1ff"));
  ASSERT_EQ(g.servers.size(), 1u);
  EXPECT_TRUE(g.servers[0].ipv6);
  c.load.flood = true;
  c.load.flood_ipv6 = true;
  c.load.flood_src6_first = A("fd00::8000:0:0:0");
  c.load.flood_src6_last = A("fd00::ffff:ffff:ffff:ffff");
  app::FloodConfig f = MakeFloodConfig(c, 0, 1);
  EXPECT_TRUE(f.ipv6);
  EXPECT_EQ(f.target_ip6, A("fd00::1"));
  EXPECT_EQ(f.src6_first, A("fd00::8000:0:0:0"));
}

class LoadFlags6Test : public testing::Test {
 protected:
  void SetUp() override { saver_ = std::make_unique<absl::FlagSaver>(); }
  void TearDown() override { saver_.reset(); }

  absl::StatusOr<Config> Parse(std::vector<const char*> args) {
    args.insert(args.begin(), "synwave");
    absl::StatusOr<Invocation> inv = ParseInvocation(
        static_cast<int>(args.size()), const_cast<char**>(args.data()));
    if (!inv.ok()) return inv.status();
    return inv->config;
  }

  std::unique_ptr<absl::FlagSaver> saver_;
};

TEST_F(LoadFlags6Test, ServerClientsOfBothFamiliesAndTheDefaults) {
  {
    absl::FlagSaver saver;  // each parse from the defaults
    absl::StatusOr<Config> c = Parse(
        {"load", "--port=net_null0", "--lcores=0", "--ip=198.18.0.2/24",
         "--ip=fd00::2/64", "--server=[fd00::1]:80", "--server=198.18.0.1:80",
         "--client-ips=fd00::/120", "--client-ips=198.18.0.10-198.18.0.20"});
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(c->load.servers.size(), 2u);
    EXPECT_TRUE(c->load.servers[0].ipv6);
    EXPECT_FALSE(c->load.servers[1].ipv6);
    EXPECT_EQ(c->load.client_ip6_first, A("fd00::1"));
    EXPECT_EQ(c->load.client_ip6_last, A("fd00::ff"));
    EXPECT_EQ(c->load.client_ip_first, 0xc612000au);
    EXPECT_EQ(c->load.client_ip_last, 0xc6120014u);
  }
  // Without --client-ips an IPv6 server is reached from our IPv6 address.
  absl::StatusOr<Config> c =
      Parse({"load", "--port=net_null0", "--lcores=0", "--ip=198.18.0.2/24",
             "--ip=fd00::2/64", "--server=[fd00::1]:80"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->load.client_ip6_first, A("fd00::2"));
  EXPECT_EQ(c->load.client_ip6_last, A("fd00::2"));
  EXPECT_EQ(c->load.client_ip_first, 0xc6120002u);
}

TEST_F(LoadFlags6Test, ErrorsNameTheFlag) {
  struct Case {
    std::vector<const char*> args;
    const char* message;
  } cases[] = {
      {{"--server=fd00::1:80"},
       "--server: 'fd00::1:80': an IPv6 server "
       "takes brackets"},
      {{"--server=[fd00::1]:80", "--client-ips=fd00::1-fd00::2",
        "--client-ips=fd00::5"},
       "--client-ips: at most one IPv6 range"},
      {{"--server=[fd00::1]:80", "--client-ips=fd00::/64"},
       "--client-ips: fd00::1-fd00::ffff:ffff:ffff:ffff holds more than"},
      {{"--server=[fd00::1]:80", "--client-ips=fd00::9-fd00::1"},
       "--client-ips: 'fd00::9-fd00::1': the range ends before it starts"},
      {{"--server=[fd00::1]:80", "--flood", "--flood-sources=10.128.0.0/9"},
       "--flood-sources: IPv4 sources for an IPv6 target"},
      {{"--server=[fd00::1]:80", "--ipv6"}, "--ipv6: is for loopback"},
  };
  for (const Case& k : cases) {
    absl::FlagSaver saver;
    std::vector<const char*> args = {"load", "--port=net_null0", "--lcores=0",
                                     "--ip=198.18.0.2/24", "--ip=fd00::2/64"};
    args.insert(args.end(), k.args.begin(), k.args.end());
    absl::StatusOr<Config> c = Parse(args);
    ASSERT_FALSE(c.ok()) << k.message;
    EXPECT_THAT(std::string(c.status().message()), StartsWith(k.message));
  }
  // An IPv6 server without an IPv6 --ip.
  absl::FlagSaver saver;
  absl::StatusOr<Config> c =
      Parse({"load", "--port=net_null0", "--lcores=0", "--ip=198.18.0.2/24",
             "--server=[fd00::1]:80"});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              StartsWith("--server: [fd00::1]:80 is IPv6 but no IPv6 --ip"));
}

TEST_F(LoadFlags6Test, LoopbackIpv6Defaults) {
  {
    absl::FlagSaver saver;  // each parse from the defaults
    absl::StatusOr<Config> c =
        Parse({"loopback", "--ipv6", "--lcores=0", "--flood-pps=1000"});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(c->load.loopback_ipv6);
    EXPECT_EQ(c->load.client_ip6_first, A("fd00::1:1"));
    EXPECT_EQ(c->load.client_ip6_last, A("fd00::1:fe"));
    EXPECT_TRUE(c->load.flood_ipv6);
    EXPECT_EQ(c->load.flood_src6_first, A("fd00::8000:0:0:0"));
    EXPECT_EQ(c->load.flood_src6_last, A("fd00::ffff:ffff:ffff:ffff"));
  }
  // Without --ipv6 the loopback stays IPv4 only.
  absl::StatusOr<Config> c =
      Parse({"loopback", "--lcores=0", "--flood-pps=1000"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->load.client_ip6_first.IsUnspecified());
  EXPECT_FALSE(c->load.flood_ipv6);
  EXPECT_EQ(c->load.flood_src_first, kLoopbackFloodFirst);
}

// The config file's equivalents: --client-ips as an array of one range of
// each family, --server with brackets, --flood-sources of IPv6.
TEST_F(LoadFlags6Test, ConfigFileForms) {
  const std::string path = testing::TempDir() + "/control_ipv6_load.toml";
  std::ofstream(path)
      << "port = \"net_null0\"\nlcores = \"0\"\n"
         "ip = [\"198.18.0.2/24\", \"fd00::2/64\"]\n"
         "server = \"[fd00::1]:8080\"\n"
         "client-ips = [\"198.18.0.10-198.18.0.20\", \"fd00::100-fd00::1ff\"]\n"
         "flood = true\n"
         "flood-sources = \"fd00::8000:0:0:0/65\"\n";
  const std::string flag = "--config=" + path;
  absl::StatusOr<Config> c = Parse({"load", flag.c_str()});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->load.servers.size(), 1u);
  EXPECT_EQ(TargetText(c->load.servers[0]), "[fd00::1]:8080");
  EXPECT_EQ(c->load.client_ip_first, 0xc612000au);
  EXPECT_EQ(c->load.client_ip6_first, A("fd00::100"));
  EXPECT_EQ(c->load.client_ip6_last, A("fd00::1ff"));
  EXPECT_TRUE(c->load.flood_ipv6);
  EXPECT_EQ(c->load.flood_src6_first, A("fd00::8000:0:0:1"));
  EXPECT_EQ(c->load.flood_src6_last, A("fd00::ffff:ffff:ffff:ffff"));
}

}  // namespace
}  // namespace synwave::control
