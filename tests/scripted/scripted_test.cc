// One test per packet script in scripts/*.pkt and family (Ipv4/... and
// Ipv6/Scripts.Pass/<file name>), run through the real worker loop by the
// runner in script.h; plus tests of the
// runner itself, which must catch a wrong, a missing and an unexpected
// segment (a runner that passes everything proves nothing).
//
// The script directory is SYNWAVE_SCRIPTS_DIR from the environment, else the
// source directory compiled in by meson.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "script.h"

namespace synwave::scripted {
namespace {

std::filesystem::path ScriptDir() {
  if (const char* env = std::getenv("SYNWAVE_SCRIPTS_DIR"); env && *env) {
    return env;
  }
  return SYNWAVE_SCRIPTS_DIR;
}

std::vector<std::string> ScriptFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(ScriptDir(), ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".pkt") {
      files.push_back(entry.path().filename().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A script file and the family it runs over.
struct ScriptRun {
  std::string file;
  Family family;
};

// gtest prints a failing parameter with this (not as bytes).
void PrintTo(const ScriptRun& run, std::ostream* os) {
  *os << run.file << " over " << FamilyName(run.family);
}

std::vector<ScriptRun> Runs(Family family) {
  std::vector<ScriptRun> runs;
  for (std::string& f : ScriptFiles()) runs.push_back({std::move(f), family});
  return runs;
}

// The file name; the family is the instantiation's prefix.
std::string TestName(const testing::TestParamInfo<ScriptRun>& info) {
  std::string n = std::filesystem::path(info.param.file).stem().string();
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

class Scripts : public testing::TestWithParam<ScriptRun> {};

// Reads, parses and runs the script over its family; a script that opts out
// of the family (`config family=...`) is skipped, saying so.
TEST_P(Scripts, Pass) {
  const std::string& file = GetParam().file;
  const Family family = GetParam().family;
  const std::filesystem::path path = ScriptDir() / file;
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Script> script = ParseScript(text.str());
  ASSERT_TRUE(script.ok()) << file << ": " << script.status().message();
  if (!script->config.RunsOver(family)) {
    GTEST_SKIP() << file << " runs over "
                 << (script->config.ipv4 ? "IPv4" : "IPv6")
                 << " only (config family=...)";
  }
  const std::string failure =
      RunScript(*script, file + " over " + std::string(FamilyName(family)),
                family);
  EXPECT_EQ(failure, "") << "\n" << failure;
}

// Ipv4/Scripts.Pass/NAME and Ipv6/Scripts.Pass/NAME: --gtest_filter=*/NAME
// runs a script over both.
INSTANTIATE_TEST_SUITE_P(Ipv4, Scripts, testing::ValuesIn(Runs(Family::kIpv4)),
                         TestName);
INSTANTIATE_TEST_SUITE_P(Ipv6, Scripts, testing::ValuesIn(Runs(Family::kIpv6)),
                         TestName);

TEST(ScriptDirectory, HoldsScripts) {
  EXPECT_GE(ScriptFiles().size(), 25u) << "no scripts in " << ScriptDir();
}

// The runner itself.

constexpr char kHandshake[] = R"(
config listen=80 app=none
0     < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0.1  < . 1:1(0) ack 1 win 65535
)";

std::string RunText(const std::string& text, Family family = Family::kIpv4) {
  absl::StatusOr<Script> s = ParseScript(text);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return "parse error";
  return RunScript(*s, "inline", family);
}

TEST(Runner, PassesACorrectScript) { EXPECT_EQ(RunText(kHandshake), ""); }

TEST(Runner, NamesTheLineAndTheDifference) {
  const std::string r = RunText(R"(
0     < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 2 win 65535 <mss 1460,sackOK>
)");
  EXPECT_NE(r.find("inline:3:"), std::string::npos) << r;
  EXPECT_NE(r.find("differs in: ack, sackOK missing"), std::string::npos)
      << r;
  EXPECT_NE(r.find("actual:   > S. 0:0(0) ack 1 win 65535 <mss 1460>"),
            std::string::npos)
      << r;
}

TEST(Runner, CatchesAnUnexpectedSegment) {
  const std::string r = RunText(R"(
0     < S 0:0(0) win 65535 <mss 1460>
+0.1  < . 1:1(0) ack 1 win 65535
)");
  EXPECT_NE(r.find("inline:3: the endpoint sent a segment no `>` line expects"),
            std::string::npos)
      << r;
}

TEST(Runner, CatchesASegmentSentAtTheEnd) {
  const std::string r = RunText("0 < S 0:0(0) win 65535\n");
  EXPECT_NE(r.find("at the end of the script"), std::string::npos) << r;
}

TEST(Runner, CatchesAMissingSegment) {
  const std::string r = RunText(R"(
0     < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1
+0.5  > . 1:1(0) ack 1
)");
  EXPECT_NE(r.find("inline:4: the endpoint sent nothing by 0.505"),
            std::string::npos)
      << r;
}

TEST(Runner, CatchesALateSegmentAndAnEarlyOne) {
  // The SYN-ACK retransmission comes 1 s after the SYN: expected at 0.9 it
  // is late, at 1.1 early.
  EXPECT_NE(RunText(R"(
config syn_ack_retries=1
0     < S 0:0(0) win 65535
+0    > S. 0:0(0) ack 1
+0.9  > S. 0:0(0) ack 1
)").find("the endpoint sent nothing by 0.905"),
            std::string::npos);
  EXPECT_NE(RunText(R"(
config syn_ack_retries=1
0     < S 0:0(0) win 65535
+0    > S. 0:0(0) ack 1
+1.1  > S. 0:0(0) ack 1
)").find("differs in: time"),
            std::string::npos);
}

TEST(Runner, ChecksCountersAndStates) {
  EXPECT_EQ(RunText(std::string(kHandshake) +
                "+0 expect state ESTABLISHED == 1\n"
                "+0 expect counter PassiveOpens == 1\n"
                "+0 expect counter CurrEstab == 1\n"),
            "");
  const std::string r =
      RunText(std::string(kHandshake) + "+0 expect state TIME_WAIT == 1\n");
  EXPECT_NE(r.find("state TIME_WAIT is 0, expected == 1"), std::string::npos)
      << r;
}

// mode=client: the generator connects from port 40000 to the peer's 80
// (after the runner answered its ARP request), the ISN comes from its SYN,
// and `expect app` reads the generator.
constexpr char kClientHandshake[] = R"(
config mode=client request_bytes=4 response_bytes=8
0     > S 0:0(0) win 65535 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>
+0.1  < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0    > P. 1:5(4) ack 1 win 65535 <> "rrrr"
+0    expect app connected == 1
+0    expect app requests == 1
+0    expect counter load_connected == 1
)";

TEST(Runner, ClientModePassesACorrectScript) {
  EXPECT_EQ(RunText(kClientHandshake), "");
}

TEST(Runner, ClientModeChecksTheSynAndTheGenerator) {
  std::string r = RunText(R"(
config mode=client
0     > S 0:0(0) win 65535 <mss 1460,TS val * ecr 0,wscale 7>
)");
  EXPECT_NE(r.find("inline:3: segment differs from the script"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("differs in: unexpected sackOK"), std::string::npos) << r;
  EXPECT_NE(r.find("[ARP request for the peer answered]"), std::string::npos)
      << r;
  r = RunText(std::string(kClientHandshake) +
              "+0 expect app completed == 1\n");
  EXPECT_NE(r.find("app completed is 0, expected == 1"), std::string::npos)
      << r;
  // The ports are ours 40000 and the peer's 80: a SYN-ACK from port 81
  // belongs to no connection (RST, SEQ=SEG.ACK).
  const std::string other_port = R"(
config mode=client
0     > S 0:0(0) win 65535
+0.1  < @81 S. 0:0(0) ack 1 win 65535
)";
  EXPECT_EQ(RunText(other_port + "+0 > @81 R 1:1(0)\n"
                                 "+0 expect state SYN-SENT == 1\n"),
            "");
  r = RunText(other_port + "+0 > R 1:1(0)\n");
  EXPECT_NE(r.find("ports (40000 > 81, expected 40000 > 80)"),
            std::string::npos)
      << r;
}

TEST(Runner, ClientModeParseErrors) {
  // Generator figures exist only in client mode; close=rst is the
  // generator's; the mode and the counts are checked.
  EXPECT_FALSE(
      ParseScript("0 < S 0:0(0)\n+0 expect app completed == 1\n").ok());
  EXPECT_TRUE(
      ParseScript("config mode=client\n0 expect app completed == 0\n").ok());
  EXPECT_FALSE(ParseScript("config close=rst\n0 < S 0:0(0)\n").ok());
  EXPECT_TRUE(
      ParseScript("config close=rst mode=client\n0 > S 0:0(0)\n").ok());
  EXPECT_FALSE(ParseScript("config mode=peer\n0 < S 0:0(0)\n").ok());
  EXPECT_FALSE(
      ParseScript("config mode=client connections=0\n0 > S 0:0(0)\n").ok());
  EXPECT_FALSE(
      ParseScript("config mode=client requests=0\n0 > S 0:0(0)\n").ok());
  absl::StatusOr<Script> s = ParseScript(
      "config mode=client syn_retries=2 connections=3 requests=2\n"
      "0 > S 0:0(0)\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->config.client);
  EXPECT_EQ(s->config.dport, 40000);
  EXPECT_EQ(s->config.sport, 80);
  EXPECT_TRUE(s->config.worker.listen_ports.empty());
  EXPECT_EQ(s->config.worker.tcp.syn_retries, 2);
  EXPECT_EQ(s->config.connections, 3u);
  EXPECT_EQ(s->config.generator.requests_per_connection, 2u);
}

TEST(Runner, ParseErrorsNameTheLine) {
  absl::StatusOr<Script> s = ParseScript("0 < S 0:0(0)\n+0 > S. 0:1(0)\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("line 2:"), std::string::npos)
      << s.status();
  s = ParseScript("0 < S 0:0(0)\n0 expect counter NoSuchCounter == 1\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("NoSuchCounter"), std::string::npos);
  s = ParseScript("1 < S 0:0(0)\n0.5 > S. 0:0(0) ack 1\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("backwards"), std::string::npos);
  s = ParseScript("config bogus=1\n0 < S 0:0(0)\n");
  ASSERT_FALSE(s.ok());
}

// Over IPv6 the same script is played with IPv6 frames: the stack's IPv6
// counters move, the IPv4 ones do not; `ipv4:` / `ipv6:` lines belong to
// one family's run.
TEST(Runner, RunsAScriptOverEitherFamily) {
  const std::string per_family = std::string(kHandshake) +
                                 "+0 expect counter PassiveOpens == 1\n"
                                 "+0 ipv4: expect counter Ipv6PassiveOpens == 0\n"
                                 "+0 ipv6: expect counter Ipv6PassiveOpens == 1\n";
  EXPECT_EQ(RunText(per_family, Family::kIpv4), "");
  EXPECT_EQ(RunText(per_family, Family::kIpv6), "");
  // Without the prefix the line is checked in both runs: over IPv4 it
  // fails, so the IPv4 run is not IPv6 (and the filter is what passed).
  const std::string both =
      std::string(kHandshake) + "+0 expect counter Ipv6PassiveOpens == 1\n";
  EXPECT_EQ(RunText(both, Family::kIpv6), "");
  EXPECT_NE(RunText(both, Family::kIpv4).find(
                "counter Ipv6PassiveOpens is 0, expected == 1"),
            std::string::npos);
}

TEST(Runner, CatchesAWrongSegmentOverIpv6) {
  const std::string r = RunText(R"(
0     < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 2 win 65535 <mss 1460>
)",
                                Family::kIpv6);
  EXPECT_NE(r.find("inline:3: segment differs"), std::string::npos) << r;
  EXPECT_NE(r.find("differs in: ack"), std::string::npos) << r;
}

// Client mode over IPv6: the generator resolves the peer by Neighbor
// Discovery (answered by the runner) and connects over IPv6.
TEST(Runner, ClientModeOverIpv6) {
  EXPECT_EQ(RunText(std::string(kClientHandshake) +
                        "+0 expect counter load_ipv6_attempted == 1\n",
                    Family::kIpv6),
            "");
  const std::string r = RunText(R"(
config mode=client
0     > S 0:0(0) win 65535 <mss 1460,TS val * ecr 0,wscale 7>
)",
                                Family::kIpv6);
  EXPECT_NE(r.find("[Neighbor Solicitation for the peer answered]"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("differs in: unexpected sackOK"), std::string::npos) << r;
}

TEST(Runner, FamilyDirectives) {
  absl::StatusOr<Script> s = ParseScript("0 < S 0:0(0)\n");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->config.RunsOver(Family::kIpv4));
  EXPECT_TRUE(s->config.RunsOver(Family::kIpv6));
  s = ParseScript("config family=ipv4\n0 < S 0:0(0)\n");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->config.RunsOver(Family::kIpv4));
  EXPECT_FALSE(s->config.RunsOver(Family::kIpv6));
  s = ParseScript("config family=ipv6\n0 ipv6: < S 0:0(0)\n");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->config.RunsOver(Family::kIpv4));
  ASSERT_EQ(s->events.size(), 1u);
  EXPECT_EQ(s->events[0].only, Family::kIpv6);
  EXPECT_EQ(s->events[0].text, "< S 0:0(0)");
  EXPECT_FALSE(ParseScript("config family=ipx\n0 < S 0:0(0)\n").ok());
  // A line for a family the script does not run over is a mistake.
  s = ParseScript("config family=ipv4\n0 ipv6: < S 0:0(0)\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("line 2:"), std::string::npos);
}

}  // namespace
}  // namespace synwave::scripted
