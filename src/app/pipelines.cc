#include "app/pipelines.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/sha256.h"
#include "spec/literal.h"
#include "store/store.h"

namespace weft::app {

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 255 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

namespace {

Json LiteralJson(const Literal& l) {
  switch (l.kind) {
    case LiteralKind::kNull:
      return Json();
    case LiteralKind::kBool:
      return Json(l.b);
    case LiteralKind::kInt:
      return Json(l.i);
    case LiteralKind::kFloat:
      return Json(l.f);
    case LiteralKind::kString:
    case LiteralKind::kTimestamp:
      return Json(l.Render());
  }
  return Json();
}

}  // namespace

Result<Published> Publish(meta::MetaStore& meta, const ws::Workspace& ws,
                          const spec::Registry& registry, const Caller& caller,
                          const PublishRequest& r, int64_t now_ns) {
  if (!caller.Can(Role::kContributor, r.project)) {
    return Status::Denied("publishing pipelines needs a contributor's token");
  }
  if (!ValidName(r.name)) {
    return Status::Invalid(fmt::format(
        "`{}` is not a pipeline name: letters, digits, `_`, `.` and `-`, starting with a letter "
        "or digit, at most 255",
        r.name));
  }
  std::string pipeline = r.folder + "/" + r.file;
  if (!IsWithin(pipeline, r.folder) || StatPath(pipeline) != PathKind::kFile) {
    return Status::Invalid(fmt::format("the archive holds no file `{}`", r.file));
  }
  Result<std::unique_ptr<LoadedGraph>> graph =
      LoadGraph(PipelineSource{pipeline, {}, r.folder, {r.folder}}, registry);
  if (!graph.ok()) return graph.status();
  if (!(*graph)->ok()) {
    return Status::Invalid(
        fmt::format("the pipeline is not valid:\n{}", (*graph)->diags.FormatAll()));
  }
  Result<store::ObjectRef> tree = store::HashPath(r.folder);
  if (!tree.ok()) return tree.status();
  std::string digest = ToHex(Sha256Of(ToHex(tree->digest) + "\n" + r.file));

  Published out;
  Status s = meta::InTransaction(meta, [&]() -> Status {
    Result<std::vector<meta::PipelineVersionRecord>> versions =
        meta.PipelineVersions(r.project, r.name);
    if (!versions.ok()) return versions.status();
    for (const meta::PipelineVersionRecord& v : *versions) {
      if (v.digest == digest) {
        out = {v, false};
        return Status::Ok();
      }
    }
    meta::PipelineVersionRecord& v = out.version;
    v.project = r.project;
    v.name = r.name;
    v.version = versions->empty() ? 1 : versions->back().version + 1;
    v.digest = digest;
    v.folder = r.folder.substr(ws.dir.size() + 1);
    v.file = r.file;
    v.description = r.description;
    v.created_ns = now_ns;
    v.created_by = caller.token;
    out.created = true;
    Status put = meta.PutPipelineVersion(v);
    if (!put.ok()) return put;
    return meta.AppendAudit(AuditEntry(caller, r.project, "pipeline.publish",
                                       fmt::format("{}:{}", r.name, v.version), r.file, now_ns));
  });
  if (!s.ok()) return s;
  return out;
}

Result<meta::PipelineVersionRecord> FindPipelineVersion(meta::MetaStore& meta,
                                                        const std::string& project,
                                                        const std::string& name, int64_t version) {
  Result<std::vector<meta::PipelineVersionRecord>> versions = meta.PipelineVersions(project, name);
  if (!versions.ok()) return versions.status();
  if (versions->empty()) return Status::NotFound(fmt::format("no published pipeline `{}`", name));
  if (version == 0) {
    Result<std::vector<meta::PipelineRecord>> all = meta.Pipelines(project);
    if (!all.ok()) return all.status();
    for (const meta::PipelineRecord& p : *all) {
      if (p.name == name) version = p.default_version;
    }
  }
  for (const meta::PipelineVersionRecord& v : *versions) {
    if (v.version == version) return v;
  }
  return Status::NotFound(fmt::format("pipeline `{}` has no version {} (it has 1 to {})", name,
                                      version, versions->back().version));
}

Status SetDefaultVersion(meta::MetaStore& meta, const Caller& caller, const std::string& project,
                         const std::string& name, int64_t version, int64_t now_ns) {
  if (!caller.Can(Role::kOwner, project)) {
    return Status::Denied("moving a pipeline's default version needs an owner's token");
  }
  if (version <= 0) return Status::Invalid("`version` is a version's number, from 1");
  Result<meta::PipelineVersionRecord> v = FindPipelineVersion(meta, project, name, version);
  if (!v.ok()) return v.status();
  return meta::InTransaction(meta, [&] {
    Status set = meta.SetDefaultPipelineVersion(project, name, version);
    if (!set.ok()) return set;
    return meta.AppendAudit(
        AuditEntry(caller, project, "pipeline.default", name, std::to_string(version), now_ns));
  });
}

PipelineSource VersionSource(const ws::Workspace& ws, const meta::PipelineVersionRecord& v,
                             std::vector<std::string> sets) {
  std::string folder = ws.dir + "/" + v.folder;
  return PipelineSource{folder + "/" + v.file, std::move(sets), folder, {folder}};
}

Result<Json> DeclaredInputs(const ws::Workspace& ws, const spec::Registry& registry,
                            const meta::PipelineVersionRecord& v) {
  Result<std::unique_ptr<LoadedGraph>> graph = LoadGraph(VersionSource(ws, v, {}), registry);
  if (!graph.ok()) return graph.status();
  if ((*graph)->pipeline == nullptr) {
    return Status::Internal(fmt::format("pipeline {}:{} no longer loads:\n{}", v.name, v.version,
                                        (*graph)->diags.FormatAll()));
  }
  Json inputs = Json::MakeArray();
  for (const auto& [name, value] : (*graph)->pipeline->job.inputs) {
    std::string type = "string";
    Json fallback;
    if (value.type) type = spec::PortTypeName(*value.type);
    if (value.kind == spec::InputValue::Kind::kData) {
      if (!value.type) type = "uri_folder";
      fallback = Json(value.path.text);
    } else if (value.kind == spec::InputValue::Kind::kLiteral) {
      if (!value.type) {
        switch (value.literal.kind) {
          case LiteralKind::kInt:
            type = "integer";
            break;
          case LiteralKind::kFloat:
            type = "number";
            break;
          case LiteralKind::kBool:
            type = "boolean";
            break;
          default:
            break;
        }
      }
      fallback = LiteralJson(value.literal);
    }
    inputs.Push(Json::MakeObject()
                    .Set("name", name)
                    .Set("type", type)
                    .Set("default", std::move(fallback))
                    .Set("optional", value.optional));
  }
  return inputs;
}

Result<std::vector<std::string>> InputSets(const Json& inputs) {
  std::vector<std::string> sets;
  if (inputs.IsNull()) return sets;
  const Json::Object* members = inputs.Members();
  if (members == nullptr) return Status::Invalid("`inputs` is an object: {\"NAME\": VALUE}");
  for (const auto& [name, value] : *members) {
    std::string text;
    if (const std::string* s = value.String()) {
      text = *s;
    } else if (const bool* b = value.Bool()) {
      text = *b ? "true" : "false";
    } else if (const int64_t* i = value.Int()) {
      text = std::to_string(*i);
    } else if (std::optional<double> d = value.Number()) {
      text = PythonFloatRepr(*d);
    } else {
      return Status::Invalid(
          fmt::format("inputs.{}: a string, a number or a boolean (data: a path inside the "
                      "pipeline's files, or `azureml:NAME:VERSION`)",
                      name));
    }
    sets.push_back(fmt::format("inputs.{}={}", name, text));
  }
  return sets;
}

Result<std::optional<std::string>> ClaimIdempotencyKey(meta::MetaStore& meta,
                                                       const std::string& project,
                                                       const std::string& key,
                                                       const std::string& request, int64_t now_ns) {
  if (key.empty() || key.size() > 255) {
    return Status::Invalid("an Idempotency-Key has 1 to 255 characters");
  }
  // Inside a transaction, which takes the write lock first: two requests with one key are in turn.
  std::optional<std::string> earlier;
  Status s = meta::InTransaction(meta, [&]() -> Status {
    Result<std::optional<meta::IdempotencyRecord>> found = meta.FindIdempotencyKey(project, key);
    if (!found.ok()) return found.status();
    if (!*found) return meta.PutIdempotencyKey({project, key, request, "", now_ns});
    if ((*found)->request != request) {
      return Status::Invalid(
          fmt::format("the Idempotency-Key `{}` was used for another request: use a new key", key));
    }
    if ((*found)->run_id.empty()) {
      return Status::Busy(fmt::format(
          "a request with the Idempotency-Key `{}` is being carried out; try again", key));
    }
    earlier = (*found)->run_id;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return earlier;
}

Status CompleteIdempotencyKey(meta::MetaStore& meta, const std::string& project,
                              const std::string& key, const std::string& request,
                              const std::string& run_id, int64_t now_ns) {
  return meta::InTransaction(meta, [&] {
    return meta.PutIdempotencyKey({project, key, request, run_id, now_ns});
  });
}

Status ReleaseIdempotencyKey(meta::MetaStore& meta, const std::string& project,
                             const std::string& key) {
  return meta::InTransaction(meta, [&] { return meta.DeleteIdempotencyKey(project, key); });
}

Json PipelineVersionJson(const meta::PipelineVersionRecord& v, int64_t default_version) {
  return Json::MakeObject()
      .Set("project", v.project)
      .Set("name", v.name)
      .Set("version", v.version)
      .Set("default", v.version == default_version)
      .Set("digest", "sha256:" + v.digest)
      .Set("file", v.file)
      .Set("description", v.description)
      .Set("created_ns", v.created_ns)
      .Set("created_by", v.created_by);
}

}  // namespace weft::app
