// Command-line and config-file parsing over Abseil flags, with synwave's
// error contract: any bad flag, unknown flag or bad value is a one-line error
// that names the flag, and the caller exits with code 2.
//
// Abseil's own ParseCommandLine exits with code 1 and cannot tell which flags
// the user gave, which we need so that flags override the config file. So we
// walk argv ourselves and let each flag parse its value through the public
// reflection API (CommandLineFlag::ParseFrom): the flag definitions, types,
// defaults and help texts stay Abseil's. Repeatable flags (string flags such
// as --port) accumulate their values joined by kRepeatSeparator, a newline:
// a value itself may hold commas (net_tap0,iface=sw0), never a newline.
#ifndef SYNWAVE_CONTROL_COMMAND_LINE_H_
#define SYNWAVE_CONTROL_COMMAND_LINE_H_

#include <set>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace synwave::control {

inline constexpr char kRepeatSeparator = '\n';

// The values of a repeatable flag.
std::vector<std::string> SplitRepeated(const std::string& value);

struct CommandLine {
  std::vector<std::string> positional;  // the subcommand and its arguments
  std::set<std::string> given;          // flags set on the command line
  bool help = false;                    // --help / -h seen
};

// Parses argv[1..]. `repeatable` names flags whose repeated use appends.
// Accepts --name=value, --name value, --bool, --nobool, and "--" to end flags.
absl::StatusOr<CommandLine> ParseCommandLine(
    int argc, const char* const* argv, const std::set<std::string>& repeatable);

// Sets flags from a TOML file whose top-level keys are flag names (dashes or
// underscores). Flags in `given` are left alone: the command line wins.
// Arrays are the repeated values of a repeatable flag, or else become one
// comma-separated value.
absl::Status ApplyConfigFile(const std::string& path,
                             const std::set<std::string>& given,
                             const std::set<std::string>& repeatable);

// Help text for every flag defined in files whose path contains
// `path_filter`, sorted by name: "  --name=<default>  help".
std::string FlagsHelp(absl::string_view path_filter);

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_COMMAND_LINE_H_
