// The loader's frame: files, the top-level document, pipeline jobs and pipeline components.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "base/fs.h"
#include "spec/loader_internal.h"

namespace weft::spec {

const char* DocumentKindName(DocumentKind k) {
  switch (k) {
    case DocumentKind::kPipelineJob:
      return "pipeline job";
    case DocumentKind::kPipelineComponent:
      return "pipeline component";
    case DocumentKind::kCommandJob:
      return "command job";
    case DocumentKind::kCommandComponent:
      return "command component";
    case DocumentKind::kParallelComponent:
      return "parallel component";
    case DocumentKind::kSweepJob:
      return "sweep job";
    case DocumentKind::kDataAsset:
      return "data asset";
    case DocumentKind::kEnvironmentAsset:
      return "environment";
  }
  return "pipeline job";
}

std::string Closest(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 3;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(name, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

namespace {

std::string Printable(std::string_view name) {
  std::string s;
  for (unsigned char c : name.substr(0, 80)) {
    s += (c < 0x20 || c == 0x7f) ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  }
  return s;
}

}  // namespace

// Names become parts of paths (run folders, output folders) and of nested names: `/`, NUL,
// control characters, `.` and `..` are errors. `what`: "job", "input", "output".
bool CheckPortName(Diagnostics& diags, const SourceLoc& at, std::string_view name,
                   std::string_view what) {
  if (name.empty() || name == "." || name == "..") {
    diags.Error(at, fmt::format("`{}` cannot be {} {} name", Printable(name), what == "job" ? "a" : "an", what),
                fmt::format("{} names become parts of paths; use letters, digits and `_`", what));
    return false;
  }
  for (unsigned char c : name) {
    if (c == '/' || c < 0x20 || c == 0x7f) {
      diags.Error(at,
                  fmt::format("{} name `{}` contains {}", what, Printable(name),
                              c == '/' ? "`/`" : "a control character"),
                  fmt::format("{} names become parts of paths{}; use letters, digits and `_`", what,
                              what == "job" ? " and of nested names (`outer/inner`)" : ""));
      return false;
    }
  }
  return true;
}

bool CheckStepName(Diagnostics& diags, const SourceLoc& at, std::string_view name) {
  if (!CheckPortName(diags, at, name, "job")) return false;
  bool azure_ok = (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_';
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) azure_ok = false;
  }
  if (!azure_ok || name.size() > 255) {
    diags.Warning(at, fmt::format("job name `{}` is not a valid Azure ML name", Printable(name)),
                  "Azure ML expects lower-case letters, digits and `_`, starting with a letter or "
                  "`_`, at most 255 characters");
  }
  return true;
}

namespace {

// Paths as messages show them: relative to `base` (the working folder when empty) when inside
// it, else absolute.
std::string DisplayPath(const std::string& path, const std::string& base) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec).lexically_normal();
  std::filesystem::path cwd = base.empty() ? std::filesystem::current_path(ec) : std::filesystem::path(base);
  if (ec) return path;
  std::filesystem::path rel = abs.lexically_relative(cwd);
  if (rel.empty() || *rel.begin() == "..") return abs.string();
  return rel.string();
}

}  // namespace

const Source& Loader::SourceFor(const yaml::Document* doc) {
  auto& slot = sources_[doc->file()];
  if (!slot) {
    slot = std::make_unique<Source>(MakeSource(*doc, diags_));
    // Relative paths resolve against where the file is, whatever name messages give it.
    if (auto it = paths_.find(doc); it != paths_.end()) {
      std::error_code ec;
      std::filesystem::path dir = std::filesystem::absolute(DirName(it->second), ec);
      if (!ec) slot->dir = dir.lexically_normal().string();
    }
  }
  return *slot;
}

bool Loader::Confined(const std::string& path, std::string_view written, const SourceLoc& at) {
  if (options_.roots.empty()) return true;
  for (const std::string& root : options_.roots) {
    if (IsWithin(path, root)) return true;
  }
  diags_.Error(at, fmt::format("`{}` is outside the files submitted with this pipeline", written),
               "a pipeline submitted to a server reads only the files uploaded with it, registered "
               "assets and the datastores its project is granted");
  return false;
}

