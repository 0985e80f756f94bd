// ProxyCore: the pure part of `synwave proxy`, a transparent SYN proxy with
// sequence translation (design: ../shared/PROXY.md; the shape of Linux
// netfilter SYNPROXY and DPVS's synproxy). No DPDK: it works on frame bytes
// and a parsed wire::PacketInfo, so every translation is tested without an
// EAL; app::Proxy (proxy.h) puts it on a worker.
//
//   client                    proxy (VIP)                        backend
//   SYN seq=Ic          ->  cookie, no state
//                       <-  SYN-ACK seq=Ip ack=Ic+1 win=0
//   ACK ack=Ip+1        ->  cookie valid: record, pick a backend
//                                          SYN seq=Ic (client's options,
//                                          from the client's address)   ->
//                                          <- SYN-ACK seq=Ib ack=Ic+1
//                                          ACK seq=Ic+1 ack=Ib+1        ->
//                       <-  window update seq=Ip+1 (backend's window)
//   data/ACK/FIN        ->  dst VIP->backend, ack/SACK -= delta,
//                           TSecr += ts_off                            ->
//                       <-  src backend->VIP, seq += delta,
//                           TSval -= ts_off, window rescaled            <-
//
// with delta = Ip - Ib and ts_off = (backend's first TSval) - (our cookie
// TSval). Choices, and why:
//  - Zero window in the cookie SYN-ACK: the client cannot send data before
//    the backend answered. Data that arrives anyway (a client that ignores
//    the window, or the completing ACK carrying data) is dropped and counted
//    (proxy_early_data_dropped); the client retransmits it. Holding it would
//    need buffers per flow, which a flood could fill.
//  - A client that keeps data queued against the zero window sends window
//    probes with SEG.SEQ = ISN (RCV.NXT - 1) once its completing ACK was
//    lost: a pure ACK that fails the cookie as seq-1 is checked again as
//    seq (the "probe form"). That doubles the forgery odds of pure ACKs
//    only, from 2^-29 to 2^-28 per ACK (syncookie.h's analysis).
//  - Clients without timestamps: lib/tcp's cookies (the Linux layout), so
//    their window scale and SACK are not kept; they get neither, and we do
//    not announce them. The forgery odds stay 2^-29.
//  - Announced options: those every usable backend has (its health probe
//    records MSS, window scale, SACK and timestamps; until a probe answered,
//    the configured defaults). The client's window scale goes to the
//    backend in its SYN, so client->backend windows pass unchanged; the
//    backend's may differ from the one announced (a probe out of date), and
//    its windows are then rescaled on the way to the client.
//  - One key per flow: the client's tuple (VIP, client, VIP port, client
//    port). A backend's frame is found by mapping its address and port back
//    to the VIP port, so a backend port serves one VIP port (config rule).
//  - No timer per flow: a sweep walks a slice of the record array every
//    millisecond (backend SYN retransmits, linger, idle timeout).
//  - Backend frames for flows we do not know are counted and dropped, not
//    answered (a RST could kill a flow of another synwave instance, or of
//    ours on another core during a hand-off).
#ifndef SYNWAVE_APP_PROXY_CORE_H_
#define SYNWAVE_APP_PROXY_CORE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "flow/flow_key.h"
#include "flow/flow_table.h"
#include "flow/index_pool.h"
#include "tcp/siphash.h"
#include "tcp/syncookie.h"
#include "wire/addresses.h"
#include "wire/build.h"
#include "wire/parse.h"

