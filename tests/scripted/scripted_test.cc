// One test per packet script in scripts/*.pkt (test name = file name), run
// through the real worker loop by the runner in script.h; plus tests of the
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

std::string TestName(const testing::TestParamInfo<std::string>& info) {
  std::string n = std::filesystem::path(info.param).stem().string();
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

class Scripts : public testing::TestWithParam<std::string> {};

TEST_P(Scripts, Pass) {
  const std::filesystem::path path = ScriptDir() / GetParam();
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Script> script = ParseScript(text.str());
  ASSERT_TRUE(script.ok()) << GetParam() << ": " << script.status().message();
  const std::string failure = RunScript(*script, GetParam());
  EXPECT_EQ(failure, "") << "\n" << failure;
}

INSTANTIATE_TEST_SUITE_P(Pkt, Scripts, testing::ValuesIn(ScriptFiles()),
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

std::string RunText(const std::string& text) {
  absl::StatusOr<Script> s = ParseScript(text);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return "parse error";
  return RunScript(*s, "inline");
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

}  // namespace
}  // namespace synwave::scripted
