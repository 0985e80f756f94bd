// synwave's command line: the command-line/config-file contract (flags win
// over the file, errors name the flag), synwave's flags (their defaults are
// the typed config's, each range is checked once, TIME-WAIT sized from
// memory), and SIGHUP's re-read of the proxy's backend list.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "control/command_line.h"
#include "control/config.h"
#include "control_valid_config.h"
#include "control/flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tcp/time_wait.h"

ABSL_FLAG(std::string, test_port, "", "repeatable string flag");
ABSL_FLAG(double, test_duration, 0, "a number");
ABSL_FLAG(bool, test_verbose, false, "a boolean");
ABSL_FLAG(std::string, test_name, "default", "a string");

// synwave's own flags (control/flags.cc).
ABSL_DECLARE_FLAG(int32_t, burst);
ABSL_DECLARE_FLAG(int32_t, keepalive_probes);
ABSL_DECLARE_FLAG(int64_t, max_time_wait);
ABSL_DECLARE_FLAG(std::string, time_wait_memory);
ABSL_DECLARE_FLAG(std::string, lcores);
ABSL_DECLARE_FLAG(std::string, close);
ABSL_DECLARE_FLAG(double, idle_timeout);
ABSL_DECLARE_FLAG(int32_t, orphan_retries);
ABSL_DECLARE_FLAG(int64_t, max_orphans);
ABSL_DECLARE_FLAG(int64_t, rcv_buffer);
ABSL_DECLARE_FLAG(int64_t, snd_buffer);
ABSL_DECLARE_FLAG(double, abandon);
ABSL_DECLARE_FLAG(double, admission_target);
ABSL_DECLARE_FLAG(int64_t, admission_backlog);
ABSL_DECLARE_FLAG(int64_t, request_work);
ABSL_DECLARE_FLAG(std::string, ip);
ABSL_DECLARE_FLAG(std::string, gateway);
ABSL_DECLARE_FLAG(std::string, port);

namespace synwave::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// --ip and --gateway are repeatable, one value of each family.
TEST(FlagsTest, IpAndGatewayTakeOneAddressOfEachFamily) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_port, "net_null0");
  absl::SetFlag(&FLAGS_lcores, "0");
  absl::SetFlag(&FLAGS_ip, "fd00::2/64\n198.18.0.2/24");
  absl::SetFlag(&FLAGS_gateway, "198.18.0.1\nfe80::1");
  absl::StatusOr<Config> c = ConfigFromFlags(Mode::kServe);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ip->ToString(), "198.18.0.2/24");
  EXPECT_EQ(c->gateway->ToString(), "198.18.0.1");
  EXPECT_EQ(c->ip6->ToString(), "fd00::2/64");
  EXPECT_EQ(c->gateway6->ToString(), "fe80::1");

  const std::pair<std::pair<const char*, const char*>, std::string> bad[] = {
      {{"198.18.0.2/24\n198.18.0.3/24", ""},
       "--ip: two IPv4 addresses (198.18.0.2/24 and 198.18.0.3/24): at most "
       "one of each family"},
      {{"198.18.0.2/24\nfd00::2/64\nfd00::3/64", ""},
       "--ip: two IPv6 addresses (fd00::2/64 and fd00::3/64): at most one of "
       "each family"},
      {{"198.18.0.2/24\nfd00::2/129", ""},
       "--ip: 'fd00::2/129' is not an address like fd00::2/64"},
      {{"198.18.0.2/24\nfd00::2/64", "fe80::1\nfd00::1"},
       "--gateway: two IPv6 gateways: at most one per family"},
      {{"198.18.0.2/24\nfd00::2/64", "fe80:::1"},
       "--gateway: 'fe80:::1' is not an IPv6 address"},
      {{"198.18.0.2/24", "198.18.0.1\n198.18.0.9"},
       "--gateway: two IPv4 gateways: at most one per family"},
  };
  for (const auto& [flags, message] : bad) {
    absl::FlagSaver each;
    absl::SetFlag(&FLAGS_ip, flags.first);
    absl::SetFlag(&FLAGS_gateway, flags.second);
    c = ConfigFromFlags(Mode::kServe);
    ASSERT_FALSE(c.ok()) << message;
    EXPECT_EQ(c.status().message(), message);
  }
}

