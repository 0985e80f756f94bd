// The packet-script runner: drives a Worker on a net_ring port with a
// virtual clock through a parsed Script (script_parse.cc), over IPv4 or
// IPv6, and reports the first difference.
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "ring_harness.h"
#include "script.h"
#include "script_support.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"
#include "wire/seq_num.h"

namespace synwave::scripted {
namespace {

namespace tf = wire::tcp_flags;
using testutil::Frame;

}  // namespace

// ---------------------------------------------------------------------------
// Running

namespace {

std::string FormatTime(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ns) / 1e9);
  return buf;
}

class Runner {
 public:
  Runner(const Script& script, std::string_view name, Family family)
      : script_(script),
        config_(script.config),
        name_(name),
        family_(family),
        ipv6_(family == Family::kIpv6) {}

  std::string Run() {
    engine::AppOps ops;
    engine::WorkerConfig worker = config_.worker;
    if (ipv6_) {
      // Dual stack; the script talks IPv6 only, with the MSS it wrote.
      worker.ip6 = wire::Ipv6Prefix{kOurIp6, 64};
      worker.tcp.mss6 = worker.tcp.mss;
    }
    if (config_.client) {
      worker.tcp_active = true;
      // The runner is the application and forwards to the generator, made
      // once the harness is up, so that it can stop it after
      // `connections` (ClientPoll).
      ops.ctx = this;
      ops.on_event = &Runner::ClientEvent;
      ops.on_poll = &Runner::ClientPoll;
      ops.on_publish = &Runner::ClientPublish;
    } else if (config_.app) {
      responder_ = std::make_unique<app::Responder>(config_.responder);
      ops = responder_->ops();
    }
    harness_ = std::make_unique<testutil::RingHarness>(worker, ops);
    if (config_.client) {
      app::GeneratorConfig g = config_.generator;
      if (ipv6_) {
        g.servers = {app::LoadTarget::Ipv6(kPeerIp6, config_.sport)};
        g.client_ip6_first = kOurIp6;
        g.client_ip6_last = kOurIp6;
      } else {
        g.servers = {app::LoadTarget{kPeerIp.value, config_.sport}};
        g.client_ip_first = kOurIp.value;
        g.client_ip_last = kOurIp.value;
      }
      g.port_first = config_.dport;
      g.port_last = config_.dport;
      g.concurrency = 1;
      g.max_connections = worker.tcp.max_connections;
      generator_ = std::make_unique<app::Generator>(g);
      generator_ops_ = generator_->ops();
      generator_->SetSchedule(kBaseNs, ~uint64_t{0});
      // Time 0: the generator asks for the peer's MAC (answered at once)
      // and sends its first SYN.
      PollAt(0);
    }
    for (const Event& e : script_.events) {
      if (e.only && *e.only != family_) continue;  // the other family's
      if (!Step(e)) return report_;
    }
    // Two more iterations at the same time: whatever is still sendable
    // goes out (nobody expects it), and the rings and the worker's arrays
    // drain, so every mbuf should be home.
    for (int i = 0; i < 2; ++i) {
      PollAt(now_);
      if (!ExpectIdle(nullptr)) return report_;
    }
    if (!harness_->AllMbufsReturned()) {
      Fail(nullptr, "an mbuf leaked: not every mbuf is back in its pool", {});
      return report_;
    }
    return "";
  }

 private:
  struct Observed {
    int64_t time_ns;
    Frame frame;
  };
  // What the runner knows about the endpoint side of one connection.
  struct Conn {
    bool isn_known = false;
    uint32_t isn = 0;
    uint32_t synack_ack = 0;   // ack of the SYN-ACK that taught the ISN
    uint64_t attempts = 0;     // client: the generator's opens by then
    bool have_end = false;
    uint32_t max_end = 0;      // highest sequence number sent, plus one
    bool prev_known = false;   // a previous incarnation was seen
    uint32_t prev_max_end = 0;
    uint32_t last_tsval = 0;   // latest TSval delivered to the peer
  };

