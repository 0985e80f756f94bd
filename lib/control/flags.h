// The synwave command line: its flags, the usage text, and the way from
// argv (and a --config file) to a validated Config.
//
// Every flag is defined in flags.cc, and every default is taken from the
// typed structs (Config, LoadSettings, tcp::TcpConfig, ...), so it is
// written once: `synwave --help` shows the defaults the run really gets.
// Each rule is checked in one place: a numeric flag's range as the flag is
// read (before its value is narrowed into the typed field), the rules on
// the typed config and across fields in Validate (config.h). Errors are one
// line naming the flag; the binary prints them and exits with code 2.
#ifndef SYNWAVE_CONTROL_FLAGS_H_
#define SYNWAVE_CONTROL_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "control/config.h"

namespace synwave::control {

// What the command line asks for.
struct Invocation {
  enum class Action : uint8_t {
    kRun,        // serve, load or loopback with `config`
    kHelp,       // --help or `help`: the usage on stdout, exit 0
    kNoCommand,  // nothing to do: the usage on stderr, exit 2
    kVersion,    // `version`
  };
  Action action = Action::kRun;
  Config config;
};

// Parses argv: the command, the flags, the --config file (flags on the
// command line win), then the Config (ConfigFromFlags). A usage error is
// an InvalidArgument status whose message names the flag.
absl::StatusOr<Invocation> ParseInvocation(int argc, char** argv);

// The usage text: the commands and every flag with its default and help.
std::string Usage();

// The flags' current values -> a validated Config for `mode`.
absl::StatusOr<Config> ConfigFromFlags(Mode mode);

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_FLAGS_H_