namespace synwave::app {

// X(Enumerator, "name", "meaning").
#define SYNWAVE_PROXY_COUNTERS(X)                                            \
  X(kSynIn, "proxy_syn_in", "SYNs from clients to a VIP port")               \
  X(kCookieSynAcks, "proxy_cookie_synacks_out", "cookie SYN-ACKs sent")      \
  X(kCookiesValid, "proxy_cookies_valid", "ACKs with a valid cookie")        \
  X(kCookiesValidProbe, "proxy_cookies_valid_probe_form",                    \
    "valid cookies from a window probe (the completing ACK was lost)")       \
  X(kCookiesInvalid, "proxy_cookies_invalid",                                \
    "ACKs for no flow whose cookie failed (dropped)")                        \
  X(kClientNoFlow, "proxy_client_no_flow",                                   \
    "RST or other segments from clients for no flow (dropped)")              \
  X(kBackendSynOut, "proxy_backend_syns_out", "SYNs sent to backends")       \
  X(kBackendSynRetransmits, "proxy_backend_syn_retransmits",                 \
    "backend SYNs sent again after 1 s without an answer")                   \
  X(kBackendSynTimeouts, "proxy_backend_syn_timeouts",                       \
    "backends that never answered the SYN: the client was reset")            \
  X(kBackendRefused, "proxy_backend_refused",                                \
    "backends that answered the SYN with RST: the client was reset")         \
  X(kEstablished, "proxy_established", "flows joined to a backend")          \
  X(kReopened, "proxy_reopened",                                             \
    "closing flows replaced by a new valid cookie ACK for their tuple")      \
  X(kEarlyDataDropped, "proxy_early_data_dropped",                           \
    "client segments with data before the backend was ready (dropped)")      \
  X(kUnknownBackendFrames, "proxy_unknown_backend_frames",                   \
    "frames from the backend side for no known flow (dropped)")              \
  X(kToBackend, "proxy_forwarded_to_backend", "segments forwarded "         \
    "client to backend")                                                     \
  X(kToClient, "proxy_forwarded_to_client", "segments forwarded "           \
    "backend to client")                                                     \
  X(kNoBackendRst, "proxy_no_backend_rst",                                   \
    "SYNs or ACKs answered with RST: no backend up")                         \
  X(kNoBackendDrop, "proxy_no_backend_drop",                                 \
    "SYNs or ACKs dropped: no backend up (--no-backend=drop)")               \
  X(kNoBackendMac, "proxy_drop_backend_unresolved",                          \
    "frames for a backend whose MAC is not resolved yet (dropped)")          \
  X(kTableFull, "proxy_drop_table_full",                                     \
    "valid cookie ACKs answered with a RST: the flow table was full")                    \
  X(kClosed, "proxy_closed", "flows freed after both FINs or a RST "         \
    "and the linger")                                                        \
  X(kIdleTimeouts, "proxy_idle_timeouts", "flows freed after going idle")    \
  X(kProbesOut, "proxy_probes_out", "health probe SYNs sent")                \
  X(kProbesOk, "proxy_probes_ok", "health probes answered with a SYN-ACK")   \
  X(kProbesFailed, "proxy_probes_failed",                                    \
    "health probes refused (RST) or not answered within the interval")       \
  X(kBackendDown, "proxy_backend_down_events", "backends marked down")       \
  X(kBackendUp, "proxy_backend_up_events", "backends marked up")             \
  X(kBackendReloads, "proxy_backend_reloads",                               \
    "backend lists taken from a reload (SIGHUP), per worker")                \
  X(kHandoffOut, "proxy_handoff_out", "frames handed to the worker that "    \
    "owns their flow")                                                       \
  X(kHandoffIn, "proxy_handoff_in", "frames taken from other workers")       \
  X(kHandoffFull, "proxy_drop_handoff_full", "frames dropped: the ring to "  \
    "their flow's worker was full")

enum class ProxyCounter : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_PROXY_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
  kCount,
};

// Per-backend figures, a block of kMaxProxyBackends x this list.
inline constexpr int kMaxProxyBackends = 8;
enum class BackendCounter : uint8_t {
  kUp,           // 1 while this core sees it up (summed: cores seeing it up)
  kConnections,  // flows sent to it (a SYN that it answered)
  kOpen,         // flows open now
  kProbesOk,
  kProbesFailed,
  kCount,
};

enum class NoBackend : uint8_t { kRst, kDrop };

struct ProxyBackend {
  uint32_t ip = 0;    // host order (an IPv4 proxy's)
  uint16_t port = 0;  // 0: the VIP port the client connected to
  wire::Ipv6Address ip6{};  // an IPv6 proxy's (ProxyConfig::ipv6)