  Conn& ConnFor(uint16_t port) { return conns_[port]; }

  // Client mode: the worker's application, forwarded to the generator,
  // which stops opening once it has opened `connections`.
  static void ClientEvent(void* ctx, tcp::TcpStack& stack,
                          const tcp::AppEvent& ev, uint64_t now_ns) {
    auto* r = static_cast<Runner*>(ctx);
    if (r->generator_ == nullptr) return;
    r->generator_ops_.on_event(r->generator_ops_.ctx, stack, ev, now_ns);
  }
  static void ClientPoll(void* ctx, engine::Link& link, tcp::TcpStack* stack,
                         uint64_t now_ns) {
    auto* r = static_cast<Runner*>(ctx);
    if (r->generator_ == nullptr) return;
    if (r->generator_->stats().attempted >= r->config_.connections) {
      r->generator_->StopOpening();
    }
    r->generator_ops_.on_poll(r->generator_ops_.ctx, link, stack, now_ns);
  }
  static void ClientPublish(void* ctx, engine::CoreCounters& counters) {
    auto* r = static_cast<Runner*>(ctx);
    if (r->generator_ == nullptr) return;
    r->generator_ops_.on_publish(r->generator_ops_.ctx, counters);
  }

  uint16_t PortOf(const SegmentSpec& s) const {
    return s.peer_port.value_or(config_.sport);
  }

  bool Step(const Event& e) {
    switch (e.kind) {
      case Event::Kind::kInbound:
        return DoInbound(e);
      case Event::Kind::kOutbound:
        return DoOutbound(e);
      case Event::Kind::kNothing:
        AdvanceTo(e.time_ns);
        return ExpectIdle(&e);
      case Event::Kind::kRun:
        AdvanceTo(e.time_ns);
        Trace(e.time_ns, Cat("run (clock at ", FormatTime(now_), ")"));
        return true;
      case Event::Kind::kDropNext:
        AdvanceTo(e.time_ns);
        (e.drop_outbound ? drop_out_ : drop_in_) += e.drop_count;
        Trace(e.time_ns, e.text);
        return true;
      case Event::Kind::kExpectCounter:
      case Event::Kind::kExpectState:
      case Event::Kind::kExpectApp:
      case Event::Kind::kExpectIsnAfterPrevious:
        AdvanceTo(e.time_ns);
        if (!ExpectIdle(&e)) return false;
        return DoExpect(e);
    }
    return false;  // not reached: the switch covers every kind
  }

  // One worker iteration at script time t; collects what it sent. An ARP
  // request for the peer is answered, and the answer handled by another
  // iteration at the same time.
  void PollAt(int64_t t) {
    bool again = true;
    while (again) {
      again = false;
      for (Frame& f : harness_->Poll(kBaseNs + static_cast<uint64_t>(t))) {
        if (AnswerArp(t, f) || AnswerNeighborSolicitation(t, f)) {
          again = true;
        } else {
          Collect(t, std::move(f));
        }
      }
    }
  }

