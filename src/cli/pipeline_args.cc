#include "cli/pipeline_args.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "base/status.h"
#include "assets/registry.h"
#include "workspace/workspace.h"
#include "meta/meta.h"
#include "meta/sqlite_meta.h"
#include "spec/registry.h"
#include "store/store.h"

namespace weft::cli {

void PipelineArgs::AddTo(CLI::App& sub) {
  sub.add_option("file", file, "the pipeline job YAML file (Azure ML CLI v2)")->required();
  sub.add_option("--set", sets,
                 "override a pipeline input: --set inputs.NAME=VALUE (typed by the declared type)")
      ->take_all();
}

struct FoundRegistry::Parts {
  ws::Workspace ws;
  std::unique_ptr<meta::MetaStore> meta;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<spec::Registry> registry;
};

FoundRegistry::FoundRegistry() : parts_(std::make_unique<Parts>()) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string dir;
  if (const char* env = std::getenv("WEFT_WORKSPACE"); env != nullptr && *env) {
    dir = env;
  } else {
    for (fs::path p = fs::current_path(ec); !ec; p = p.parent_path()) {
      if (fs::exists(p / ".weft" / "weft.db", ec)) {
        dir = (p / ".weft").string();
        break;
      }
      if (p == p.parent_path()) break;
    }
  }
  if (!dir.empty() && fs::exists(fs::path(dir) / "weft.db", ec)) {
    Diagnostics ignored;  // `weft run` reports the configuration's problems
    Result<ws::Workspace> ws = ws::OpenWorkspace(dir, fs::current_path(ec).string(), ignored);
    Result<std::unique_ptr<meta::MetaStore>> meta =
        ws.ok() ? meta::OpenSqliteMeta(ws->db_path()) : Result<std::unique_ptr<meta::MetaStore>>(ws.status());
    if (meta.ok()) {
      parts_->ws = std::move(*ws);
      parts_->meta = std::move(*meta);
      parts_->store = std::make_unique<store::Store>(parts_->ws.store_dir());
      parts_->registry =
          std::make_unique<assets::WorkspaceRegistry>(parts_->ws, *parts_->meta, *parts_->store);
      return;
    }
  }
  parts_->registry = std::make_unique<spec::EmptyRegistry>();
}

FoundRegistry::~FoundRegistry() = default;

const spec::Registry& FoundRegistry::get() const { return *parts_->registry; }

const ws::Workspace& FoundRegistry::workspace() const { return parts_->ws; }

namespace {

// Data inputs given as URIs (datastore paths, mirrored URLs) read from where the workspace keeps
// them; one that is nowhere is an error at the place the input is written.
void LocateUris(const spec::Registry& registry, graph::Graph& graph, Diagnostics& diags) {
  for (graph::Step& step : graph.steps) {
    for (graph::StepInput& in : step.inputs) {
      graph::ValueSource& src = in.source;
      if (src.kind != graph::ValueSource::Kind::kData || !src.local_path.empty()) continue;
      std::optional<spec::UriLocation> at = registry.LocateUri(src.uri);
      if (!at) continue;
      if (!at->error.empty()) {
        diags.Error(src.loc, fmt::format("input `{}` of job `{}`: {}", in.name, step.name, at->error),
                    at->hint);
      } else {
        src.local_path = at->path;
      }
    }
  }
}

}  // namespace

std::unique_ptr<LoadedGraph> LoadGraph(const PipelineArgs& args, const spec::Registry& registry,
                                       std::FILE* err, int* exit_code) {
  auto out = std::make_unique<LoadedGraph>();
  graph::BuildOptions options;
  for (const std::string& s : args.sets) {
    size_t eq = s.find('=');
    if (s.rfind("inputs.", 0) != 0 || eq == std::string::npos || eq == 7) {
      std::fprintf(err, "error: --set %s: expected inputs.NAME=VALUE\n", s.c_str());
      *exit_code = kExitInvalid;
      return nullptr;
    }
    options.set_inputs.emplace_back(s.substr(7, eq - 7), s.substr(eq + 1));
  }
  out->pipeline = spec::LoadPipeline(args.file, registry, out->diags);
  if (out->pipeline) out->graph = graph::Build(*out->pipeline, options, out->diags);
  if (!out->diags.has_errors()) LocateUris(registry, out->graph, out->diags);
  std::string report = out->diags.FormatAll();
  std::fputs(report.c_str(), err);
  if (!out->pipeline || out->diags.has_errors()) {
    std::fprintf(err, "%s: invalid: %zu error%s, %zu warning%s\n", args.file.c_str(),
                 out->diags.error_count(), out->diags.error_count() == 1 ? "" : "s",
                 out->diags.warning_count(), out->diags.warning_count() == 1 ? "" : "s");
    *exit_code = kExitInvalid;
    return nullptr;
  }
  *exit_code = kExitOk;
  return out;
}

}  // namespace weft::cli