  friend bool operator==(const ProxyBackend&, const ProxyBackend&) = default;
};

// Options announced in cookie SYN-ACKs while no probe has answered.
struct ProxyOptions {
  uint16_t mss = 1460;
  uint8_t wscale = 7;
  bool sack = true;
  bool timestamps = true;
};

struct ProxyConfig {
  uint32_t vip = 0;              // host order
  uint32_t backend_side_ip = 0;  // probes come from here (host order)
  // An IPv6 proxy: the VIP, the backend side and every backend are IPv6
  // (vip6, backend_side_ip6, ProxyBackend::ip6) and only IPv6 frames are
  // its (Process6); the IPv4 fields are unused. One family per proxy: an
  // IPv4 VIP in front of IPv6 backends is not supported.
  bool ipv6 = false;
  wire::Ipv6Address vip6;
  wire::Ipv6Address backend_side_ip6;
  wire::MacAddress client_side_mac;   // our MAC on the client side
  wire::MacAddress backend_side_mac;  // our MAC on the backend side
  std::vector<uint16_t> listen_ports;
  std::vector<ProxyBackend> backends;
  uint32_t max_flows = 262144;    // per core: 2 s of linger at 130,000 flows/s
  NoBackend no_backend = NoBackend::kRst;
  ProxyOptions defaults;
  uint64_t syn_rto_ns = 1'000'000'000;  // backend SYN retransmission
  uint8_t syn_tries = 3;                // SYNs in all before the client RST
  uint64_t linger_ns = 2'000'000'000;   // after both FINs were acknowledged
  uint64_t idle_timeout_ns = 300'000'000'000;
  uint64_t probe_interval_ns = 1'000'000'000;  // 0: no probes (always up)
  uint8_t down_after = 3;  // failed probes in a row
  uint8_t up_after = 2;    // good probes in a row
  uint16_t probe_port = 61000;  // source port of the health probes
  tcp::SipKey secret;
  uint64_t hash_seed = 0;
  tcp::SynCookieParams cookies;
};

// The per-flow record: not a TCB, 44 bytes (the table's slot for its key
// is about 23 more at 70% load). An IPv6 proxy keeps the client's address
// beside it (ProxyCore's client6_, 16 bytes per record, allocated only
// then) and a 32-bit fold of it here (ClientId), so that the record, its
// backend choice and its owner are computed as for IPv4.
struct ProxyRecord {
  uint32_t client_ip;    // IPv6: ClientId(the address)
  uint16_t client_port;
  uint16_t vport;
  uint32_t seq_delta;  // Ip - Ib; while connecting: Ip
  uint32_t ts_off;     // backend TSval - ours; while connecting: our TSval
  uint8_t client_mac[6];
  uint8_t backend;
  uint8_t state;       // RecordState
  uint8_t ws_announced;  // the window scale the client was told (0-14)
  uint8_t ws_backend;    // the one the backend uses
  uint8_t flags;         // RecordFlag bits
  uint8_t tries;         // backend SYNs sent
  uint32_t last_ms;      // last activity, now_ns >> 20 (~1.05 ms units)
  union {
    struct {             // connecting
      uint32_t client_isn;
      uint32_t client_tsval;
      uint16_t client_window;  // raw, from the completing ACK
      uint16_t mss;            // from the cookie
    } syn;
    struct {             // joined
      uint32_t fin_client;   // seq of the client's FIN (client space)
      uint32_t fin_backend;  // seq of the backend's FIN, translated
    } fin;
  } u;
};
static_assert(sizeof(ProxyRecord) <= 48, "a proxy record fits 48 bytes");

enum RecordState : uint8_t {
  kRecordFree = 0,
  kRecordConnecting,  // backend SYN sent
  kRecordJoined,      // forwarding
  kRecordLinger,      // both FINs acked, or a RST: translating retransmits
};

