// The commands that work on reports and files rather than on a port, and
// need no EAL:
//   synwave report merge A.json B.json ... -o ALL.json
//   synwave plot REPORT.json -o run.png
//   synwave secret generate PATH
// Each returns the process's exit code (0, 1 on failure, 2 on bad usage),
// printing a one-line error.
#ifndef SYNWAVE_CONTROL_TOOLS_H_
#define SYNWAVE_CONTROL_TOOLS_H_

#include <string_view>

namespace synwave::control {

// True if argv[1] names one of these commands.
bool IsTool(int argc, char** argv);
int RunTool(int argc, char** argv);

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_TOOLS_H_