// The config file's equivalent: an array of addresses, or the flags given
// once each on the command line.
TEST(FlagsTest, DualStackFromTheConfigFileAndTheCommandLine) {
  absl::FlagSaver saver;
  const std::string path = testing::TempDir() + "/control_test_ip6.toml";
  std::ofstream(path) << "port = \"net_null0\"\nlcores = \"0\"\n"
                         "ip = [\"198.18.0.2/24\", \"fd00::2/64\"]\n"
                         "gateway = [\"fd00::1\", \"198.18.0.1\"]\n";
  const std::string flag = "--config=" + path;
  const char* argv[] = {"synwave", "serve", flag.c_str()};
  absl::StatusOr<Invocation> inv =
      ParseInvocation(3, const_cast<char**>(argv));
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->config.ip->ToString(), "198.18.0.2/24");
  EXPECT_EQ(inv->config.ip6->ToString(), "fd00::2/64");
  EXPECT_EQ(inv->config.gateway6->ToString(), "fd00::1");
  EXPECT_EQ(inv->config.gateway->ToString(), "198.18.0.1");

  absl::FlagSaver again;
  const char* cli[] = {"synwave",       "serve",
                       "--port=net_null0", "--lcores=0",
                       "--ip=fd00::9/64", "--ip=198.18.0.9/24"};
  inv = ParseInvocation(6, const_cast<char**>(cli));
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->config.ip->ToString(), "198.18.0.9/24");
  EXPECT_EQ(inv->config.ip6->ToString(), "fd00::9/64");
}

class CommandLineTest : public testing::Test {
 protected:
  void SetUp() override { saver_ = std::make_unique<absl::FlagSaver>(); }
  void TearDown() override { saver_.reset(); }

  absl::StatusOr<CommandLine> Parse(std::vector<const char*> args) {
    args.insert(args.begin(), "synwave");
    return ParseCommandLine(static_cast<int>(args.size()), args.data(),
                            {"test_port"});
  }

  std::string WriteToml(const std::string& text) {
    std::string path = testing::TempDir() + "/control_test.toml";
    std::ofstream(path) << text;
    return path;
  }

  std::unique_ptr<absl::FlagSaver> saver_;
};

TEST_F(CommandLineTest, ParsesFlagsAndPositionals) {
  absl::StatusOr<CommandLine> cl =
      Parse({"serve", "--test-duration=2.5", "--test_name", "x",
             "--test-verbose", "--", "--not-a-flag"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_THAT(cl->positional, ElementsAre("serve", "--not-a-flag"));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_duration), 2.5);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_name), "x");
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_verbose));
  EXPECT_TRUE(cl->given.contains("test_duration"));
  EXPECT_FALSE(cl->given.contains("test_port"));
}

TEST_F(CommandLineTest, NegatesBooleans) {
  ASSERT_TRUE(Parse({"--test-verbose", "--notest-verbose"}).ok());
  EXPECT_FALSE(absl::GetFlag(FLAGS_test_verbose));
}

TEST_F(CommandLineTest, RepeatableFlagsKeepEveryValueWithItsCommas) {
  ASSERT_TRUE(Parse({"--test-port=net_tap0,iface=a", "--test-port=net_tap1"}).ok());
  EXPECT_THAT(SplitRepeated(absl::GetFlag(FLAGS_test_port)),
              ElementsAre("net_tap0,iface=a", "net_tap1"));
}

TEST_F(CommandLineTest, ErrorsNameTheFlag) {
  absl::StatusOr<CommandLine> cl = Parse({"--test-duration=soon"});
  ASSERT_FALSE(cl.ok());
  EXPECT_THAT(std::string(cl.status().message()),
              StartsWith("--test-duration: bad value 'soon'"));
  cl = Parse({"--nosuchflag=1"});
  ASSERT_FALSE(cl.ok());
  EXPECT_THAT(std::string(cl.status().message()), StartsWith("--nosuchflag:"));
  cl = Parse({"--test-name"});
  ASSERT_FALSE(cl.ok());
  EXPECT_THAT(std::string(cl.status().message()), HasSubstr("missing value"));
}

TEST_F(CommandLineTest, HelpIsRecognised) {
  EXPECT_TRUE(Parse({"--help"})->help);
  EXPECT_TRUE(Parse({"-h"})->help);
}