namespace record_flag {
inline constexpr uint8_t kTimestamps = 0x01;
inline constexpr uint8_t kSack = 0x02;
inline constexpr uint8_t kClientWscale = 0x04;  // the client sent one
inline constexpr uint8_t kFinClient = 0x08;
inline constexpr uint8_t kFinBackend = 0x10;
inline constexpr uint8_t kFinClientAcked = 0x20;
inline constexpr uint8_t kFinBackendAcked = 0x40;
}  // namespace record_flag

// What to do with the frame Process was given.
enum class ProxyAction : uint8_t {
  kDrop,             // free it (counted)
  kForwardToClient,  // rewritten in place: send on the client side
  kForwardToBackend, // rewritten in place: send on the backend side
  kReplyToClient,    // write `spec` over it, send on the client side
  kReplyToBackend,   // write `spec` over it, send on the backend side
};

// Frames the core originates besides replies (window updates, backend SYN
// retransmissions, client RSTs, probes), in the proxy's family.
class ProxyOutput {
 public:
  virtual ~ProxyOutput() = default;
  virtual void Send(bool to_backend, const wire::TcpSegmentSpec& spec) = 0;
  virtual void Send(bool to_backend, const wire::Tcp6SegmentSpec& spec) = 0;
};

struct ProxyBackendState {
  ProxyBackend addr;
  wire::MacAddress mac;
  bool mac_valid = false;
  bool up = true;        // usable for new flows (its probes say)
  bool removed = false;  // left the list at a reload: no new flows, no
                         // probes; its established flows go on
  bool probed = false;   // a probe has answered at least once
  uint8_t good = 0;      // probes in a row
  uint8_t bad = 0;
  bool probe_pending = false;
  bool probe_sent = false;  // the pending probe left (its MAC was known)
  uint32_t probe_seq = 0;
  ProxyOptions learned;  // from the last good probe (or the defaults)
  uint64_t weight = 0;   // its rendezvous weight (ProxyCore::PickBackend)
  uint64_t counts[static_cast<size_t>(BackendCounter::kCount)] = {};
};

// The backends' slots after a reload (SIGHUP): a backend keeps its slot
// (its index in flow records and per-backend counters) for the life of the
// process; one removed keeps it too, inactive, while its established flows
// end; one added takes a new slot. The main lcore plans it, every worker
// takes the same one (ProxyCore::SetBackends), so slots agree across cores.
struct ProxyBackendSlots {
  std::vector<ProxyBackend> slots;
  std::vector<bool> active;  // in the current list

  // The slots for `list` after these; false (with `error`) when it needs
  // more than kMaxProxyBackends slots (removed backends hold theirs).
  bool Plan(const std::vector<ProxyBackend>& list, ProxyBackendSlots* next,
            std::string* error) const;
  int num_active() const;
};

class ProxyCore {
 public:
  explicit ProxyCore(const ProxyConfig& config);
  ~ProxyCore();

  // One received TCP frame (`len` bytes at `frame`, with `room` writable
  // bytes from `frame` for a reply written over it). The frame's checksums
  // were verified. On kForward* the frame was rewritten in place with
  // correct checksums; on kReply* `spec` says what to write over it.
  // `slot`: the frame's place in the burst given to PrepareSyns (its SYN
  // cookie is ready), or -1.
  ProxyAction Process(uint8_t* frame, uint16_t len,
                      const wire::PacketInfo& info, uint64_t now_ns,
                      wire::TcpSegmentSpec* spec, int slot = -1);
  // The same for an IPv6 proxy's frames (config().ipv6; `info.family` is
  // kIpv6): the same steps over IPv6 tuples (FlowTable6, the IPv6 cookie
  // and MSS table), frames rewritten in place (no IP header checksum; the
  // pseudo-header's change folded into the TCP checksum), replies as
  // Tcp6SegmentSpec. `slot` as Process's, for PrepareSyns6.
  ProxyAction Process6(uint8_t* frame, uint16_t len,
                       const wire::PacketInfo& info, uint64_t now_ns,
                       wire::Tcp6SegmentSpec* spec, int slot = -1);