const yaml::Document* Loader::Open(const std::string& path, const SourceLoc& from) {
  std::error_code ec;
  std::string key = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) key = path;
  if (auto it = documents_.find(key); it != documents_.end()) return it->second;
  Result<std::string> text = ReadFileCapped(path, options_.max_file_bytes);
  if (!text.ok()) {
    diags_.Error(from, text.status().message());
    documents_[key] = nullptr;
    return nullptr;
  }
  // A confined pipeline's files are shown as the submitter named them.
  std::string shown = DisplayPath(path, options_.roots.empty() ? "" : options_.roots.front());
  std::unique_ptr<yaml::Document> doc = yaml::Parse(shown, *text, diags_, options_.limits);
  const yaml::Document* raw = doc.get();
  if (doc) {
    out_.files.push_back(doc->file_name());
    parsed_.push_back(std::move(doc));
  } else {
    out_.files.push_back(std::make_shared<const std::string>(shown));
  }
  documents_[key] = raw;
  if (raw != nullptr) paths_[raw] = path;
  return raw;
}

std::string Loader::LocalPath(const Source& src, std::string_view written, const SourceLoc& at,
                              const What& what, bool want_dir) {
  std::string_view p = WithoutFileScheme(written);
  if (p.empty()) {
    diags_.Error(at, fmt::format("{} is empty", what.str()));
    return {};
  }
  if (p.find('\0') != std::string_view::npos) {
    diags_.Error(at, fmt::format("{} contains a NUL character", what.str()));
    return {};
  }
  std::string full = ResolvePath(src.Dir(), p);
  if (!Confined(full, written, at)) return {};
  PathKind kind = StatPath(full);
  if (kind == PathKind::kMissing) {
    diags_.Error(at, fmt::format("{} `{}` does not exist", what.str(), written),
                 fmt::format("looked for {}", full));
    return {};
  }
  if (want_dir && kind != PathKind::kDirectory) {
    diags_.Error(at, fmt::format("{} `{}` is not a folder", what.str(), written));
    return {};
  }
  if (kind == PathKind::kOther) {
    diags_.Error(at, fmt::format("{} `{}` is not a regular file or folder", what.str(), written),
                 "device files, sockets and pipes cannot be pipeline data");
    return {};
  }
  return full;
}

namespace {

std::string SchemaOf(const yaml::Node* root) {
  const yaml::Node* s = root->Find("$schema");
  return s != nullptr && s->is_scalar() ? s->text : "";
}

bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

DocumentKind DetectKind(const yaml::Node* root) {
  std::string schema = SchemaOf(root);
  for (char& c : schema) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const yaml::Node* t = root->Find("type");
  std::string type = t != nullptr && t->is_scalar() ? t->text : "";
  if (Contains(schema, "pipelinecomponent")) return DocumentKind::kPipelineComponent;
  if (Contains(schema, "commandcomponent")) return DocumentKind::kCommandComponent;
  if (Contains(schema, "parallelcomponent") || Contains(schema, "paralleljob")) {
    return DocumentKind::kParallelComponent;
  }
  if (Contains(schema, "sweepjob") || type == "sweep") return DocumentKind::kSweepJob;
  if (Contains(schema, "commandjob")) return DocumentKind::kCommandJob;
  if (Contains(schema, "/data.schema") || type == "uri_file" || type == "uri_folder" ||
      type == "mltable") {
    return DocumentKind::kDataAsset;
  }
  if (Contains(schema, "environment.schema") ||
      (root->Find("image") != nullptr && root->Find("command") == nullptr) ||
      (root->Find("build") != nullptr && root->Find("command") == nullptr)) {
    return DocumentKind::kEnvironmentAsset;
  }
  if (Contains(schema, "pipelinejob")) return DocumentKind::kPipelineJob;
  if (type == "parallel") return DocumentKind::kParallelComponent;
  if (root->Find("jobs") != nullptr || type == "pipeline") return DocumentKind::kPipelineJob;
  return DocumentKind::kCommandJob;
}

// A component used on its own becomes a pipeline of one node whose inputs are its defaults.
Node NodeFor(const ComponentBase& c, NodeType type, SourceLoc loc) {
  Node n;
  n.name = c.name.empty() ? "main" : c.name;
  n.loc = loc;
  n.type = type;
  return n;
}

}  // namespace