TEST_F(CommandLineTest, ConfigFileSetsFlagsButTheCommandLineWins) {
  absl::StatusOr<CommandLine> cl = Parse({"--test-name=cli"});
  ASSERT_TRUE(cl.ok());
  const std::string path = WriteToml(
      "test-name = \"file\"\ntest_duration = 7\ntest-verbose = true\n"
      "test-port = [\"net_tap0,iface=a\", \"net_tap1\"]\n");
  ASSERT_TRUE(ApplyConfigFile(path, cl->given, {"test_port"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_name), "cli");
  EXPECT_EQ(absl::GetFlag(FLAGS_test_duration), 7);
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_verbose));
  EXPECT_THAT(SplitRepeated(absl::GetFlag(FLAGS_test_port)),
              ElementsAre("net_tap0,iface=a", "net_tap1"));
}

TEST_F(CommandLineTest, ConfigFileErrorsNameFileAndKey) {
  absl::Status s = ApplyConfigFile(WriteToml("nosuch = 1\n"), {}, {});
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown key 'nosuch'"));
  s = ApplyConfigFile(WriteToml("test-duration = \"soon\"\n"), {}, {});
  EXPECT_THAT(std::string(s.message()), HasSubstr("--test-duration: bad value"));
  s = ApplyConfigFile(WriteToml("test-name = [\n"), {}, {});
  EXPECT_THAT(std::string(s.message()), StartsWith("--config: "));
  s = ApplyConfigFile("/nonexistent.toml", {}, {});
  EXPECT_FALSE(s.ok());
}

// Each default is written once, in the typed config: with no flag given
// the run gets exactly the structs' defaults.
TEST(FlagsTest, DefaultsAreTheTypedConfigs) {
  absl::FlagSaver saver;
  absl::StatusOr<Config> c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  const Config d;
  const tcp::TcpConfig t;
  EXPECT_EQ(c->burst, d.burst);
  EXPECT_EQ(c->arp_timeout_s, d.arp_timeout_s);
  EXPECT_EQ(c->listen_ports, d.listen_ports);
  EXPECT_EQ(c->responder.response_bytes, 64u);
  EXPECT_EQ(c->responder.request_bytes, d.responder.request_bytes);
  EXPECT_EQ(c->responder.close, app::CloseMode::kServer);
  EXPECT_EQ(c->load.close, app::CloseMode::kServer);
  EXPECT_EQ(c->load.drain_s, 1);
  EXPECT_EQ(c->load.port_first, d.load.port_first);
  EXPECT_EQ(c->load.port_last, d.load.port_last);
  EXPECT_EQ(c->load.keepalive_requests, d.load.keepalive_requests);
  EXPECT_EQ(c->load.concurrency, kUnpacedConcurrency);  // --cps=0
  EXPECT_EQ(c->tcp.accept_backlog, t.accept_backlog);
  EXPECT_EQ(c->tcp.syn_backlog, t.syn_backlog);
  EXPECT_EQ(c->tcp.max_connections, t.max_connections);
  EXPECT_EQ(c->tcp.max_half_open, t.max_half_open);
  // TIME-WAIT is sized from memory (--time-wait-memory=auto), not a count.
  EXPECT_EQ(c->tcp.max_time_wait,
            tcp::TimeWaitRecordsFor(
                uint64_t(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE) / 128,
                std::max<uint32_t>(2, c->lcores.size())));
  EXPECT_GT(c->tcp.max_time_wait, 0u);
  EXPECT_EQ(c->tcp.msl_ns, t.msl_ns);
  EXPECT_EQ(c->tcp.fin_wait2_timeout_ns, t.fin_wait2_timeout_ns);
  EXPECT_EQ(c->tcp.keepalive, t.keepalive);
  EXPECT_EQ(c->tcp.keepalive_idle_ns, t.keepalive_idle_ns);
  EXPECT_EQ(c->tcp.keepalive_interval_ns, t.keepalive_interval_ns);
  EXPECT_EQ(c->tcp.keepalive_probes, t.keepalive_probes);
  EXPECT_EQ(c->tcp.timestamps, t.timestamps);
  EXPECT_EQ(c->tcp.mss, t.mss);
  EXPECT_EQ(c->tcp.syn_ack_retries, t.syn_ack_retries);
  EXPECT_EQ(c->tcp.syn_retries, t.syn_retries);
  EXPECT_EQ(c->tcp.syncookies, t.syncookies);
  // Issue 11: the defences, with a front end's defaults.
  EXPECT_EQ(c->tcp.idle_timeout_ns, t.idle_timeout_ns);
  EXPECT_EQ(c->tcp.idle_timeout_ns, 30 * tcp::kSecond);
  EXPECT_EQ(c->tcp.orphan_retries, t.orphan_retries);
  EXPECT_EQ(c->tcp.orphan_retries, 8);
  EXPECT_EQ(c->tcp.max_orphans, t.max_orphans);
  EXPECT_EQ(c->tcp.rcv_buffer, t.rcv_buffer);
  EXPECT_EQ(c->tcp.snd_buffer, d.tcp.snd_buffer);
  EXPECT_EQ(c->tcp.snd_buffer, 65536u);
  EXPECT_EQ(c->load.abandon_s, 0);
  // Admission control: on for a listening worker, off for a load's.
  EXPECT_EQ(c->admission.target_ns, 1'000'000u);
  EXPECT_EQ(c->admission.backlog, 512u);
  EXPECT_EQ(c->responder.request_work_cycles, 0u);
  EXPECT_EQ(MakeWorkerConfig(*c).admission.target_ns, 1'000'000u);
  EXPECT_EQ(MakeWorkerConfig(*c).admission.backlog, 512u);
  Config load = *c;
  load.mode = Mode::kLoad;
  EXPECT_EQ(MakeWorkerConfig(load).admission.target_ns, 0u);
}

