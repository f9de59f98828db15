// `weft component|environment|data create|list|show|archive`: the workspace's registry.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "assets/registry.h"
#include "spec/registry.h"

namespace weft::cli {
namespace {

Json AssetJson(const meta::AssetRecord& a) {
  Json j = Json::MakeObject();
  j.Set("kind", a.kind).Set("name", a.name).Set("version", a.version);
  if (!a.registry.empty()) j.Set("registry", a.registry);
  j.Set("type", a.type).Set("digest", "sha256:" + a.digest).Set("description", a.description);
  j.Set("source", a.source).Set("created_ns", a.created_ns).Set("archived", a.archived);
  return j;
}

// NAME, NAME:VERSION, NAME@latest, or any azureml: form.
Result<spec::AssetRef> ParseRef(const std::string& text) {
  std::optional<spec::AssetRef> ref =
      spec::ParseAssetRef(text.rfind("azureml:", 0) == 0 ? text : "azureml:" + text);
  if (!ref) {
    return Status::Invalid(fmt::format("`{}`: name an asset as NAME, NAME:VERSION or NAME@latest", text));
  }
  return *ref;
}

std::function<int()> SetupAssets(CLI::App& sub, const std::string& kind) {
  struct Options {
    WorkspaceArgs workspace;
    std::string file, registry, ref, name, path, type, version, description;
    bool json = false;
    bool archived = false;
  };
  auto o = std::make_shared<Options>();
  sub.require_subcommand(1);
  CLI::App* create = sub.add_subcommand("create", fmt::format("register a {} version", kind));
  CLI::App* list = sub.add_subcommand("list", fmt::format("list registered {} versions", kind));
  CLI::App* show = sub.add_subcommand("show", fmt::format("show a registered {}", kind));
  CLI::App* archive = sub.add_subcommand("archive", "hide a version from `list` and from @latest");
  for (CLI::App* c : {create, list, show, archive}) o->workspace.AddTo(*c);
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
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    assets::WorkspaceRegistry& registry = (*ws)->registry();
    if (create->parsed()) {
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
    }
    if (list->parsed()) {
      Result<std::vector<meta::AssetRecord>> all = (*ws)->meta().Assets(kind, o->name, o->archived);
      if (!all.ok()) return Fail(all.status());
      if (o->json) {
        Json arr = Json::MakeArray();
        for (const meta::AssetRecord& a : *all) arr.Push(AssetJson(a));
        fmt::print("{}\n", arr.Dump());
        return 0;
      }
      fmt::print("{:<24} {:<10} {:<12} {:<19} {}\n", "name", "version", "type", "digest", "from");
      for (const meta::AssetRecord& a : *all) {
        std::string name = a.registry.empty() ? a.name : a.registry + "/" + a.name;
        fmt::print("{:<24} {:<10} {:<12} sha256:{:<12} {}{}\n", name, a.version, a.type,
                   a.digest.substr(0, 12), a.source, a.archived ? " (archived)" : "");
      }
      return 0;
    }
    Result<spec::AssetRef> ref = ParseRef(o->ref);
    if (!ref.ok()) return Fail(ref.status());
    std::optional<meta::AssetRecord> found = registry.Find(kind, *ref);
    if (!found) return Fail(Status::NotFound(fmt::format("no {} `{}` is registered", kind, o->ref)));
    if (archive->parsed()) {
      Status s = (*ws)->meta().Begin();
      if (s.ok()) s = (*ws)->meta().ArchiveAsset(*found);
      if (s.ok()) s = (*ws)->meta().Commit();
      if (!s.ok()) return Fail(s);
      fmt::print("archived {} {}:{}\n", kind, found->name, found->version);
      return 0;
    }
    if (o->json) {
      fmt::print("{}\n", AssetJson(*found).Dump());
      return 0;
    }
    fmt::print("{} {}:{}{}\n  type: {}\n  digest: sha256:{}\n  from: {}\n", kind, found->name,
               found->version, found->archived ? " (archived)" : "", found->type, found->digest,
               found->source);
    if (!found->description.empty()) fmt::print("  description: {}\n", found->description);
    return 0;
  };
}

}  // namespace

std::function<int()> SetupComponent(CLI::App& sub) { return SetupAssets(sub, "component"); }
std::function<int()> SetupEnvironment(CLI::App& sub) { return SetupAssets(sub, "environment"); }
std::function<int()> SetupData(CLI::App& sub) { return SetupAssets(sub, "data"); }

}  // namespace weft::cli