  // Before a burst of up to kMaxPrepared frames: the cookies of its SYNs,
  // hashed together in vector lanes (SynCookies::MakeBatch, as the stack
  // does), for Process(..., slot) of the same burst at the same time.
  static constexpr uint16_t kMaxPrepared = 64;
  void PrepareSyns(const wire::PacketInfo* infos, uint16_t n,
                   uint64_t now_ns);
  // The same for an IPv6 proxy's burst (the addresses are read from the
  // frames, frames[i] being infos[i]'s), for Process6(..., slot): the
  // cookies of the SYNs to the VIP in the lanes of the IPv6 MakeBatch,
  // which hashes each tuple from the state after the VIP (syncookie.cc).
  void PrepareSyns6(const uint8_t* const* frames,
                    const wire::PacketInfo* infos, uint16_t n,
                    uint64_t now_ns);

  // Periodic work: backend SYN retransmissions, linger and idle timeouts
  // (a slice of the records every millisecond), health probes.
  void Poll(uint64_t now_ns);

  // A reload: the backends become `slots` (planned from this core's
  // current ones: the same slots first, maybe more after). A removed
  // backend gets no new flows and no probes, and its established flows go
  // on; one added starts as a new backend does (up until probes say).
  // Counted (kBackendReloads).
  void SetBackends(const ProxyBackendSlots& slots);
  // The current slots (as SetBackends and the constructor left them).
  ProxyBackendSlots backend_slots() const;

  // Backends' next hops, set by the caller (ARP on the backend side).
  void SetBackendMac(int b, const wire::MacAddress* mac);

  void set_output(ProxyOutput* out) { out_ = out; }
  const ProxyConfig& config() const { return config_; }
  int num_backends() const { return static_cast<int>(backends_.size()); }
  const ProxyBackendState& backend(int b) const { return backends_[b]; }
  uint64_t count(ProxyCounter c) const {
    return counts_[static_cast<size_t>(c)];
  }
  // Counting from outside (the hand-off, in proxy.cc).
  void Count(ProxyCounter c, uint64_t n = 1) {
    counts_[static_cast<size_t>(c)] += n;
  }
  uint32_t flows_in_use() const { return pool_.in_use(); }
  const ProxyRecord* Find(uint32_t client_ip, uint16_t client_port,
                          uint16_t vport) const;
  const ProxyRecord* Find6(const wire::Ipv6Address& client,
                           uint16_t client_port, uint16_t vport) const;

  // An IPv6 client's address folded to 32 bits: what PickBackend and
  // ClientOwner take for it (the same on every worker).
  static uint32_t ClientId(const wire::Ipv6Address& a) {
    uint32_t w[4];
    std::memcpy(w, a.bytes.data(), 16);
    return w[0] ^ w[1] ^ w[2] ^ w[3];
  }

  // Rendezvous (highest random weight) hashing over the usable backends:
  // a pool change moves only the flows of the backend that left (or 1/n
  // of them to one that joined). -1 when none is usable.
  int PickBackend(uint32_t client_ip, uint16_t client_port) const;

  // With several workers, the one that handles a frame: SYNs (stateless)
  // stay where they arrived (-1); a probe's answer goes to the worker whose
  // probe port it is; everything else of a flow to one worker chosen by
  // the client's address and port, the same from both sides. Pure: every
  // worker computes the same owner.
  int Owner(const wire::PacketInfo& info, int workers) const;
  // Owner for an IPv6 proxy's frame (its addresses are read from `frame`).
  int Owner6(const uint8_t* frame, const wire::PacketInfo& info,
             int workers) const;
  // The worker that owns the flows of a client (0 .. workers - 1).
  static int ClientOwner(uint32_t client_ip, uint16_t client_port,
                         int workers);
  // The base of a worker's probe ports: probe_port + kProbePortsPerWorker *
  // worker (the wiring sets probe_port so).
  static constexpr uint16_t kProbePortBase = 61000;
  static constexpr uint16_t kProbePortsPerWorker = 16;

  // The options a cookie SYN-ACK announces now.
  ProxyOptions Announced() const;

  // Marks a probe result (tests; Process calls it for probe answers).
  void ProbeResult(int b, bool ok, const wire::TcpOptions* opts);