TEST(FlagsTest, AdmissionAndRequestWorkFlags) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_admission_target, 0.005);
  absl::SetFlag(&FLAGS_admission_backlog, 64);
  absl::SetFlag(&FLAGS_request_work, 40000);
  absl::StatusOr<Config> c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->admission.target_ns, 5'000'000u);
  EXPECT_EQ(c->admission.backlog, 64u);
  EXPECT_EQ(c->responder.request_work_cycles, 40000u);
  absl::SetFlag(&FLAGS_admission_target, 0.0);  // off
  c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->admission.target_ns, 0u);
  const std::pair<std::function<void()>, std::string> bad[] = {
      {[] { absl::SetFlag(&FLAGS_admission_target, -0.001); },
       "--admission-target: must be a positive number of seconds"},
      {[] { absl::SetFlag(&FLAGS_admission_backlog, -1); },
       "--admission-backlog: -1 is outside 0..16777216"},
      {[] { absl::SetFlag(&FLAGS_request_work, -5); },
       "--request-work: -5 is outside 0..4294967296"},
  };
  for (const auto& [set, message] : bad) {
    absl::FlagSaver each;
    set();
    c = ConfigFromFlags(Mode::kLoopback);
    ASSERT_FALSE(c.ok()) << message;
    EXPECT_EQ(c.status().message(), message);
  }
}

// Issue 11's flags: their ranges, and 0 as "no idle limit".
TEST(FlagsTest, DefenceFlagsAreValidated) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_idle_timeout, 0.0);
  absl::SetFlag(&FLAGS_orphan_retries, 3);
  absl::SetFlag(&FLAGS_max_orphans, 100);
  absl::SetFlag(&FLAGS_rcv_buffer, 4096);
  absl::SetFlag(&FLAGS_snd_buffer, 8192);
  absl::SetFlag(&FLAGS_abandon, 2.5);
  absl::StatusOr<Config> c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tcp.idle_timeout_ns, 0u);
  EXPECT_EQ(c->tcp.orphan_retries, 3);
  EXPECT_EQ(c->tcp.max_orphans, 100u);
  EXPECT_EQ(c->tcp.rcv_buffer, 4096u);
  EXPECT_EQ(c->tcp.snd_buffer, 8192u);
  EXPECT_EQ(MakeGeneratorConfig(*c, 0, 1).abandon_ns, 2'500'000'000u);
  const std::pair<std::function<void()>, std::string> bad[] = {
      {[] { absl::SetFlag(&FLAGS_idle_timeout, -1.0); },
       "--idle-timeout: must be a positive number of seconds"},
      {[] { absl::SetFlag(&FLAGS_orphan_retries, 0); },
       "--orphan-retries: must be 1..50"},
      {[] { absl::SetFlag(&FLAGS_orphan_retries, 256 + 8); },
       "--orphan-retries: must be 1..50"},
      {[] { absl::SetFlag(&FLAGS_max_orphans, -1); },
       "--max-orphans: -1 is outside 0..16777216"},
      {[] { absl::SetFlag(&FLAGS_rcv_buffer, 1000); },
       "--rcv-buffer: 1000 is outside 2048..8388608"},
      {[] { absl::SetFlag(&FLAGS_snd_buffer, int64_t{1} << 32); },
       "--snd-buffer: 4294967296 is outside 2048..67108864"},
      {[] { absl::SetFlag(&FLAGS_abandon, -1.0); },
       "--abandon: must be >= 0 seconds"},
  };
  for (const auto& [set, message] : bad) {
    absl::FlagSaver each;
    set();
    c = ConfigFromFlags(Mode::kLoopback);
    ASSERT_FALSE(c.ok()) << message;
    EXPECT_EQ(c.status().message(), message);
  }
}

