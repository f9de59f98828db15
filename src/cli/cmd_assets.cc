// `weft component|environment|data create|list|show|archive`: the workspace's registry.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/assets.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"
#include "assets/registry.h"
#include "spec/registry.h"

namespace weft::cli {
namespace {

// A listing's lines, from the assets' JSON (app::AssetJson): the same here and through a server.
void PrintList(const Json& assets) {
  fmt::print("{:<24} {:<10} {:<12} {:<19} {}\n", "name", "version", "type", "digest", "from");
  for (const Json& a : *assets.Items()) {
    std::string name = TextOf(a, "registry").empty() ? TextOf(a, "name")
                                                      : TextOf(a, "registry") + "/" + TextOf(a, "name");
    if (!TextOf(a, "project").empty()) name = TextOf(a, "project") + ":" + name;
    const Json* archived = a.Find("archived");
    fmt::print("{:<24} {:<10} {:<12} sha256:{:<12} {}{}\n", name, TextOf(a, "version"),
               TextOf(a, "type"), TextOf(a, "digest").substr(7, 12), TextOf(a, "source"),
               archived && archived->Bool() && *archived->Bool() ? " (archived)" : "");
  }
}

void PrintOne(const std::string& kind, const Json& a) {
  const Json* archived = a.Find("archived");
  fmt::print("{} {}:{}{}\n  type: {}\n  digest: {}\n  from: {}\n", kind, TextOf(a, "name"),
             TextOf(a, "version"), archived && archived->Bool() && *archived->Bool() ? " (archived)" : "",
             TextOf(a, "type"), TextOf(a, "digest"), TextOf(a, "source"));
  if (!TextOf(a, "project").empty()) fmt::print("  project: {}\n", TextOf(a, "project"));
  if (!TextOf(a, "description").empty()) fmt::print("  description: {}\n", TextOf(a, "description"));
}

struct AssetOptions {
  WorkspaceArgs workspace;
  RemoteArgs remote;
  std::string file, registry, ref, name, path, type, version, description, folder;
  bool json = false;
  bool archived = false;
};

// `create --server`: the file's folder (or the data's file or folder) sent as an upload, then
// registered from it for the token's project.
int CreateOnServer(const AssetOptions& o, const std::string& kind) {
  if (!o.registry.empty()) return Fail(Status::Invalid("--registry is not taken through a server"));
  bool from_file = !o.file.empty();
  if (!from_file && (o.name.empty() || o.path.empty())) {
    return Fail(Status::Invalid("give -f FILE, or --name NAME and --path PATH"));
  }
  Result<Bundle> bundle = from_file ? BundleOf(o.file, o.folder) : BundleOfPath(o.path);
  if (!bundle.ok()) return Fail(bundle.status());
  Result<std::unique_ptr<server::HttpClient>> client = o.remote.Connect();
  if (!client.ok()) return Fail(client.status());
  Result<std::string> upload = SendBundle(**client, *bundle, "");
  if (!upload.ok()) return Fail(upload.status());
  std::string path = fmt::format("/assets/{}?upload={}&{}={}", kind, *upload, from_file ? "file" : "path",
                                 QueryValue(bundle->file));
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"name", &o.name},
                                   {"type", &o.type},
                                   {"version", &o.version},
                                   {"description", &o.description}}) {
    if (!from_file && !value->empty()) path += fmt::format("&{}={}", key, QueryValue(*value));
  }
  Result<Json> r = CallApi(**client, "POST", path);
  if (!r.ok()) return Fail(r.status());
  const Json& a = *r->Find("asset");
  const Json* existed = r->Find("existed");
  fmt::print("{} {} {}:{} ({})\n",
             existed && existed->Bool() && *existed->Bool() ? "already registered:" : "registered", kind,
             TextOf(a, "name"), TextOf(a, "version"), TextOf(a, "digest").substr(0, 19));
  return 0;
}