 private:
  static constexpr uint32_t kNone = flow::FlowTable::kNotFound;

  // The family of a reply spec: the edge's steps are one template for both
  // (S = wire::TcpSegmentSpec or wire::Tcp6SegmentSpec), the addresses
  // taken from the frame, the config or the record by these.
  template <class S>
  static constexpr bool kIs6 = std::is_same_v<S, wire::Tcp6SegmentSpec>;
  template <class S>
  static auto SrcOf(const uint8_t* frame, const wire::PacketInfo& info) {
    if constexpr (kIs6<S>) {
      return wire::Ipv6Src(frame, info);
    } else {
      return info.src_ip;
    }
  }
  template <class S>
  static auto DstOf(const uint8_t* frame, const wire::PacketInfo& info) {
    if constexpr (kIs6<S>) {
      return wire::Ipv6Dst(frame, info);
    } else {
      return info.dst_ip;
    }
  }
  template <class S>
  auto VipAddr() const {
    if constexpr (kIs6<S>) {
      return config_.vip6;
    } else {
      return wire::Ipv4Address{config_.vip};
    }
  }
  template <class S>
  auto BackendSideAddr() const {
    if constexpr (kIs6<S>) {
      return config_.backend_side_ip6;
    } else {
      return wire::Ipv4Address{config_.backend_side_ip};
    }
  }
  template <class S>
  auto BackendAddr(int b) const {
    if constexpr (kIs6<S>) {
      return backends_[b].addr.ip6;
    } else {
      return wire::Ipv4Address{backends_[b].addr.ip};
    }
  }
  template <class S>
  auto ClientAddr(const ProxyRecord& r) const {
    if constexpr (kIs6<S>) {
      return client6_[&r - records_.get()];
    } else {
      return wire::Ipv4Address{r.client_ip};
    }
  }
  static uint32_t RemoteId(const flow::FlowKey& k) { return k.remote_ip; }
  static uint32_t RemoteId(const flow::FlowKey6& k) {
    return ClientId(k.remote_ip);
  }

  // proxy_edge.cc: PrepareSyns(6)'s shared loop, and the handshakes
  // (instantiated for both families).
  template <class K, class KeyOf>
  void PrepareBatch(K* keys, const wire::PacketInfo* infos, uint16_t n,
                    uint64_t now_ns, KeyOf key_of);
  template <class K, class S>
  ProxyAction ClientSyn(uint8_t* frame, const wire::PacketInfo& info,
                        const K& key, uint64_t now_ns, S* spec, int slot);
  template <class K, class S>
  ProxyAction CookieAck(uint8_t* frame, const wire::PacketInfo& info,
                        const K& key, uint32_t hash, uint64_t now_ns,
                        S* spec);
  template <class S>
  ProxyAction BackendConnecting(uint32_t idx, const uint8_t* frame,
                                const wire::PacketInfo& info, uint64_t now_ns,
                                S* spec);
  template <class S>
  ProxyAction ProbeAnswer(const uint8_t* frame, const wire::PacketInfo& info,
                          uint64_t now_ns, S* spec);
  template <class S>
  ProxyAction NoBackendAnswer(const uint8_t* frame,
                              const wire::PacketInfo& info, S* spec);
  // A RST answering `info` (RFC 9293 3.10.7.1), to the client.
  template <class S>
  ProxyAction RstToClient(const uint8_t* frame, const wire::PacketInfo& info,
                          S* spec);
  // The ACK that answers a backend's repeated SYN-ACK (our ACK was lost).
  template <class S>
  ProxyAction BackendSynAckAgain(const ProxyRecord& r, const uint8_t* frame,
                                 const wire::PacketInfo& info, S* spec);
  template <class S>
  void BackendSynSpec(const ProxyRecord& r, S* spec) const;
  template <class S>
  void ClientRstSpec(const ProxyRecord& r, S* spec) const;
  template <class S>
  void ProbeSpec(int b, uint64_t now_ns, S* spec) const;
  void SendProbes(uint64_t now_ns);
  void SendProbe(int b, uint64_t now_ns);
  // What the sweep sends for record `r`, in the proxy's family.
  void SendBackendSyn(const ProxyRecord& r);
  void SendClientRst(const ProxyRecord& r);