TEST(FlagsTest, RangesAreCheckedBeforeNarrowing) {
  absl::FlagSaver saver;
  // Values the typed fields cannot hold must not wrap into valid ones.
  absl::SetFlag(&FLAGS_burst, 65536 + 32);
  absl::StatusOr<Config> c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "--burst: must be 1..64");
  absl::SetFlag(&FLAGS_burst, 32);
  absl::SetFlag(&FLAGS_keepalive_probes, 256 + 9);
  c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "--keepalive-probes: must be 1..255");
  absl::SetFlag(&FLAGS_keepalive_probes, 9);
  absl::SetFlag(&FLAGS_max_time_wait, -2);
  c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "--max-time-wait: -2 is outside 0..16777216");
}

// --time-wait-memory is a budget for all workers together; a count given
// with --max-time-wait wins, and giving both is an error.
TEST(FlagsTest, TimeWaitSizedFromMemory) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_lcores, "0,1");
  absl::SetFlag(&FLAGS_time_wait_memory, "170M");
  absl::StatusOr<Config> c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  // 170 MiB over 2 stacks at about 85 bytes a record: about a million each.
  const double per_record = tcp::kTimeWaitBytesPerRecord;
  EXPECT_GT(per_record, 80.0);
  EXPECT_LT(per_record, 90.0);
  EXPECT_EQ(c->tcp.max_time_wait,
            static_cast<uint32_t>((170.0 * (1 << 20) / 2) / per_record));
  absl::SetFlag(&FLAGS_time_wait_memory, "4096");
  c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tcp.max_time_wait, static_cast<uint32_t>(2048 / per_record));
  absl::SetFlag(&FLAGS_time_wait_memory, "1024G");  // capped per stack
  c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tcp.max_time_wait, 1u << 24);
  for (const char* bad : {"", "12X", "-5M", "lots", "M"}) {
    absl::SetFlag(&FLAGS_time_wait_memory, bad);
    c = ConfigFromFlags(Mode::kLoopback);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(std::string(c.status().message()),
                StartsWith("--time-wait-memory: '"));
  }
  absl::SetFlag(&FLAGS_time_wait_memory, "auto");
  absl::SetFlag(&FLAGS_max_time_wait, 100);
  c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tcp.max_time_wait, 100u);
  absl::SetFlag(&FLAGS_time_wait_memory, "1G");
  c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              StartsWith("--max-time-wait: give either"));
}

// With an IPv6 address the stacks have the IPv6 table too, sized like the
// IPv4 one: the same budget holds fewer records, each paying its share of
// that table and its address slot as well.
TEST(FlagsTest, TimeWaitMemoryCountsTheIpv6Table) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_port, "net_null0");
  absl::SetFlag(&FLAGS_lcores, "0,1");
  absl::SetFlag(&FLAGS_time_wait_memory, "170M");
  absl::SetFlag(&FLAGS_ip, "198.18.0.2/24");
  absl::StatusOr<Config> v4 = ConfigFromFlags(Mode::kServe);
  ASSERT_TRUE(v4.ok()) << v4.status();
  absl::SetFlag(&FLAGS_ip, "fd00::2/64\n198.18.0.2/24");
  absl::StatusOr<Config> dual = ConfigFromFlags(Mode::kServe);
  ASSERT_TRUE(dual.ok()) << dual.status();
  ASSERT_TRUE(dual->ip6.has_value());
  const double per_record =
      tcp::kTimeWaitBytesPerRecord + tcp::kTimeWaitBytesPerRecord6;
  // The IPv6 table's 128-byte buckets of 3 at 70% load (61 bytes) and the
  // 32-byte address slot with its 4-byte free-stack entry.
  EXPECT_GT(tcp::kTimeWaitBytesPerRecord6, 95.0);
  EXPECT_LT(tcp::kTimeWaitBytesPerRecord6, 100.0);
  EXPECT_EQ(dual->tcp.max_time_wait,
            static_cast<uint32_t>((170.0 * (1 << 20) / 2) / per_record));
  EXPECT_LT(dual->tcp.max_time_wait, v4->tcp.max_time_wait / 2);
}