bool Loader::LoadTop(const std::string& path) {
  SourceLoc nowhere{};
  std::string top_file = path;
  const yaml::Document* doc = Open(path, nowhere);
  if (doc == nullptr) return false;
  const Source& src = SourceFor(doc);
  PipelineJob& job = out_.job;
  job.file = path;
  const yaml::Node* root = doc->root();
  if (root == nullptr || root->is_null()) {
    diags_.Error(doc->Loc(1, 1), "the file is empty", "a pipeline job needs at least `jobs:`");
    return true;
  }
  job.loc = src.Loc(root);
  if (!root->is_mapping()) {
    diags_.Error(src.Loc(root), fmt::format("a pipeline file must be a mapping, not {}",
                                            Describe(root)));
    return true;
  }
  out_.kind = DetectKind(root);
  switch (out_.kind) {
    case DocumentKind::kPipelineJob:
      ParsePipelineJob(src, root, job);
      break;
    case DocumentKind::kPipelineComponent: {
      auto pc = ParsePipelineComponent(src, root);
      if (!pc) break;
      job.name = pc->name;
      job.jobs = pc->jobs;
      for (const OutputPort& o : pc->outputs) {
        OutputValue v;
        v.loc = o.loc;
        job.outputs.emplace_back(o.name, std::move(v));
      }
      for (const InputPort& p : pc->inputs) {
        InputValue v;
        v.loc = p.loc;
        v.type = p.type;
        v.optional = p.optional;
        if (p.default_value) v.literal = *p.default_value;
        job.inputs.emplace_back(p.name, std::move(v));
      }
      break;
    }
    case DocumentKind::kCommandJob:
    case DocumentKind::kSweepJob: {
      std::optional<Node> node = ParseNode(src, nullptr, root);
      if (node) {
        if (root->Find("name") != nullptr) job.name = node->name;
        job.jobs.push_back(std::move(*node));
      }
      break;
    }
    case DocumentKind::kCommandComponent:
      if (auto c = ParseCommandComponent(src, root)) {
        job.jobs.push_back(NodeFor(*c, NodeType::kCommand, src.Loc(root)));
        job.jobs.back().command = std::move(c);
      }
      job.name = job.jobs.empty() ? "" : job.jobs.back().name;
      break;
    case DocumentKind::kParallelComponent:
      if (auto c = ParseParallelComponent(src, root)) {
        job.jobs.push_back(NodeFor(*c, NodeType::kParallel, src.Loc(root)));
        job.jobs.back().parallel = std::move(c);
      }
      job.name = job.jobs.empty() ? "" : job.jobs.back().name;
      break;
    case DocumentKind::kDataAsset: {
      Fields f(src, root, "data asset", src.Loc(root));
      f.Ignore({"$schema", "description", "tags", "properties", "datastore", "auto_delete_setting"});
      f.String("name", true);
      f.Version("version");
      std::optional<std::string> type = f.String("type");
      if (type && *type != "uri_file" && *type != "uri_folder" && *type != "mltable") {
        diags_.Error(src.Loc(f.Get("type")), fmt::format("unknown data asset type `{}`", *type),
                     "one of uri_file, uri_folder, mltable");
      }
      if (const yaml::Node* p = f.Get("path", true)) {
        std::optional<InputValue> v = ParseInputValue(src, p, "path", true);
        (void)v;
      }
      f.Finish();
      break;
    }
    case DocumentKind::kEnvironmentAsset: {
      Environment env = ParseEnvironment(src, root);
      (void)env;
      break;
    }
  }
  return true;
}

