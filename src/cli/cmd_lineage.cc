// `weft lineage REF [--downstream] [--json]`: where an object came from, or who used it; on the
// workspace or through a server (--server), printing the same.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "app/views.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/remote_args.h"

namespace weft::cli {
namespace {

std::string Line(const Json& n, bool downstream) {
  std::string kind = TextOf(n, "kind");
  bool repeated = n.Find("repeated") != nullptr;
  if (kind == "value") return fmt::format("{} = {}", TextOf(n, "input"), TextOf(n, "value"));
  if (kind == "step") {
    std::string status = TextOf(n, "status");
    std::string how = status == "reused" ? "reused from " + TextOf(n, "reused_run") : status;
    std::string line = downstream
                           ? fmt::format("input {} of step {} in run {} ({})", TextOf(n, "input"),
                                         TextOf(n, "step"), TextOf(n, "run"), how)
                           : fmt::format("made by step {} in run {} ({})", TextOf(n, "step"),
                                         TextOf(n, "run"), how);
    return repeated ? line + "  (outputs shown above)" : line;
  }
  std::string port = TextOf(n, "port");
  std::string line = port.empty() ? "" : port + "  ";
  line += TextOf(n, "digest").substr(0, 19);  // sha256: and 12 digits
  std::string assets;
  for (const Json& a : *n.Find("assets")->Items()) {
    assets += fmt::format("{}{} {}:{}", assets.empty() ? "" : ", ", TextOf(a, "kind"),
                          TextOf(a, "name"), TextOf(a, "version"));
  }
  if (!assets.empty()) line += "  [" + assets + "]";
  if (!TextOf(n, "source").empty()) line += "  from " + TextOf(n, "source");
  if (repeated) line += "  (shown above)";
  return line;
}

void Print(const Json& n, bool downstream, const std::string& indent, bool last, bool root) {
  fmt::print("{}{}{}\n", indent, root ? "" : last ? "└── " : "├── ", Line(n, downstream));
  std::string next = root ? "" : indent + (last ? "    " : "│   ");
  const Json::Array& children = *n.Find("children")->Items();
  for (size_t i = 0; i < children.size(); ++i) {
    Print(children[i], downstream, next, i + 1 == children.size(), false);
  }
}

}  // namespace

std::function<int()> SetupLineage(CLI::App& sub) {
  struct Options {
    Target target;
    std::string ref;
    bool downstream = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("ref", o->ref,
                 "sha256:DIGEST (or 8+ leading digits), RUN/STEP.OUTPUT, or a data or model asset "
                 "NAME:VERSION / NAME@latest")
      ->required();
  sub.add_flag("--downstream", o->downstream, "who used it, instead of where it came from");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<Json> j = o->target.Do(
        [&](app::Session& session) {
          return app::LineageJson(session.meta(), app::LocalAdmin(), o->ref, o->downstream);
        },
        "GET",
        "/lineage?ref=" + QueryValue(o->ref) +
            "&direction=" + (o->downstream ? "downstream" : "upstream"));
    if (!j.ok()) return Fail(j.status());
    if (o->json) {
      fmt::print("{}\n", j->Dump());
      return 0;
    }
    fmt::print("{}\n", TextOf(*j, "described"));
    Print(*j->Find("tree"), o->downstream, "", true, true);
    return 0;
  };
}

}  // namespace weft::cli
