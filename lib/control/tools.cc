#include "control/tools.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/report.h"
#include "control/report_merge.h"
#include "control/secret.h"

#ifndef SYNWAVE_SOURCE_DIR
#define SYNWAVE_SOURCE_DIR "."
#endif

namespace synwave::control {
namespace {

constexpr char kToolsUsage[] =
    "usage: synwave report merge A.json B.json ... -o ALL.json\n"
    "       synwave plot REPORT.json -o PICTURE.png\n"
    "       synwave secret generate PATH\n";

int Usage(const std::string& why) {
  std::fprintf(stderr, "synwave: %s\n%s", why.c_str(), kToolsUsage);
  return 2;
}

int Failed(const absl::Status& s) {
  std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
  return absl::IsInvalidArgument(s) ? 2 : 1;
}

// Splits args into inputs and the -o/--output value.
bool TakeOutput(std::vector<std::string>& args, std::string* output) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-o" || a == "--output") && i + 1 < args.size()) {
      *output = args[++i];
    } else if (a.rfind("--output=", 0) == 0) {
      *output = a.substr(9);
    } else if (a.rfind("-o", 0) == 0 && a.size() > 2) {
      *output = a.substr(2);
    } else {
      rest.push_back(a);
    }
  }
  args = rest;
  return !output->empty();
}

int ReportMerge(std::vector<std::string> args) {
  std::string output;
  if (!TakeOutput(args, &output)) return Usage("report merge: no -o OUTPUT");
  if (args.size() < 2) return Usage("report merge: give two reports or more");
  std::vector<NamedReport> reports;
  for (const std::string& path : args) {
    std::ifstream in(path);
    if (!in) return Usage(absl::StrCat("report merge: cannot read '", path, "'"));
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return Usage(absl::StrCat("report merge: '", path, "' is not JSON"));
    }
    reports.push_back({path, std::move(j)});
  }
  absl::StatusOr<nlohmann::json> merged = MergeReports(reports);
  if (!merged.ok()) return Failed(merged.status());
  if (absl::Status s = WriteJson(output, *merged); !s.ok()) return Failed(s);
  std::printf("merged %zu reports into %s: %s connections completed, %.0f conn/s "
              "over %.1f s\n",
              reports.size(), output.c_str(),
              (*merged)["connections"].value("completed", nlohmann::json(0)).dump().c_str(),
              (*merged)["cps"]["mean"].get<double>(),
              (*merged)["duration_s"].get<double>());
  return 0;
}

// The picture is drawn by synwave-plot (Python and matplotlib), installed
// beside this binary, or found in the source tree of a build.
int Plot(int argc, char** argv) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("SYNWAVE_PLOT"); env != nullptr) {
    candidates.push_back(env);
  }
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string dir(self);
    dir = dir.substr(0, dir.rfind('/'));
    candidates.push_back(dir + "/synwave-plot");
  }
  candidates.push_back(std::string(SYNWAVE_SOURCE_DIR) + "/scripts/synwave-plot");
  for (const std::string& script : candidates) {
    if (::access(script.c_str(), X_OK) != 0) continue;
    std::vector<char*> args;
    args.push_back(const_cast<char*>(script.c_str()));
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    ::execv(script.c_str(), args.data());
    std::perror("synwave: plot");
    return 1;
  }
  std::fprintf(stderr, "synwave: plot: synwave-plot not found (beside synwave, "
                       "or set SYNWAVE_PLOT)\n");
  return 1;
}

}  // namespace

bool IsTool(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string c = argv[1];
  return c == "report" || c == "plot" || c == "secret";
}

int RunTool(int argc, char** argv) {
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "plot") return Plot(argc, argv);
  if (command == "report") {
    if (args.empty() || args[0] != "merge") {
      return Usage("report: the only subcommand is merge");
    }
    args.erase(args.begin());
    return ReportMerge(std::move(args));
  }
  // secret
  if (args.size() != 2 || args[0] != "generate") {
    return Usage("secret: synwave secret generate PATH");
  }
  if (absl::Status s = GenerateSecret(args[1]); !s.ok()) return Failed(s);
  std::printf("wrote a new secret to %s (mode 0600): give every front end "
              "behind the same ECMP the same file, --secret-file=%s\n",
              args[1].c_str(), args[1].c_str());
  return 0;
}

}  // namespace synwave::control