TEST(FlagsTest, OneCloseForBothEnds) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_close, "rst");
  absl::StatusOr<Config> c = ConfigFromFlags(Mode::kLoopback);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->load.close, app::CloseMode::kRst);
  EXPECT_EQ(c->responder.close, app::CloseMode::kRst);  // served like client
  c = ConfigFromFlags(Mode::kServe);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "--close: 'rst' is not server or client");
}

TEST(FlagsTest, UsageListsEveryFlagWithItsDefault) {
  const std::string usage = Usage();
  for (const char* flag :
       {"--port", "--ip", "--burst=32", "--listen=80", "--close=server", "--drain=1",
        "--max-connections=16384", "--msl=30", "--client-ports=1024-65535",
        "--syncookies=overflow", "--concurrency=-1", "--flood-pps=-1",
        "--idle-timeout=30", "--orphan-retries=8", "--max-orphans=0",
        "--rcv-buffer=65535", "--snd-buffer=65536", "--abandon=0",
        "--admission-target=0.001", "--admission-backlog=512",
        "--request-work=0"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
  EXPECT_THAT(usage, ::testing::Not(HasSubstr("--test-name")));
}

// SIGHUP's re-read of the --config file's backends (ReadBackendList): the
// new list, checked by --backend's rules against the running config; a bad
// file says what is wrong.
class ReadBackendListTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/synwave-reload-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    running_ = Valid();
    running_.mode = Mode::kProxy;
    running_.listen_ports = {80};
    running_.proxy.backend_ip = wire::Ipv4Prefix::Parse("10.9.0.1/24");
    running_.proxy.backends = {{0x0a090002, 0}};
    running_.proxy.reload_path = dir_ + "/proxy.toml";
  }
  void TearDown() override {
    std::remove(running_.proxy.reload_path.c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& text) {
    std::ofstream(running_.proxy.reload_path) << text;
  }
  std::string Error() {
    absl::StatusOr<std::vector<app::ProxyBackend>> l =
        ReadBackendList(running_);
    EXPECT_FALSE(l.ok());
    return std::string(l.status().message());
  }
  std::string dir_;
  Config running_;
};

TEST_F(ReadBackendListTest, ReadsTheFilesNewList) {
  Write("ip = \"198.18.0.2/24\"\nbackend = [\"10.9.0.3\", \"10.9.0.4\"]\n");
  absl::StatusOr<std::vector<app::ProxyBackend>> l = ReadBackendList(running_);
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].ip, 0x0a090003u);
  EXPECT_EQ((*l)[1].ip, 0x0a090004u);
  Write("backend = \"10.9.0.5:8080\"\n");
  l = ReadBackendList(running_);
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].port, 8080);
}

TEST_F(ReadBackendListTest, BadFilesAreRefusedWithTheReason) {
  Write("backend = [\"10.9.0.3\"");
  EXPECT_THAT(Error(), testing::HasSubstr("proxy.toml:1:"));
  Write("port = \"x\"\n");
  EXPECT_THAT(Error(), testing::HasSubstr("no 'backend' key"));
  Write("backend = [\"10.9.0.3\", \"10.9.0.3\"]\n");
  EXPECT_THAT(Error(), testing::HasSubstr("given twice"));
  Write("backend = [\"192.0.2.7\"]\n");
  EXPECT_THAT(Error(), testing::HasSubstr("not another host on the subnet"));
  Write("backend = [\"10.9.0.300\"]\n");
  EXPECT_THAT(Error(), testing::HasSubstr("10.9.0.300"));
  Write("backend = [3]\n");
  EXPECT_THAT(Error(), testing::HasSubstr("must be strings"));
  running_.proxy.reload_path.clear();
  EXPECT_THAT(Error(), testing::HasSubstr("no --config file"));
}

}  // namespace
}  // namespace synwave::control