void Loader::ParsePipelineJob(const Source& src, const yaml::Node* root, PipelineJob& job) {
  Fields f(src, root, "pipeline job", src.Loc(root));
  f.Ignore({"$schema", "id", "status", "creation_context", "properties", "identity", "services"});
  if (auto t = f.String("type"); t && *t != "pipeline") {
    diags_.Error(src.Loc(f.Get("type")), fmt::format("a pipeline job has `type: pipeline`, not `{}`",
                                                     *t));
  }
  job.name = f.String("name").value_or("");
  job.display_name = f.String("display_name").value_or("");
  job.description = f.String("description").value_or("");
  job.experiment_name = f.String("experiment_name").value_or("");
  job.tags = f.StringMap("tags");
  if (const yaml::Node* c = f.Get("compute")) job.compute = ParseText(src, c);
  if (const yaml::Node* s = f.Get("settings")) {
    Fields sf(src, s, "`settings`", src.Loc(s));
    Settings& st = job.settings;
    st.default_compute = sf.String("default_compute").value_or("");
    st.default_datastore = sf.String("default_datastore").value_or("");
    st.continue_on_step_failure = sf.Bool("continue_on_step_failure").value_or(false);
    st.force_rerun = sf.Bool("force_rerun").value_or(false);
    if (const yaml::Node* n = sf.Get("on_init")) {
      st.on_init = sf.String("on_init").value_or("");
      st.on_init_loc = src.Loc(n);
    }
    if (const yaml::Node* n = sf.Get("on_finalize")) {
      st.on_finalize = sf.String("on_finalize").value_or("");
      st.on_finalize_loc = src.Loc(n);
    }
    sf.Finish();
  }
  job.inputs = ParseInputValues(src, f.Get("inputs"), true);
  job.outputs = ParseOutputValues(src, f.Get("outputs"), true);
  ParseJobs(src, f.Get("jobs", true), src.Loc(root), job.jobs);
  f.Finish();

  auto check_hook = [&](const std::string& name, const SourceLoc& at, const char* key) {
    if (name.empty()) return;
    bool found = std::any_of(job.jobs.begin(), job.jobs.end(),
                             [&](const Node& n) { return n.name == name; });
    if (!found) {
      std::vector<std::string> names;
      for (const Node& n : job.jobs) names.push_back(n.name);
      std::string near = Closest(name, names);
      diags_.Error(at, fmt::format("`settings.{}` names `{}`, which is not a job of this pipeline",
                                   key, name),
                   near.empty() ? "name one of the jobs under `jobs:`"
                                : fmt::format("did you mean `{}`?", near));
    }
  };
  check_hook(job.settings.on_init, job.settings.on_init_loc, "on_init");
  check_hook(job.settings.on_finalize, job.settings.on_finalize_loc, "on_finalize");
}

std::shared_ptr<const PipelineComponent> Loader::ParsePipelineComponent(const Source& src,
                                                                        const yaml::Node* root) {
  if (auto cached = Cached<PipelineComponent>(root)) return cached;
  if (!BeginPipeline(root)) {
    diags_.Error(src.Loc(root), "this pipeline component contains itself",
                 "a pipeline component cannot use itself, directly or through another component");
    return nullptr;
  }
  auto pc = std::make_shared<PipelineComponent>();
  pc->loc = src.Loc(root);
  Fields f(src, root, "pipeline component", src.Loc(root));
  f.Ignore({"$schema", "tags", "properties", "id", "creation_context"});
  f.Get("type");
  ParseComponentBase(f, *pc, true);
  ParseJobs(src, f.Get("jobs", true), src.Loc(root), pc->jobs);
  for (const char* key : {"settings", "compute"}) {
    if (const yaml::Node* n = f.Get(key)) {
      diags_.Warning(src.Loc(n), fmt::format("a pipeline component has no `{}`; it is ignored", key),
                     "set it on the pipeline job that uses this component");
    }
  }
  f.Finish();
  EndPipeline(root);
  Remember<PipelineComponent>(root, pc);
  return pc;
}

void Loader::ParseJobs(const Source& src, const yaml::Node* jobs, SourceLoc owner,
                       std::vector<Node>& out) {
  if (jobs == nullptr) return;
  if (!jobs->is_mapping()) {
    if (jobs->is_null()) {
      diags_.Error(src.Loc(jobs), "`jobs` is empty", "a pipeline needs at least one job");
    } else {
      diags_.Error(src.Loc(jobs), fmt::format("`jobs` must be a mapping of job names to jobs, not {}",
                                              Describe(jobs)));
    }
    return;
  }
  if (jobs->entry_count() == 0) {
    diags_.Error(src.Loc(jobs), "`jobs` is empty", "a pipeline needs at least one job");
  }
  out.reserve(jobs->entry_count());
  for (size_t i = 0; i < jobs->entry_count(); ++i) {
    std::optional<Node> node = ParseNode(src, jobs->key(i), jobs->value(i));
    if (node) out.push_back(std::move(*node));
  }
}

std::unique_ptr<LoadedPipeline> LoadPipeline(const std::string& path, const Registry& registry,
                                             Diagnostics& diags, const LoadOptions& options) {
  auto out = std::make_unique<LoadedPipeline>();
  Loader loader(registry, diags, options, *out);
  if (!loader.LoadTop(path)) return nullptr;
  return out;
}

}  // namespace weft::spec
