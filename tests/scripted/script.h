// Packet scripts: a packetdrill-like language for driving the real worker
// loop (engine::Worker on an in-memory net_ring port, tests/engine's
// RingHarness) with a virtual clock and deterministic loss, and the runner
// that plays the peer and checks every segment the endpoint sends.
//
// Why: a TCP behaviour is a conversation. Written as the segments on the
// wire, it reads like the RFC text and like the traces of other stacks
// (Linux selftests/net/packetdrill), and it exercises everything between the
// NIC queue and the application: parsing, the flow table, the state machine,
// timers, the application (app::Responder, as `synwave serve` runs it),
// TX batching and mbuf ownership.
//
// FORMAT (tests/scripted/README.md has the long version)
//
// One event per line; `//` or `#` starts a comment. A line is
//   [TIME] BODY
// TIME is absolute (`0.500`, seconds of virtual time since the script
// started) or relative to the previous event's scripted time (`+0.1`);
// omitted, it is the previous event's time.
//
//   config KEY=VALUE ...     before the first event; see ScriptConfig below
//                            (`mode=client`: the endpoint is the client, see
//                            CLIENT MODE)
//   < SEGMENT                the peer (the test) sends SEGMENT
//   > SEGMENT                the endpoint must send SEGMENT, next, at TIME
//                            (within `tolerance`)
//   > nothing                the endpoint sends nothing up to TIME
//   run TIME                 advance the clock to TIME (polling every tick);
//                            what is sent meanwhile is left for the `>`
//                            lines that follow
//   drop next [N] >          the next N (1) segments the endpoint sends are
//                            lost on the wire (the runner never sees them)
//   drop next [N] <          the next N (1) `<` segments are lost on the wire
//   expect counter NAME OP N a counter or gauge by its published name
//                            (engine::CounterName / GaugeName), OP one of
//                            == != < <= > >=
//   expect state STATE OP N  TcpStack::StateCount (RFC names: ESTABLISHED,
//                            SYN-RECEIVED, TIME-WAIT, ... `_` may stand for
//                            `-`)
//   expect app requests|responses OP N   the Responder's counts (client
//                            mode: the Generator's, and also attempted,
//                            connected, completed, failed_refused,
//                            failed_timeout, failed_reset, failed_other,
//                            tuples_busy, open)
//   expect isn after previous  the connection's ISN (learned from its latest
//                            SYN-ACK) lies above everything the previous
//                            incarnation of the 4-tuple sent (RFC 6191)
//
// SEGMENT, packetdrill syntax:
//   [@PORT] FLAGS START:END(LEN) [ack N] [win N] [<OPTIONS>] ["PAYLOAD"]
// FLAGS: letters F S R P U E W and `.` for ACK (S. R. F. P. FP. ...).
// START:END(LEN): sequence numbers relative to the sender's ISN: the peer's
// is `peer_isn`; the endpoint's is learned from each SYN or SYN-ACK it sends
// with a new sequence number (until then the endpoint's numbers are
// absolute, e.g. the RST to a closed port). `ack` is relative to the other
// side's ISN. Negative values wrap (mod 2^32).
// @PORT: the peer's port for this segment (default `sport`), so one script
// can run several connections; each has its own endpoint ISN.
// OPTIONS: comma-separated `mss N`, `wscale N`, `sackOK`,
// `TS val X ecr Y`, `sack L:R ...`, `nop`, `eol`.
//   On `<` lines they are written in that order; `ecr *` echoes the TSval
//   of the endpoint's latest segment on the connection. Payload bytes are
//   LEN bytes of 'a'..'z', or PAYLOAD (C escapes \r \n \t \\ \" \xHH; its
//   length must be LEN). `win` defaults to 65535; `ack` is required with `.`.
//   On `>` lines every field written is compared: flags exactly, START and
//   LEN, `ack` and `win` if written, PAYLOAD bytes if written, and the
//   options if a list is written: the same set of options (order, NOP and
//   EOL ignored), each with its value; `val`, `ecr`, `mss`, `wscale` may be
//   `*`. `<>` means no options; without a list they are not compared.
//
// CLIENT MODE (`config mode=client`): the application is an
// app::Generator that connects from our address, port `dport` (default
// 40000, the only client port, so every tuple is known), to the peer's
// address, port `sport` (default 80), one connection at a time, until it has
// opened `connections` (1) of them. The endpoint's ISN is learned from its
// SYN. Nothing listens unless `listen` is given.
//
// ARP requests for the peer's address are answered at once (another
// iteration at the same time), as the host on the link would; they are not
// matched by `>` lines.
//
// FAMILIES: every script runs twice, over IPv4 and over IPv6 (RunScript's
// `family`). The runner maps the addresses (peer 198.18.0.1 / fd00::1, us
// 198.18.0.2 / fd00::2), answers Neighbor Solicitations for the peer as it
// answers ARP requests, and advertises the script's `mss` over IPv6 too
// (TcpConfig::mss6 = mss), so a script reads the same in both families.
// Where the behaviour differs by family (the default MSS, the cookie MSS
// table, a listener per address of a dual-stack worker), a line may start
// (after its time) with `ipv4:` or `ipv6:`: it is an event of that family's
// run only. `config family=ipv4` (or `ipv6`) runs a whole script over one
// family only; its header comment says why.
//
// Each script runs in a fresh harness. The runner fails the script on the
// first difference, naming the line, the expected and the actual segment
// (rendered in the same syntax) and the last events. Segments the endpoint
// sends that no `>` line claims fail it too: one pending when a `<`,
// `expect` or `> nothing` line is reached, or at the end. At the end every
// mbuf of both pools must be back.
#ifndef SYNWAVE_TESTS_SCRIPTED_SCRIPT_H_
#define SYNWAVE_TESTS_SCRIPTED_SCRIPT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "app/generator.h"
#include "app/responder.h"
#include "engine/worker.h"

