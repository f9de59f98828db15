#include "assets/registry.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/fs.h"
#include "assets/datastore.h"
#include "spec/loader.h"
#include "spec/model.h"
#include "spec/yaml.h"

namespace weft::assets {
namespace {

namespace fs = std::filesystem;

std::string Absolute(const std::string& path) {
  std::error_code ec;
  return fs::absolute(path, ec).lexically_normal().string();
}

bool Under(const std::string& path, const std::string& dir) {
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

// The deepest folder that holds every path.
std::string CommonFolder(const std::vector<std::string>& paths, const std::string& main_file) {
  fs::path common = fs::path(main_file).parent_path();
  for (const std::string& p : paths) {
    fs::path a = fs::path(p);
    while (!Under(a.string(), common.string())) common = common.parent_path();
  }
  return common.string();
}

// Every local file and folder a loaded component or environment uses.
void CollectNode(const spec::Node& n, std::vector<std::string>& out);

void CollectEnvironment(const spec::Environment& env, std::vector<std::string>& out) {
  if (!env.conda_file.empty()) out.push_back(env.conda_file);
  if (!env.build_path.empty()) out.push_back(env.build_path);
}

void CollectNode(const spec::Node& n, std::vector<std::string>& out) {
  if (n.command) {
    if (!n.command->code.empty()) out.push_back(n.command->code);
    for (const std::string& inc : n.command->additional_includes) out.push_back(inc);
    CollectEnvironment(n.command->environment, out);
  }
  if (n.parallel) {
    if (!n.parallel->task.code.empty()) out.push_back(n.parallel->task.code);
    CollectEnvironment(n.parallel->task.environment, out);
  }
  if (n.pipeline) {
    for (const spec::Node& child : n.pipeline->jobs) CollectNode(child, out);
  }
}

std::string Scalar(const yaml::Node* root, std::string_view key) {
  const yaml::Node* n = root != nullptr ? root->Find(key) : nullptr;
  return n != nullptr && n->is_scalar() ? n->text : "";
}

const char* KindDir(const std::string& kind) {
  return kind == "component" ? "components" : kind == "environment" ? "environments"
                               : kind == "model"       ? "models"
                                                       : "data";
}

// One registration per output that names an asset.
Status RegisterEach(meta::MetaStore& meta, const std::string& run_id, const std::string& project,
                    const graph::Step& step, const std::map<std::string, store::ObjectRef>& outputs) {
  for (const graph::StepOutput& o : step.outputs) {
    if (o.setting == nullptr || o.setting->asset_name.empty()) continue;
    const store::ObjectRef& ref = outputs.at(o.name);
    spec::PortType type = o.setting->type ? *o.setting->type : o.type;
    bool model = type == spec::PortType::kMlflowModel || type == spec::PortType::kCustomModel ||
                 type == spec::PortType::kTritonModel;
    meta::AssetRecord a;
    a.kind = model ? "model" : "data";
    a.name = o.setting->asset_name;
    a.version = o.setting->asset_version;
    a.digest = ToHex(ref.digest);
    a.entry = ref.type == store::ObjectType::kFile ? ref.name : "";
    a.type = spec::PortTypeName(type);
    a.source = fmt::format("run {} step {} output {}", run_id, step.name, o.name);
    a.project = project;
    Result<WorkspaceRegistry::Registered> r = WorkspaceRegistry::Record(meta, a);
    if (!r.ok()) return Status(r.status().code(), fmt::format("output {}: {}", o.name, r.status().message()));
  }
  return Status::Ok();
}

}  // namespace

namespace {

bool Confined(const std::string& path, const std::vector<std::string>& roots) {
  return std::any_of(roots.begin(), roots.end(),
                     [&](const std::string& r) { return IsWithin(path, r); });
}

}  // namespace

std::string AssetProject(const std::string& project) {
  return project == "local" ? "" : project;
}

std::optional<meta::AssetRecord> WorkspaceRegistry::Find(const std::string& kind,
                                                         const spec::AssetRef& ref) const {
  if (!ref.kind.empty() && ref.kind != KindDir(kind)) {
    return std::nullopt;
  }
  std::string version = ref.label.empty() ? ref.version : "";
  // The project's own, else the workspace's.
  for (const std::string& project : {project_, std::string()}) {
    Result<std::optional<meta::AssetRecord>> found =
        meta_.FindAsset(kind, ref.registry, ref.name, version, project);
    if (!found.ok()) return std::nullopt;
    if (*found) return **found;
    if (project.empty()) break;
  }
  return std::nullopt;
}

std::optional<std::string> WorkspaceRegistry::Locate(const std::string& kind,
                                                     const spec::AssetRef& ref,
                                                     std::string* type) const {
  std::optional<meta::AssetRecord> a = Find(kind, ref);
  std::optional<Digest> d = a ? store::ParseHex(a->digest) : std::nullopt;
  if (!d) return std::nullopt;
  if (type != nullptr) *type = a->type;
  // The entry: a component's or environment's YAML file, a data file object's file name.
  return a->entry.empty() ? store_.ObjectPath(*d) : store_.ObjectPath(*d) + "/" + a->entry;
}

std::optional<std::string> WorkspaceRegistry::FindComponent(const spec::AssetRef& ref) const {
  return Locate("component", ref, nullptr);
}

std::optional<std::string> WorkspaceRegistry::FindEnvironment(const spec::AssetRef& ref) const {
  return Locate("environment", ref, nullptr);
}

std::optional<spec::RegisteredData> WorkspaceRegistry::FindData(const spec::AssetRef& ref) const {
  // Data assets, then models (registered by outputs of the model types): inputs read both.
  for (const char* kind : {"data", "model"}) {
    std::string type;
    std::optional<std::string> path = Locate(kind, ref, &type);
    if (path) return spec::RegisteredData{type, *path};
  }
  return std::nullopt;
}

Result<WorkspaceRegistry::Registered> WorkspaceRegistry::Record(meta::MetaStore& meta,
                                                               meta::AssetRecord asset) {
  if (asset.version.empty()) {
    // Content the newest version already holds is not registered again under a new number.
    Result<std::optional<meta::AssetRecord>> latest =
        meta.FindAsset(asset.kind, asset.registry, asset.name, "", asset.project);
    if (!latest.ok()) return latest.status();
    if (*latest && (*latest)->digest == asset.digest && (*latest)->entry == asset.entry) {
      return Registered{**latest, true};
    }
    Result<std::string> next =
        meta.NextAssetVersion(asset.kind, asset.registry, asset.name, asset.project);
    if (!next.ok()) return next.status();
    asset.version = *next;
  }
  Result<std::optional<meta::AssetRecord>> existing =
      meta.FindAsset(asset.kind, asset.registry, asset.name, asset.version, asset.project);
  if (!existing.ok()) return existing.status();
  if (*existing) {
    const meta::AssetRecord& e = **existing;
    if (e.digest == asset.digest && e.entry == asset.entry) return Registered{e, true};
    return Status::Invalid(fmt::format(
        "{} {}:{} is already registered with other content (sha256:{}, from {}); versions "
        "never change: register this one under another version",
        asset.kind, asset.name, asset.version, e.digest.substr(0, 12), e.source));
  }
  asset.created_ns = NowNs();
  Status s = meta.PutAsset(asset);
  if (!s.ok()) return s;
  return Registered{asset, false};
}

Result<WorkspaceRegistry::Registered> WorkspaceRegistry::Put(meta::AssetRecord asset) {
  asset.project = project_;
  Status s = meta_.Begin();
  if (!s.ok()) return s;
  Result<Registered> r = Record(meta_, std::move(asset));
  if (!r.ok() || r->existed) {
    meta_.Rollback();
    return r;
  }
  s = meta_.Commit();
  if (!s.ok()) {
    meta_.Rollback();
    return s;
  }
  return r;
}

std::vector<std::string> WorkspaceRegistry::GrantedDatastores() const {
  Result<std::optional<meta::ProjectRecord>> p = meta_.FindProject(granted_to_);
  return p.ok() && *p ? (*p)->datastores : std::vector<std::string>{};
}

std::optional<spec::UriLocation> WorkspaceRegistry::LocateUri(const std::string& uri) const {
  return LocateData(ws_, uri);
}

Result<WorkspaceRegistry::Registered> WorkspaceRegistry::CreateData(
    meta::AssetRecord asset, const std::string& written, const std::vector<std::string>& roots) {
  if (!roots.empty() && (spec::IsUri(written) || !Confined(written, roots))) {
    return Status::Invalid(fmt::format(
        "data {}: `{}` is outside the files sent with it (a server registers only those)",
        asset.name, written));
  }
  std::string path = written;
  if (spec::IsUri(written)) {
    spec::UriLocation at = LocateData(ws_, written);
    if (!at.error.empty()) {
      return Status::Invalid(fmt::format("data {}: {}{}", asset.name, at.error,
                                         at.hint.empty() ? "" : " (" + at.hint + ")"));
    }
    path = at.path;
  }
  Result<store::ObjectRef> ref = store_.Snapshot(path, &meta_, nullptr);
  if (!ref.ok()) return Status(ref.status().code(), fmt::format("data {}: {}", asset.name, ref.status().message()));
  if (asset.type.empty()) {
    asset.type = ref->type == store::ObjectType::kFile ? "uri_file" : "uri_folder";
  } else if ((asset.type == "uri_file") != (ref->type == store::ObjectType::kFile)) {
    return Status::Invalid(fmt::format("data {}: `{}` is a {}, not a {}", asset.name, path,
                                       store::TypeName(ref->type),
                                       asset.type));
  }
  asset.kind = "data";
  asset.digest = ToHex(ref->digest);
  asset.entry = ref->type == store::ObjectType::kFile ? ref->name : "";
  asset.source = spec::IsUri(written) ? written : Absolute(path);
  return Put(std::move(asset));
}

Result<WorkspaceRegistry::Registered> WorkspaceRegistry::CreateFromFile(const std::string& kind,
                                                                       const std::string& file,
                                                                       const std::string& registry,
                                                                       Diagnostics& diags,
                                                                       const std::vector<std::string>& roots) {
  spec::LoadOptions options;
  options.roots = roots;
  std::unique_ptr<spec::LoadedPipeline> loaded = spec::LoadPipeline(file, *this, diags, options);
  if (!loaded || diags.has_errors()) {
    return Status::Invalid(fmt::format("{}: invalid, nothing registered", file));
  }
  using K = spec::DocumentKind;
  bool fits = kind == "component" ? (loaded->kind == K::kCommandComponent ||
                                     loaded->kind == K::kParallelComponent ||
                                     loaded->kind == K::kPipelineComponent)
              : kind == "environment" ? loaded->kind == K::kEnvironmentAsset
                                      : loaded->kind == K::kDataAsset;
  if (!fits) {
    return Status::Invalid(fmt::format("{}: this is a {}, not a {}", file,
                                       spec::DocumentKindName(loaded->kind), kind));
  }
  Result<std::string> text = ReadFileCapped(file, size_t{1} << 20);
  if (!text.ok()) return text.status();
  std::unique_ptr<yaml::Document> doc = yaml::Parse(file, *text, diags);
  const yaml::Node* root = doc ? doc->root() : nullptr;
  meta::AssetRecord asset;
  asset.kind = kind;
  asset.registry = registry;
  asset.name = Scalar(root, "name");
  asset.version = Scalar(root, "version");
  asset.description = Scalar(root, "description");
  if (asset.name.empty()) return Status::Invalid(fmt::format("{}: a registered {} needs a `name`", file, kind));

  if (kind == "data") {
    asset.type = Scalar(root, "type");
    std::string path = Scalar(root, "path");
    if (!spec::IsUri(path)) path = ResolvePath(DirName(Absolute(file)), spec::WithoutFileScheme(path));
    return CreateData(std::move(asset), path, roots);
  }

  // Components and environments: the YAML files read and the local paths they use, stored as
  // one folder that keeps their relative places, so that `code: ../src` still finds its folder.
  std::string main = Absolute(file);
  std::vector<std::string> paths;
  // (A confined load shows its files relative to the first root.)
  for (const auto& shown : loaded->files) {
    paths.push_back(roots.empty() ? Absolute(*shown) : ResolvePath(roots.front(), *shown));
  }
  for (const spec::Node& n : loaded->job.jobs) CollectNode(n, paths);
  if (kind == "environment") {
    std::string conda = Scalar(root, "conda_file");
    if (!conda.empty()) paths.push_back(ResolvePath(DirName(main), conda));
    if (const yaml::Node* b = root != nullptr ? root->Find("build") : nullptr) {
      std::string build = Scalar(b, "path");
      if (!build.empty()) paths.push_back(ResolvePath(DirName(main), build));
    }
  }
  std::erase_if(paths, [&](const std::string& p) { return Under(p, store_.root()); });
  for (const std::string& p : paths) {
    if (!roots.empty() && !Confined(p, roots)) {
      return Status::Invalid(fmt::format(
          "{} {}: `{}` is outside the files sent with it (a server registers only those)", kind,
          asset.name, p));
    }
  }
  std::string base = CommonFolder(paths, main);
  std::string stage = fmt::format("{}/tmp/register-{}-{:x}", store_.root(), ::getpid(),
                                  std::random_device{}());
  // Folders first, outermost first (a code folder may be `./`, holding the YAML files), then the
  // files they did not bring (one met twice, or left out by an ignore file, is copied once).
  std::stable_sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    bool da = StatPath(a) == PathKind::kDirectory, db = StatPath(b) == PathKind::kDirectory;
    return da != db ? da : da && a.size() < b.size();
  });
  Status s = MakeDirs(stage);
  for (const std::string& p : paths) {
    if (!s.ok()) break;
    std::string dst = stage + "/" + fs::path(p).lexically_relative(base).string();
    bool folder = StatPath(p) == PathKind::kDirectory;
    if (!folder && StatPath(dst) != PathKind::kMissing) continue;
    s = MakeDirs(DirName(dst));
    if (!s.ok()) break;
    if (folder) {
      // A code folder: as a step would see it (.amlignore/.gitignore applied).
      store::IgnoreRules rules = store::IgnoreRules::ForFolder(p);
      Result<store::ObjectRef> snap = store_.Snapshot(p, &meta_, &rules);
      s = snap.ok() ? CopyTree(store_.DeliveryPath(*snap), dst) : snap.status();
    } else {
      s = CopyFile(p, dst);
    }
  }
  Result<store::ObjectRef> ref = s.ok() ? store_.Commit(stage) : Result<store::ObjectRef>(s);
  RemoveTree(stage).ok();
  if (!ref.ok()) return Status(ref.status().code(), fmt::format("{} {}: {}", kind, asset.name, ref.status().message()));
  asset.digest = ToHex(ref->digest);
  asset.entry = fs::path(main).lexically_relative(base).string();
  asset.type = kind == "component" ? spec::DocumentKindName(loaded->kind) : "";
  asset.source = main;
  return Put(std::move(asset));
}

// Outputs whose values give a `name` (and maybe a `version`) register a data version (a model
// version for model types), when the step succeeds or is reused: all of them or none.
Status RegisterStepOutputs(meta::MetaStore& meta, const std::string& run_id,
                           const std::string& project, const graph::Step& step,
                           const std::map<std::string, store::ObjectRef>& outputs) {
  bool any = false;
  for (const graph::StepOutput& o : step.outputs) {
    any |= o.setting != nullptr && !o.setting->asset_name.empty();
  }
  if (!any) return Status::Ok();
  Status s = meta.BeginPart();
  if (s.ok()) s = RegisterEach(meta, run_id, AssetProject(project), step, outputs);
  if (s.ok()) s = meta.EndPart();
  if (!s.ok()) meta.UndoPart();
  return s;
}


}  // namespace weft::assets
