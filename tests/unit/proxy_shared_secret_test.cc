// Several proxy hosts behind ECMP (issue 15 item 7): the SYN and the ACK of
// one connection may reach different hosts. A cookie SYN-ACK sent by one
// ProxyCore is a valid cookie on another core loaded from the same
// --secret-file (through the real loader, control::LoadSecret), each with
// its own random hash seed as each host has; a core with another secret
// drops the ACK as an invalid cookie.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "control/secret.h"
#include "tests/unit/proxy_test_util.h"

namespace synwave::app {
namespace {

class SharedSecretTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/synwave-ecmp-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    for (const char* name : {"/a", "/b"}) {
      paths_.push_back(dir_ + name);
      ASSERT_TRUE(control::GenerateSecret(paths_.back()).ok());
    }
  }
  void TearDown() override {
    for (const std::string& p : paths_) std::remove(p.c_str());
    rmdir(dir_.c_str());
  }

  // A proxy host: a core whose secret is read from `path`.
  std::unique_ptr<ProxyCore> Host(const std::string& path, uint64_t seed) {
    absl::StatusOr<tcp::SipKey> key = control::LoadSecret(path);
    EXPECT_TRUE(key.ok()) << key.status();
    ProxyConfig c = MakeConfig(2);
    c.secret = key.value_or(tcp::SipKey{});
    c.hash_seed = seed;
    auto core = std::make_unique<ProxyCore>(c);
    core->set_output(&out_);
    for (int b = 0; b < core->num_backends(); ++b) {
      core->SetBackendMac(b, &kBackendMac);
    }
    return core;
  }

  static ProxyAction Feed(ProxyCore& core, std::vector<uint8_t> f,
                          uint64_t now, wire::TcpSegmentSpec* spec) {
    wire::PacketInfo info;
    EXPECT_EQ(wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                               &info),
              wire::Verdict::kOk);
    return core.Process(f.data(), static_cast<uint16_t>(f.size()), info, now,
                        spec);
  }

  static TcpFrame FromClient(uint32_t seq, uint32_t ack, uint8_t flags,
                             bool timestamps) {
    TcpFrame t;
    t.eth.src = kClientMac;
    t.eth.dst = kClientSideMac;
    t.ip.src = kClient;
    t.ip.dst = kVip;
    t.tcp.src_port = kCport;
    t.tcp.dst_port = kVport;
    t.tcp.seq = seq;
    t.tcp.ack = ack;
    t.tcp.flags = flags;
    t.tcp.window = 502;
    t.tcp.options.has_timestamps = timestamps;
    t.tcp.options.ts_val = 1000;
    return t;
  }

  // Host `syn_host` answers the SYN; the completing ACK goes to `ack_host`.
  ProxyAction SynThenAck(ProxyCore& syn_host, ProxyCore& ack_host,
                         bool timestamps, wire::TcpSegmentSpec* backend_syn) {
    TcpFrame syn = FromClient(kIc, 0, tf::kSyn, timestamps);
    syn.tcp.options.has_mss = true;
    syn.tcp.options.mss = 1460;
    syn.tcp.options.has_window_scale = timestamps;
    syn.tcp.options.window_scale = 7;
    syn.tcp.options.sack_permitted = timestamps;
    wire::TcpSegmentSpec synack;
    EXPECT_EQ(Feed(syn_host, BuildFrame(syn), kT0, &synack),
              ProxyAction::kReplyToClient);
    TcpFrame ack =
        FromClient(kIc + 1, synack.seq.value() + 1, tf::kAck, timestamps);
    ack.tcp.options.ts_val = 1001;
    ack.tcp.options.ts_ecr = synack.options.ts_val;
    return Feed(ack_host, BuildFrame(ack), kT0 + 1'000'000, backend_syn);
  }

  static constexpr uint32_t kIc = 0x12345678;
  Recorder out_;
  std::string dir_;
  std::vector<std::string> paths_;
};

TEST_F(SharedSecretTest, CookieFromOneHostIsValidOnAnotherWithTheSameFile) {
  for (bool timestamps : {true, false}) {
    SCOPED_TRACE(timestamps ? "timestamp cookie" : "ISN cookie");
    std::unique_ptr<ProxyCore> a = Host(paths_[0], 1);
    std::unique_ptr<ProxyCore> b = Host(paths_[0], 2);
    wire::TcpSegmentSpec backend_syn;
    ASSERT_EQ(SynThenAck(*a, *b, timestamps, &backend_syn),
              ProxyAction::kReplyToBackend);
    EXPECT_EQ(backend_syn.flags, tf::kSyn);
    EXPECT_EQ(backend_syn.seq.value(), kIc);  // the client's ISN
    EXPECT_EQ(backend_syn.src_ip, kClient);   // transparent
    EXPECT_EQ(b->count(ProxyCounter::kCookiesValid), 1u);
    EXPECT_EQ(b->count(ProxyCounter::kCookiesInvalid), 0u);
    EXPECT_EQ(b->flows_in_use(), 1u);
    EXPECT_EQ(a->flows_in_use(), 0u);  // the SYN host keeps nothing
  }
}

TEST_F(SharedSecretTest, CookieFromAHostWithAnotherSecretIsDropped) {
  for (bool timestamps : {true, false}) {
    SCOPED_TRACE(timestamps ? "timestamp cookie" : "ISN cookie");
    std::unique_ptr<ProxyCore> a = Host(paths_[0], 1);
    std::unique_ptr<ProxyCore> c = Host(paths_[1], 1);
    wire::TcpSegmentSpec spec;
    EXPECT_EQ(SynThenAck(*a, *c, timestamps, &spec), ProxyAction::kDrop);
    EXPECT_EQ(c->count(ProxyCounter::kCookiesValid), 0u);
    EXPECT_EQ(c->count(ProxyCounter::kCookiesInvalid), 1u);
    EXPECT_EQ(c->flows_in_use(), 0u);
  }
}

}  // namespace
}  // namespace synwave::app