namespace synwave::scripted {

inline constexpr int64_t kNsPerSecond = 1'000'000'000;

// The IP version a script runs over (see FAMILIES).
enum class Family : uint8_t { kIpv4, kIpv6 };
std::string_view FamilyName(Family f);  // "ipv4", "ipv6"

// What `config` lines set; the defaults are the runner's, chosen so a
// script without config is a small server on port 80 with the library's
// TCP defaults (pools shrunk to what a script uses).
struct ScriptConfig {
  engine::WorkerConfig worker;        // tcp.* and listen ports included
  app::ResponderConfig responder;     // close, request/response bytes
  bool app = true;         // app=responder (default) | app=none
  // mode=client: the endpoint connects out (an app::Generator), not a
  // server. `generator` holds close, request/response bytes, requests;
  // servers and client tuple are set from `sport` and `dport` at run time.
  bool client = false;
  app::GeneratorConfig generator;
  uint32_t connections = 1;  // client: connections opened, one at a time
  uint16_t dport = 80;     // the endpoint's port (client mode: 40000)
  uint16_t sport = 40000;  // the peer's default port (client mode: 80)
  uint32_t peer_isn = 1000;
  int64_t tick_ns = 1'000'000;       // polling step while time passes
  int64_t tolerance_ns = 5'000'000;  // allowed lateness/earliness of `>`
  // family=ipv4|ipv6|both: the families the script runs over.
  bool ipv4 = true;
  bool ipv6 = true;

  bool RunsOver(Family f) const { return f == Family::kIpv4 ? ipv4 : ipv6; }

  ScriptConfig();
};

struct OptionSpec {
  enum class Kind : uint8_t { kNop, kEol, kMss, kWscale, kSackOk, kTs, kSack };
  Kind kind = Kind::kNop;
  uint32_t a = 0;  // mss, wscale, TS val
  uint32_t b = 0;  // TS ecr
  bool a_any = false;  // `*`
  bool b_any = false;
  std::vector<std::pair<int64_t, int64_t>> sack;  // blocks, relative
};

struct SegmentSpec {
  std::optional<uint16_t> peer_port;
  uint8_t flags = 0;
  int64_t start = 0;
  int64_t end = 0;
  uint32_t len = 0;
  std::optional<int64_t> ack;
  std::optional<uint16_t> window;
  std::optional<std::vector<OptionSpec>> options;
  std::optional<std::string> payload;
};

struct Event {
  enum class Kind : uint8_t {
    kInbound,       // <
    kOutbound,      // >
    kNothing,       // > nothing
    kRun,           // run TIME
    kDropNext,      // drop next [N] < | >
    kExpectCounter,
    kExpectState,
    kExpectApp,
    kExpectIsnAfterPrevious,
  };
  Kind kind = Kind::kInbound;
  int line = 0;
  std::string text;  // the line as written, comments stripped
  std::optional<Family> only;  // `ipv4:` / `ipv6:` lines: that run only
  int64_t time_ns = 0;  // absolute script time
  SegmentSpec seg;
  bool drop_outbound = false;  // kDropNext
  uint32_t drop_count = 1;
  std::string name;  // counter, state or app figure
  std::string op;    // == != < <= > >=
  uint64_t value = 0;
};

struct Script {
  ScriptConfig config;
  std::vector<Event> events;
};

// Parses a script; errors name the line ("line 12: ...").
absl::StatusOr<Script> ParseScript(std::string_view text);

// Runs `script` over `family` in a fresh harness. Returns the empty string
// on success, else the failure report. `name` labels the report.
std::string RunScript(const Script& script, std::string_view name,
                      Family family = Family::kIpv4);

}  // namespace synwave::scripted

#endif  // SYNWAVE_TESTS_SCRIPTED_SCRIPT_H_
