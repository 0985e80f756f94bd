#include "control/command_line.h"

#include <algorithm>
#include <map>
#include <toml++/toml.h>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace synwave::control {
namespace {

// Flag names use underscores in Abseil and dashes on our command line
// (--stats-interval); both spellings are accepted.
std::string Canonical(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"-", "_"}});
}

std::string Dashed(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"_", "-"}});
}

absl::Status SetFlag(absl::CommandLineFlag* flag, absl::string_view value,
                     bool append) {
  std::string v(value);
  if (append) {
    const std::string cur = flag->CurrentValue();
    if (!cur.empty()) v = absl::StrCat(cur, std::string(1, kRepeatSeparator), value);
  }
  std::string error;
  if (!flag->ParseFrom(v, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", Dashed(flag->Name()), ": bad value '", value, "': ", error));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(
    int argc, const char* const* argv,
    const std::set<std::string>& repeatable) {
  CommandLine cl;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      cl.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      cl.help = true;
      continue;
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    absl::string_view name = arg;
    absl::string_view value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    std::string canonical = Canonical(name);
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(canonical);
    bool negated = false;
    if (flag == nullptr && !has_value && canonical.rfind("no", 0) == 0) {
      flag = absl::FindCommandLineFlag(canonical.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr || flag->IsRetired()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": unknown flag (see synwave --help)"));
    }
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = negated ? "false" : "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, ": missing value"));
      }
    }
    const bool append =
        repeatable.contains(std::string(flag->Name())) &&
        cl.given.contains(std::string(flag->Name()));
    if (absl::Status s = SetFlag(flag, value, append); !s.ok()) return s;
    cl.given.insert(std::string(flag->Name()));
  }
  return cl;
}

std::vector<std::string> SplitRepeated(const std::string& value) {
  if (value.empty()) return {};
  return absl::StrSplit(value, kRepeatSeparator);
}

absl::Status ApplyConfigFile(const std::string& path,
                             const std::set<std::string>& given,
                             const std::set<std::string>& repeatable) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return absl::InvalidArgumentError(
        absl::StrCat("--config: ", path, ":", where.line, ":", where.column,
                     ": ", std::string(e.description())));
  }
  for (const auto& [toml_key, node] : table) {
    const std::string key_text(toml_key.str());
    const std::string name = Canonical(key_text);
    if (name == "config") {
      return absl::InvalidArgumentError(
          absl::StrCat("--config: ", path, ": 'config' cannot nest"));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || flag->IsRetired()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--config: ", path, ": unknown key '", key_text, "'"));
    }
    if (given.contains(name)) continue;  // the command line wins
    auto to_text = [&](const toml::node& n) -> std::optional<std::string> {
      if (auto s = n.value<std::string>()) return *s;
      if (auto b = n.value_exact<bool>()) return *b ? "true" : "false";
      if (auto i = n.value_exact<int64_t>()) return absl::StrCat(*i);
      if (auto d = n.value_exact<double>()) return absl::StrCat(*d);
      return std::nullopt;
    };
    std::string text;
    if (const toml::array* arr = node.as_array()) {
      std::vector<std::string> parts;
      for (const toml::node& n : *arr) {
        std::optional<std::string> t = to_text(n);
        if (!t) {
          return absl::InvalidArgumentError(absl::StrCat(
              "--config: ", path, ": '", key_text, "' has a nested value"));
        }
        parts.push_back(*t);
      }
      text = absl::StrJoin(
          parts, repeatable.contains(name) ? std::string(1, kRepeatSeparator)
                                           : std::string(","));
    } else if (std::optional<std::string> t = to_text(node)) {
      text = *t;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--config: ", path, ": '", key_text, "' is not a plain value"));
    }
    if (absl::Status s = SetFlag(flag, text, false); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--config: ", path, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

std::string FlagsHelp(absl::string_view path_filter) {
  std::map<std::string, absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->Filename().find(std::string(path_filter)) != std::string::npos) {
      flags.emplace(Dashed(name), flag);
    }
  }
  std::string out;
  for (const auto& [name, flag] : flags) {
    std::string def = flag->DefaultValue();
    absl::StrAppend(&out, "  --", name,
                    def.empty() ? "" : absl::StrCat("=", def).c_str(), "\n",
                    "      ", flag->Help(), "\n");
  }
  return out;
}

}  // namespace synwave::control