  // True if `f` is an ARP request for the peer's address (answered).
  bool AnswerArp(int64_t t, const Frame& f) {
    wire::PacketInfo info;
    if (wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                         &info) != wire::Verdict::kOk ||
        info.kind != wire::PacketKind::kArp) {
      return false;
    }
    const auto* arp =
        reinterpret_cast<const wire::ArpHeader*>(f.data() + info.l3_offset);
    if (arp->op.get() != wire::kArpOpRequest || !(arp->TargetIp() == kPeerIp)) {
      return false;
    }
    testutil::ArpFrame reply;
    reply.eth.dst = harness_->mac();
    reply.eth.src = harness_->peer_mac();
    reply.arp.op = wire::kArpOpReply;
    reply.arp.sha = harness_->peer_mac();
    reply.arp.spa = kPeerIp;
    reply.arp.tha = harness_->mac();
    reply.arp.tpa = arp->SenderIp();
    harness_->Inject(testutil::BuildFrame(reply));
    Trace(t, "[ARP request for the peer answered]");
    return true;
  }

  // True if `f` is a Neighbor Solicitation for the peer's IPv6 address
  // (answered with a solicited advertisement, as the peer would).
  bool AnswerNeighborSolicitation(int64_t t, const Frame& f) {
    wire::PacketInfo info;
    if (wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                         &info) != wire::Verdict::kOk ||
        info.kind != wire::PacketKind::kIcmp6 ||
        f[info.l4_offset] != wire::kIcmpv6NeighborSolicitation ||
        !(wire::Ipv6Address::FromBytes(f.data() + info.l4_offset + 8) ==
          kPeerIp6)) {
      return false;
    }
    testutil::Icmp6Frame na;
    na.eth.dst = harness_->mac();
    na.eth.src = harness_->peer_mac();
    na.ip.src = kPeerIp6;
    na.ip.dst = wire::Ipv6Src(f.data(), info);
    na.ip.hop_limit = 255;
    na.icmp.type = wire::kIcmpv6NeighborAdvertisement;
    na.icmp.body = testutil::NdBody(
        kPeerIp6, wire::na_flags::kSolicited | wire::na_flags::kOverride,
        harness_->peer_mac(), wire::kNdOptionTargetLinkAddress);
    harness_->Inject(testutil::BuildFrame(na));
    Trace(t, "[Neighbor Solicitation for the peer answered]");
    return true;
  }

  // A frame the endpoint sent at t: learned from, lost (`drop next >`) or
  // queued for the `>` lines.
  void Collect(int64_t t, Frame f) {
    wire::PacketInfo info;
    const bool tcp =
        wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                         &info) == wire::Verdict::kOk &&
        info.kind == wire::PacketKind::kTcp;
    if (tcp) Learn(info);
    if (tcp && drop_out_ > 0) {
      --drop_out_;
      Trace(t, Cat("> ", Render(f), "   [lost: drop next >]"));
      return;
    }
    if (tcp && (info.options.has_timestamps)) {
      ConnFor(info.dst_port).last_tsval = info.options.ts_val;
    }
    queue_.push_back(Observed{t, std::move(f)});
  }

  // ISN learning and the highest sequence number of the incarnation (for
  // RFC 6191 checks). A new incarnation shows as a SYN-ACK answering a new
  // SYN (another ack) with another sequence number (the SYN-ACK of a
  // simultaneous open repeats the SYN's), or, in client mode, as a SYN of
  // a connection the generator has just opened. A retransmission teaches
  // nothing, so one with another ISN fails the script.
  void Learn(const wire::PacketInfo& info) {
    Conn& c = ConnFor(info.dst_port);
    const uint64_t attempts = generator_ ? generator_->stats().attempted : 0;
    bool fresh = false;
    if ((info.tcp_flags & (tf::kSyn | tf::kAck)) == tf::kSyn) {
      fresh = !c.isn_known || attempts != c.attempts;
    } else if (info.tcp_flags & tf::kSyn) {
      fresh = !c.isn_known || (info.ack.value() != c.synack_ack &&
                               info.seq.value() != c.isn);
    }
    if (fresh) {
      if (c.isn_known && c.have_end) {
        c.prev_known = true;
        c.prev_max_end = c.max_end;
      }
      c.isn_known = true;
      c.isn = info.seq.value();
      c.synack_ack = info.ack.value();
      c.attempts = attempts;
      c.have_end = false;
    }
    if (info.tcp_flags & tf::kRst) return;
    const wire::SeqNum end = info.seq + info.SegmentLength();
    if (!c.have_end || end > wire::SeqNum(c.max_end)) {
      c.have_end = true;
      c.max_end = end.value();
    }
  }

  void AdvanceTo(int64_t t) {
    while (now_ < t) {
      now_ = std::min(now_ + config_.tick_ns, t);
      PollAt(now_);
    }
  }

  bool ExpectIdle(const Event* e) {
    if (queue_.empty()) return true;
    const Observed& o = queue_.front();
    Trace(o.time_ns, "> " + Render(o.frame) + "   [unexpected]");
    return Fail(e,
                e == nullptr ? "the endpoint sent a segment no `>` line "
                               "expects (at the end of the script)"
                             : "the endpoint sent a segment no `>` line "
                               "expects (before this line)",
                {"  actual:   > " + Render(o.frame) + "   (at " +
                 FormatTime(o.time_ns) + ")"});
  }

  bool DoInbound(const Event& e) {
    AdvanceTo(e.time_ns);
    if (!ExpectIdle(&e)) return false;
    if (drop_in_ > 0) {
      --drop_in_;
      Trace(now_, Cat(e.text, "   [lost: drop next <]"));
      return true;
    }
    const SegmentSpec& s = e.seg;
    const uint16_t port = PortOf(s);
    Conn& c = ConnFor(port);
    testutil::TcpFields tcp;
    tcp.src_port = port;
    tcp.dst_port = config_.dport;
    tcp.seq = config_.peer_isn + static_cast<uint32_t>(s.start);
    tcp.ack = 0;
    if (s.ack) {
      tcp.ack = static_cast<uint32_t>(*s.ack) + (c.isn_known ? c.isn : 0);
    }
    tcp.flags = s.flags;
    tcp.window = s.window.value_or(65535);
    std::vector<uint8_t> raw;
    if (s.options) {
      for (const OptionSpec& o : *s.options) AppendRaw(o, c, &raw);
    }
    tcp.raw_options = std::move(raw);
    if (s.payload) {
      tcp.payload.assign(s.payload->begin(), s.payload->end());
    } else {
      for (uint32_t i = 0; i < s.len; ++i) {
        tcp.payload.push_back(static_cast<uint8_t>('a' + i % 26));
      }
    }
    if (ipv6_) {
      testutil::Tcp6Frame f6;
      f6.eth.dst = harness_->mac();
      f6.eth.src = harness_->peer_mac();
      f6.ip.src = kPeerIp6;
      f6.ip.dst = kOurIp6;
      f6.tcp = std::move(tcp);
      harness_->Inject(testutil::BuildFrame(f6));
    } else {
      testutil::TcpFrame f;
      f.eth.dst = harness_->mac();
      f.eth.src = harness_->peer_mac();
      f.ip.src = kPeerIp;
      f.ip.dst = kOurIp;
      f.ip.id = ip_id_++;
      f.tcp = std::move(tcp);
      harness_->Inject(testutil::BuildFrame(f));
    }
    Trace(now_, e.text);
    PollAt(now_);
    return true;
  }

  static void Be16(std::vector<uint8_t>* v, uint32_t x) {
    v->push_back(static_cast<uint8_t>(x >> 8));
    v->push_back(static_cast<uint8_t>(x));
  }
  static void Be32(std::vector<uint8_t>* v, uint32_t x) {
    Be16(v, x >> 16);
    Be16(v, x & 0xffff);
  }

  void AppendRaw(const OptionSpec& o, const Conn& c, std::vector<uint8_t>* v) {
    namespace k = wire::tcp_option_kind;
    switch (o.kind) {
      case OptionSpec::Kind::kNop:
        v->push_back(k::kNop);
        break;
      case OptionSpec::Kind::kEol:
        v->push_back(k::kEol);
        break;
      case OptionSpec::Kind::kMss:
        v->insert(v->end(), {k::kMss, 4});
        Be16(v, o.a);
        break;
      case OptionSpec::Kind::kWscale:
        v->insert(v->end(), {k::kWindowScale, 3, static_cast<uint8_t>(o.a)});
        break;
      case OptionSpec::Kind::kSackOk:
        v->insert(v->end(), {k::kSackPermitted, 2});
        break;
      case OptionSpec::Kind::kTs:
        v->insert(v->end(), {k::kTimestamps, 10});
        Be32(v, o.a);
        Be32(v, o.b_any ? c.last_tsval : o.b);
        break;
      case OptionSpec::Kind::kSack:
        v->push_back(k::kSack);
        v->push_back(static_cast<uint8_t>(2 + 8 * o.sack.size()));
        for (const auto& [l, r] : o.sack) {
          const uint32_t base = c.isn_known ? c.isn : 0;
          Be32(v, base + static_cast<uint32_t>(l));
          Be32(v, base + static_cast<uint32_t>(r));
        }
        break;
    }
  }

  bool DoOutbound(const Event& e) {
    const int64_t deadline = e.time_ns + config_.tolerance_ns;
    while (queue_.empty() && now_ < deadline) {
      now_ = std::min(now_ + config_.tick_ns, deadline);
      PollAt(now_);
    }
    if (queue_.empty()) {
      return Fail(&e,
                  Cat("the endpoint sent nothing by ",
                               FormatTime(deadline)),
                  {"  expected: " + e.text + "   (at " +
                   FormatTime(e.time_ns) + ")"});
    }
    Observed o = std::move(queue_.front());
    queue_.pop_front();
    const std::string actual = Render(o.frame);
    Trace(o.time_ns, "> " + actual);
    std::vector<std::string> diffs = Differences(e.seg, o.frame);
    if (o.time_ns < e.time_ns - config_.tolerance_ns) {
      diffs.push_back(Cat("time (sent at ", FormatTime(o.time_ns),
                                   ", expected at ", FormatTime(e.time_ns),
                                   " +- ", FormatTime(config_.tolerance_ns),
                                   ")"));
    }
    if (diffs.empty()) return true;
    return Fail(&e, "segment differs from the script",
                {"  expected: " + e.text + "   (at " +
                     FormatTime(e.time_ns) + ")",
                 "  actual:   > " + actual + "   (at " +
                     FormatTime(o.time_ns) + ")",
                 "  differs in: " + Join(diffs, ", ")});
  }

  std::vector<std::string> Differences(const SegmentSpec& s, const Frame& f) {
    std::vector<std::string> d;
    wire::PacketInfo info;
    const wire::Verdict v =
        wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {}, &info);
    if (v != wire::Verdict::kOk) {
      d.push_back(Cat("frame does not parse (",
                               wire::VerdictName(v), ")"));
      return d;
    }
    if (info.kind != wire::PacketKind::kTcp) {
      d.push_back("not a TCP segment");
      return d;
    }
    const auto* eth = reinterpret_cast<const wire::EthernetHeader*>(f.data());
    if (!(eth->Dst() == harness_->peer_mac()) ||
        !(eth->Src() == harness_->mac())) {
      d.push_back("MAC addresses");
    }
    if (ipv6_ ? info.family != wire::IpFamily::kIpv6 ||
                    !(wire::Ipv6Src(f.data(), info) == kOurIp6) ||
                    !(wire::Ipv6Dst(f.data(), info) == kPeerIp6)
              : info.family != wire::IpFamily::kIpv4 ||
                    !(info.src_ip == kOurIp) || !(info.dst_ip == kPeerIp)) {
      d.push_back("IP addresses");
    }
    const uint16_t port = PortOf(s);
    if (info.src_port != config_.dport || info.dst_port != port) {
      d.push_back(Cat("ports (", info.src_port, " > ", info.dst_port,
                               ", expected ", config_.dport, " > ", port,
                               ")"));
    }
    const Conn& c = ConnFor(info.dst_port);
    if (info.tcp_flags != s.flags) d.push_back("flags");
    const uint32_t rel_seq = info.seq.value() - (c.isn_known ? c.isn : 0);
    if (rel_seq != static_cast<uint32_t>(s.start)) d.push_back("sequence number");
    if (info.payload_length != s.len) d.push_back("length");
    if (s.ack &&
        info.ack.value() - config_.peer_isn != static_cast<uint32_t>(*s.ack)) {
      d.push_back("ack");
    }
    if (s.window && info.window != *s.window) d.push_back("window");
    if (s.payload &&
        (info.payload_length != s.payload->size() ||
         !std::equal(s.payload->begin(), s.payload->end(),
                     f.begin() + info.payload_offset))) {
      d.push_back("payload bytes");
    }
    if (s.options) {
      const wire::TcpOptions& a = info.options;
      bool mss = false, ws = false, sack_ok = false, ts = false;
      uint32_t sack_blocks = 0;
      for (const OptionSpec& o : *s.options) {
        switch (o.kind) {
          case OptionSpec::Kind::kNop:
          case OptionSpec::Kind::kEol:
            break;
          case OptionSpec::Kind::kMss:
            mss = true;
            if (a.has_mss && !o.a_any && a.mss != o.a) d.push_back("mss value");
            break;
          case OptionSpec::Kind::kWscale:
            ws = true;
            if (a.has_window_scale && !o.a_any && a.window_scale != o.a) {
              d.push_back("wscale value");
            }
            break;
          case OptionSpec::Kind::kSackOk:
            sack_ok = true;
            break;
          case OptionSpec::Kind::kTs:
            ts = true;
            if (a.has_timestamps && !o.a_any && a.ts_val != o.a) {
              d.push_back("TS val");
            }
            if (a.has_timestamps && !o.b_any && a.ts_ecr != o.b) {
              d.push_back("TS ecr");
            }
            break;
          case OptionSpec::Kind::kSack:
            sack_blocks += static_cast<uint32_t>(o.sack.size());
            break;
        }
      }
      if (mss != a.has_mss) d.push_back(mss ? "mss missing" : "unexpected mss");
      if (ws != a.has_window_scale) {
        d.push_back(ws ? "wscale missing" : "unexpected wscale");
      }
      if (sack_ok != a.sack_permitted) {
        d.push_back(sack_ok ? "sackOK missing" : "unexpected sackOK");
      }
      if (ts != a.has_timestamps) d.push_back(ts ? "TS missing" : "unexpected TS");
      if (sack_blocks != a.sack_blocks) d.push_back("SACK blocks");
    }
    return d;
  }

  // A frame the endpoint sent, in script syntax with relative numbers.
  std::string Render(const Frame& f) {
    wire::PacketInfo info;
    const wire::Verdict v =
        wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {}, &info);
    if (v != wire::Verdict::kOk) {
      return Cat("<unparseable frame: ", wire::VerdictName(v), ", ",
                          f.size(), " bytes>");
    }
    if (info.kind == wire::PacketKind::kArp) return "<ARP frame>";
    if (info.kind == wire::PacketKind::kIcmp) return "<ICMP frame>";
    if (info.kind == wire::PacketKind::kIcmp6) return "<ICMPv6 frame>";
    const Conn& c = ConnFor(info.dst_port);
    std::string s;
    if (info.dst_port != config_.sport) Append(&s, "@", info.dst_port, " ");
    if (info.src_port != config_.dport) {
      Append(&s, "[from port ", info.src_port, "] ");
    }
    auto rel = [](uint32_t v, bool known, uint32_t base) -> std::string {
      if (!known) return Cat(v);
      return Cat(static_cast<int32_t>(v - base));
    };
    const uint32_t start = info.seq.value();
    Append(&s, FlagString(info.tcp_flags), " ",
                    rel(start, c.isn_known, c.isn), ":",
                    rel(start + info.payload_length, c.isn_known, c.isn), "(",
                    info.payload_length, ")");
    if (info.tcp_flags & tf::kAck) {
      Append(&s, " ack ",
                      rel(info.ack.value(), true, config_.peer_isn));
    } else if (info.ack.value() != 0) {
      Append(&s, " [ack field ", info.ack.value(), "]");
    }
    Append(&s, " win ", info.window);
    const wire::TcpOptions& o = info.options;
    std::vector<std::string> opts;
    if (o.has_mss) opts.push_back(Cat("mss ", o.mss));
    if (o.sack_permitted) opts.push_back("sackOK");
    if (o.has_timestamps) {
      opts.push_back(Cat("TS val ", o.ts_val, " ecr ", o.ts_ecr));
    }
    if (o.has_window_scale) opts.push_back(Cat("wscale ", +o.window_scale));
    if (o.sack_blocks != 0) opts.push_back(Cat("sack x", +o.sack_blocks));
    if (!opts.empty()) Append(&s, " <", Join(opts, ","), ">");
    return s;
  }

  bool DoExpect(const Event& e) {
    uint64_t actual = 0;
    std::string what;
    switch (e.kind) {
      case Event::Kind::kExpectCounter: {
        harness_->worker().PublishCounters();
        if (auto i = CounterIndex(e.name)) {
          actual = harness_->Count(*i);
        } else {
          actual = harness_->Gauge(*GaugeIndex(e.name));
        }
        what = Cat("counter ", e.name);
        break;
      }
      case Event::Kind::kExpectState: {
        tcp::TcpStack* stack = harness_->worker().stack();
        if (stack == nullptr) return Fail(&e, "no TCP stack (nothing listens)", {});
        actual = stack->StateCount(*StateByName(e.name));
        what = Cat("state ", e.name);
        break;
      }
      case Event::Kind::kExpectApp:
        if (generator_) {
          actual = *LoadStat(generator_->stats(), e.name);
          what = Cat("app ", e.name);
          break;
        }
        if (!responder_) return Fail(&e, "no application (app=none)", {});
        actual = e.name == "requests" ? responder_->requests()
                                      : responder_->responses();
        what = Cat("app ", e.name);
        break;
      case Event::Kind::kExpectIsnAfterPrevious: {
        const Conn& c = ConnFor(config_.sport);
        if (!c.prev_known) {
          return Fail(&e, "no previous incarnation of the connection was seen",
                      {});
        }
        if (wire::SeqNum(c.isn) > wire::SeqNum(c.prev_max_end)) return true;
        return Fail(&e, "the new ISN does not lie above the old sequence space",
                    {Cat("  new ISN ", c.isn,
                                  ", previous incarnation sent up to ",
                                  c.prev_max_end)});
      }
      default:
        return false;
    }
    Trace(now_, Cat(e.text, "   [", actual, "]"));
    if (Compare(actual, e.op, e.value)) return true;
    return Fail(&e, "expectation not met",
                {Cat("  ", what, " is ", actual, ", expected ", e.op,
                              " ", e.value)});
  }

  void Trace(int64_t t, std::string line) {
    trace_.push_back(Cat(FormatTime(t), " ", line));
    if (trace_.size() > kTraceLines) trace_.pop_front();
  }

  bool Fail(const Event* e, std::string_view what,
            const std::vector<std::string>& details) {
    std::string r = e != nullptr
                        ? Cat(name_, ":", e->line, ": ", what, "\n",
                                       "  line:     ", e->text, "\n")
                        : Cat(name_, ": ", what, "\n");
    for (const std::string& d : details) Append(&r, d, "\n");
    Append(&r, "  clock at ", FormatTime(now_), "; last events:\n");
    for (const std::string& t : trace_) Append(&r, "    ", t, "\n");
    report_ = std::move(r);
    return false;
  }

  const Script& script_;
  const ScriptConfig& config_;
  std::string name_;
  Family family_;  // the family the script runs over
  bool ipv6_;
  // The responder outlives the harness (its worker calls into it).
  std::unique_ptr<app::Responder> responder_;
  // Client mode: the application, and its entry points (see ClientPoll).
  std::unique_ptr<app::Generator> generator_;
  engine::AppOps generator_ops_;
  std::unique_ptr<testutil::RingHarness> harness_;
  int64_t now_ = 0;
  uint16_t ip_id_ = 1;
  uint32_t drop_in_ = 0;
  uint32_t drop_out_ = 0;
  std::deque<Observed> queue_;
  std::map<uint16_t, Conn> conns_;
  std::deque<std::string> trace_;
  std::string report_;
};

}  // namespace

std::string_view FamilyName(Family f) {
  return f == Family::kIpv6 ? "ipv6" : "ipv4";
}

std::string RunScript(const Script& script, std::string_view name,
                      Family family) {
  Runner runner(script, name, family);
  return runner.Run();
}

}  // namespace synwave::scripted