  // proxy_flow.cc: records and translation.
  uint32_t NewRecord(const flow::FlowKey& key, uint32_t hash);
  void FreeRecord(uint32_t idx);
  ProxyAction ForwardToBackend(uint32_t idx, uint8_t* frame,
                               const wire::PacketInfo& info, uint64_t now_ns);
  ProxyAction ForwardToClient(uint32_t idx, uint8_t* frame,
                              const wire::PacketInfo& info, uint64_t now_ns);
  void Sweep(uint64_t now_ns);
  // The backend `ip`:`port` is, or -1; and the VIP port its flows use.
  int FindBackend(uint32_t ip, uint16_t port, uint16_t* vport) const;
  bool IsListenPort(uint16_t port) const;
  bool IsProbePort(uint16_t port) const {
    return port >= config_.probe_port &&
           port < config_.probe_port + backends_.size();
  }
  uint16_t BackendPort(int b, uint16_t vport) const {
    const uint16_t p = backends_[b].addr.port;
    return p != 0 ? p : vport;
  }

  // proxy_flow6.cc: the same over IPv6.
  uint32_t NewRecord(const flow::FlowKey6& key, uint32_t hash);
  ProxyAction ForwardToBackend6(uint32_t idx, uint8_t* frame,
                                const wire::PacketInfo& info, uint64_t now_ns);
  ProxyAction ForwardToClient6(uint32_t idx, uint8_t* frame,
                               const wire::PacketInfo& info, uint64_t now_ns);
  int FindBackend6(const wire::Ipv6Address& ip, uint16_t port,
                   uint16_t* vport) const;
  // The pseudo-header's change when the VIP becomes backend b's address
  // (its ones'-complement sum; the reverse is its complement), kept per
  // backend: IPv6 addresses are 8 words each.
  void SetAddressDeltas(int b);

  void CountBackend(int b, BackendCounter c, int64_t n = 1) {
    backends_[b].counts[static_cast<size_t>(c)] += n;
  }

  ProxyConfig config_;
  flow::FlowHasher hasher_;
  tcp::SynCookies cookies_;
  flow::FlowTable table_;
  flow::IndexPool pool_;
  std::unique_ptr<ProxyRecord[]> records_;
  std::vector<ProxyBackendState> backends_;
  // IPv6 (config_.ipv6) only: the table, the clients' addresses by record,
  // and each backend's pseudo-header delta (SetAddressDeltas).
  flow::FlowHasher6 hasher6_;
  flow::FlowTable6 table6_;
  std::unique_ptr<wire::Ipv6Address[]> client6_;
  uint32_t to_backend_sum_[kMaxProxyBackends] = {};
  ProxyOutput* out_ = nullptr;
  uint64_t counts_[static_cast<size_t>(ProxyCounter::kCount)] = {};
  uint32_t sweep_at_ = 0;        // next record the sweep looks at
  uint64_t next_sweep_ns_ = 0;
  uint64_t next_probe_ns_ = 0;
  uint32_t probe_seq_ = 0x5eed0001;
  // PrepareSyns' burst: for slot i, the index of its cookie (or 0xff).
  uint16_t prepared_n_ = 0;
  uint64_t prepared_ns_ = 0;
  uint8_t syn_index_[kMaxPrepared];
  // The SYNs' tuples, ISNs and MSS options (members: local arrays of
  // types with default values would be cleared on every call).
  flow::FlowKey prepared_keys_[kMaxPrepared];
  flow::FlowKey6 prepared_keys6_[kMaxPrepared];
  wire::SeqNum prepared_seqs_[kMaxPrepared];
  uint16_t prepared_mss_[kMaxPrepared];
  wire::SeqNum prepared_cookie_[kMaxPrepared];
  uint32_t prepared_aux_[kMaxPrepared];
};

}  // namespace synwave::app

#endif  // SYNWAVE_APP_PROXY_CORE_H_
