#include "app/pipeline.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "assets/datastore.h"
#include "assets/registry.h"
#include "base/fs.h"
#include "engine/plan.h"
#include "env/environment.h"
#include "spec/expr.h"
#include "meta/sqlite_meta.h"
#include "store/store.h"

namespace weft::app {

engine::RunRequest LoadedGraph::Request(const engine::RunOptions& options) const {
  engine::RunRequest request{pipeline.get(), &graph, options, nullptr, {}};
  for (const Diagnostic& d : diags.Sorted()) {
    if (d.severity == Severity::kWarning) request.load_warnings.push_back(d.Format());
  }
  return request;
}

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

// Data a confined pipeline reads by path must be among its own files, and the datastores it reads
// from or publishes to among those it is granted; registered assets and mirrored URLs are the
// workspace's to give.
void ConfineData(const std::vector<std::string>& roots, const std::vector<std::string>& datastores,
                 const spec::PipelineJob& job, const graph::Graph& g, Diagnostics& diags) {
  auto granted = [&](const std::string& datastore) {
    return !datastore.empty() &&
           std::find(datastores.begin(), datastores.end(), datastore) != datastores.end();
  };
  std::string default_datastore = job.settings.default_datastore;
  if (default_datastore.rfind("azureml:", 0) == 0) default_datastore = default_datastore.substr(8);
  if (default_datastore.empty()) default_datastore = "workspaceblobstore";
  for (const graph::Step& step : g.steps) {
    for (const graph::StepInput& in : step.inputs) {
      const graph::ValueSource& v = in.source;
      if (v.kind != graph::ValueSource::Kind::kData || v.local_path.empty()) continue;
      bool by_path = !spec::IsUri(v.uri) || v.uri.find("/datastores/") != std::string::npos;
      if (!by_path || granted(assets::DatastoreName(v.uri))) continue;
      bool inside = false;
      for (const std::string& root : roots) inside = inside || IsWithin(v.local_path, root);
      if (!inside) {
        diags.Error(v.loc, fmt::format("input `{}` of step `{}` reads `{}`, outside the files "
                                       "submitted with this pipeline",
                                       in.name, step.name, v.uri),
                    "a pipeline submitted to a server reads only the files uploaded with it, "
                    "registered data assets and the datastores its project is granted");
      }
    }
    for (const graph::StepOutput& out : step.outputs) {
      if (out.PublishPath().empty()) continue;
      std::string datastore =
          assets::DatastoreName(out.PublishPath(), {step.name, out.name, default_datastore});
      if (granted(datastore)) continue;
      const spec::OutputValue* at = out.setting && !out.setting->path.empty() ? out.setting : out.pipeline_setting;
      diags.Error(at->path.loc,
                  fmt::format("output `{}` of step `{}` is published to `{}`: its project is not "
                              "granted datastore `{}`",
                              out.name, step.name, out.PublishPath(), datastore),
                  "a server's admin grants it: weft project datastores PROJECT --grant NAME");
    }
  }
}


// `--set settings.NAME=VALUE` (and a schedule's `create_job.settings`): the pipeline's settings
// that a run may change.
Status SetSettings(spec::Settings& st, const std::vector<std::pair<std::string, std::string>>& sets) {
  for (const auto& [name, value] : sets) {
    if (name == "continue_on_step_failure" || name == "force_rerun") {
      bool& flag = name == "force_rerun" ? st.force_rerun : st.continue_on_step_failure;
      if (value == "true" || value == "True") {
        flag = true;
      } else if (value == "false" || value == "False") {
        flag = false;
      } else {
        return Status::Invalid(fmt::format("--set settings.{}={}: expected true or false", name, value));
      }
    } else if (name == "default_compute") {
      st.default_compute = value;
    } else if (name == "default_datastore") {
      st.default_datastore = value;
    } else {
      return Status::Invalid(fmt::format(
          "--set settings.{}: a run may set continue_on_step_failure, force_rerun, default_compute "
          "and default_datastore",
          name));
    }
  }
  return Status::Ok();
}

// `--set outputs.NAME=PATH` (and a schedule's `create_job.outputs`): where a pipeline output is
// published (a datastore path, which may hold ${{name}} and the like), as its `path:` would say.
Status SetOutputPaths(spec::PipelineJob& job,
                      const std::vector<std::pair<std::string, std::string>>& paths) {
  for (const auto& [name, path] : paths) {
    auto it = std::find_if(job.outputs.begin(), job.outputs.end(),
                           [&](const auto& o) { return o.first == name; });
    if (it == job.outputs.end()) {
      return Status::Invalid(fmt::format("--set outputs.{}: the pipeline has no output `{}`", name, name));
    }
    std::vector<spec::ScanError> errors;
    spec::Template tmpl = spec::Scan(path, &errors);
    if (!errors.empty()) {
      return Status::Invalid(fmt::format("--set outputs.{}={}: {}", name, path, errors[0].message));
    }
    it->second.path = spec::Text{path, it->second.loc, std::move(tmpl)};
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LoadedGraph>> LoadGraph(const PipelineSource& source,
                                               const spec::Registry& registry) {
  auto out = std::make_unique<LoadedGraph>();
  graph::BuildOptions options;
  if (!source.base_dir.empty()) options.base_dir = source.base_dir;
  options.roots = source.roots;
  std::vector<std::pair<std::string, std::string>> settings, outputs;
  for (const std::string& s : source.sets) {
    size_t eq = s.find('=');
    bool input = s.rfind("inputs.", 0) == 0 && eq != std::string::npos && eq > 7;
    bool setting = s.rfind("settings.", 0) == 0 && eq != std::string::npos && eq > 9;
    bool output = s.rfind("outputs.", 0) == 0 && eq != std::string::npos && eq > 8;
    if (!input && !setting && !output) {
      return Status::Invalid(fmt::format(
          "--set {}: expected inputs.NAME=VALUE, settings.NAME=VALUE or outputs.NAME=PATH", s));
    }
    (input ? options.set_inputs : setting ? settings : outputs)
        .emplace_back(s.substr(s.find('.') + 1, eq - s.find('.') - 1), s.substr(eq + 1));
  }
  spec::LoadOptions load;
  load.roots = source.roots;
  out->pipeline = spec::LoadPipeline(source.file, registry, out->diags, load);
  if (out->pipeline) {
    if (Status s = SetSettings(out->pipeline->job.settings, settings); !s.ok()) return s;
    if (Status s = SetOutputPaths(out->pipeline->job, outputs); !s.ok()) return s;
    out->graph = graph::Build(*out->pipeline, options, out->diags);
  }
  if (!out->diags.has_errors()) LocateUris(registry, out->graph, out->diags);
  if (!source.roots.empty() && out->pipeline) {
    ConfineData(source.roots, registry.GrantedDatastores(), out->pipeline->job, out->graph,
                out->diags);
  }
  return out;
}

void CheckBeforeRun(const graph::Graph& graph, const ws::Workspace& ws, Diagnostics& diags) {
  env::Environments envs(ws, true);
  engine::CheckEnvironments(graph, envs, diags);
  engine::CheckCodeFolders(graph, diags);
}

struct FoundRegistry::Parts {
  ws::Workspace ws;
  std::unique_ptr<meta::MetaStore> meta;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<spec::Registry> registry;
};

FoundRegistry::FoundRegistry(const std::string& cwd, const Os& os) : parts_(std::make_unique<Parts>()) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string dir = os.GetEnv("WEFT_WORKSPACE").value_or("");
  if (dir.empty()) {
    for (fs::path p = cwd; !p.empty(); p = p.parent_path()) {
      if (fs::exists(p / ".weft" / "weft.db", ec)) {
        dir = (p / ".weft").string();
        break;
      }
      if (p == p.parent_path()) break;
    }
  }
  if (!dir.empty() && fs::exists(fs::path(dir) / "weft.db", ec)) {
    Diagnostics ignored;  // `weft run` reports the configuration's problems
    Result<ws::Workspace> ws = ws::OpenWorkspace(dir, cwd, ignored);
    Result<std::unique_ptr<meta::MetaStore>> meta =
        ws.ok() ? meta::OpenSqliteMeta(ws->db_path()) : Result<std::unique_ptr<meta::MetaStore>>(ws.status());
    if (meta.ok()) {
      parts_->ws = std::move(*ws);
      parts_->meta = std::move(*meta);
      parts_->store = std::make_unique<store::Store>(parts_->ws.store_dir(), os);
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

}  // namespace weft::app