std::function<int()> SetupAssets(CLI::App& sub, const std::string& kind) {
  using Options = AssetOptions;
  auto o = std::make_shared<Options>();
  sub.require_subcommand(1);
  CLI::App* create = sub.add_subcommand("create", fmt::format("register a {} version", kind));
  CLI::App* list = sub.add_subcommand("list", fmt::format("list registered {} versions", kind));
  CLI::App* show = sub.add_subcommand("show", fmt::format("show a registered {}", kind));
  CLI::App* archive = sub.add_subcommand("archive", "hide a version from `list` and from @latest");
  for (CLI::App* c : {create, list, show, archive}) o->workspace.AddTo(*c);
  for (CLI::App* c : {create, list, show, archive}) o->remote.AddTo(*c);
  create->add_option("--folder", o->folder,
                     "with --server and -f: the folder whose files are sent (default: the file's own)");
  auto* file = create->add_option("-f,--file", o->file, fmt::format("the {} YAML file", kind));
  create->add_option("--registry", o->registry,
                     "register into this named registry (azureml://registries/<name>/...)");
  if (kind == "data") {
    create->add_option("--name", o->name, "the asset's name (instead of a file)")->excludes(file);
    create->add_option("--path", o->path, "the local file or folder to register")->excludes(file);
    create->add_option("--type", o->type, "uri_file, uri_folder or mltable (default: by the path)");
    create->add_option("--version", o->version, "default: the next integer");
    create->add_option("--description", o->description, "what it is");
  } else {
    file->required();
  }
  list->add_option("name", o->name, "only this name");
  list->add_flag("--archived", o->archived, "include archived versions");
  list->add_flag("--json", o->json, "print JSON");
  show->add_option("asset", o->ref, "NAME, NAME:VERSION or NAME@latest")->required();
  show->add_flag("--json", o->json, "print JSON");
  archive->add_option("asset", o->ref, "NAME:VERSION")->required();
  return [o, kind, create, list, show, archive] {
    if (!create->parsed()) {
      Target target{o->workspace, o->remote};
      std::string ref_path = fmt::format("/assets/{}/{}", kind, QueryValue(o->ref));
      if (list->parsed()) {
        std::string path = fmt::format("/assets?kind={}", kind);
        if (!o->name.empty()) path += "&name=" + QueryValue(o->name);
        if (o->archived) path += "&archived=true";
        Result<Json> r = target.Do(
            [&](app::Session& s) -> Result<Json> {
              Result<std::vector<meta::AssetRecord>> all =
                  app::VisibleAssets(s.meta(), app::LocalAdmin(), kind, o->name, o->archived);
              if (!all.ok()) return all.status();
              Json arr = Json::MakeArray();
              for (const meta::AssetRecord& a : *all) arr.Push(app::AssetJson(a));
              return Json::MakeObject().Set("assets", std::move(arr));
            },
            "GET", path);
        if (!r.ok()) return Fail(r.status());
        if (o->json) {
          fmt::print("{}\n", r->Find("assets")->Dump());
        } else {
          PrintList(*r->Find("assets"));
        }
        return 0;
      }
      if (archive->parsed() && o->ref.find(':') == std::string::npos) {
        return Fail(Status::Invalid("name the version to archive: NAME:VERSION"));
      }
      Result<Json> r = target.Do(
          [&](app::Session& s) -> Result<Json> {
            Result<meta::AssetRecord> a = app::FindAsset(s.registry(), kind, o->ref);
            if (!a.ok()) return a.status();
            if (archive->parsed()) {
              Status st = app::ArchiveAsset(s.meta(), app::LocalAdmin(), *a, s.os().NowNs());
              if (!st.ok()) return st;
              a->archived = true;
            }
            return Json::MakeObject().Set("asset", app::AssetJson(*a));
          },
          archive->parsed() ? "POST" : "GET", archive->parsed() ? ref_path + "/archive" : ref_path);
      if (!r.ok()) return Fail(r.status());
      const Json& a = *r->Find("asset");
      if (archive->parsed()) {
        fmt::print("archived {} {}:{}\n", kind, TextOf(a, "name"), TextOf(a, "version"));
      } else if (o->json) {
        fmt::print("{}\n", a.Dump());
      } else {
        PrintOne(kind, a);
      }
      return 0;
    }
    if (o->remote.remote()) return CreateOnServer(*o, kind);
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    assets::WorkspaceRegistry& registry = (*ws)->registry();
    Result<assets::WorkspaceRegistry::Registered> r = Status::Ok();
    if (!o->file.empty()) {
      Diagnostics diags;
      r = registry.CreateFromFile(kind, o->file, o->registry, diags);
      std::fputs(diags.FormatAll().c_str(), stderr);
    } else if (!o->name.empty() && !o->path.empty()) {
      meta::AssetRecord a;
      a.registry = o->registry;
      a.name = o->name;
      a.version = o->version;
      a.type = o->type;
      a.description = o->description;
      r = registry.CreateData(a, o->path);
    } else {
      return Fail(Status::Invalid("give -f FILE, or --name NAME and --path PATH"));
    }
    if (!r.ok()) return Fail(r.status());
    const meta::AssetRecord& a = r->asset;
    fmt::print("{} {} {}:{} (sha256:{})\n", r->existed ? "already registered:" : "registered",
               kind, a.name, a.version, a.digest.substr(0, 12));
    return 0;
  };
}

}  // namespace

std::function<int()> SetupComponent(CLI::App& sub) { return SetupAssets(sub, "component"); }
std::function<int()> SetupEnvironment(CLI::App& sub) { return SetupAssets(sub, "environment"); }
std::function<int()> SetupData(CLI::App& sub) { return SetupAssets(sub, "data"); }

}  // namespace weft::cli
