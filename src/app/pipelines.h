// Published pipelines: a pipeline's files, uploaded once, kept as numbered versions of a name
// within a project that never change; runs are started from a version with typed inputs (over
// REST, by schedules). And idempotency keys: a request sent twice starts one run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/identity.h"
#include "app/pipeline.h"
#include "base/json.h"
#include "base/status.h"
#include "meta/meta.h"
#include "spec/registry.h"
#include "workspace/workspace.h"

namespace weft::app {

// A name of a published pipeline or a schedule: letters, digits, `_`, `.` and `-`, starting with
// a letter or digit, at most 255.
bool ValidName(const std::string& name);

struct PublishRequest {
  std::string project;
  std::string name;  // letters, digits, `_`, `.` and `-`, starting with a letter or digit
  std::string description;
  std::string folder;  // the uploaded files (app::Unpack), inside the workspace
  std::string file;    // the pipeline, relative to `folder`
};

struct Published {
  meta::PipelineVersionRecord version;
  bool created = false;  // false: this content was published under this name already
};

// Publishes (contributors): the pipeline must load, its files confined to the upload (its
// problems, located, are Invalid); records the name's next version, or returns the version
// with the same content (the files' tree and which one is the pipeline). Audited.
Result<Published> Publish(meta::MetaStore& meta, const ws::Workspace& ws,
                          const spec::Registry& registry, const Caller& caller,
                          const PublishRequest& request, int64_t now_ns);

// A name's version by number; 0: its default version. NotFound names what exists.
Result<meta::PipelineVersionRecord> FindPipelineVersion(meta::MetaStore& meta,
                                                        const std::string& project,
                                                        const std::string& name, int64_t version);

// Moves a name's default version (owners). Audited.
Status SetDefaultVersion(meta::MetaStore& meta, const Caller& caller, const std::string& project,
                         const std::string& name, int64_t version, int64_t now_ns);

// Where a run of a version reads its files from: only the version's own, with `sets`.
PipelineSource VersionSource(const ws::Workspace& ws, const meta::PipelineVersionRecord& version,
                             std::vector<std::string> sets);

// What a version's pipeline declares as inputs, in order, for forms: each `name`, `type`
// (integer, number, boolean, string, or a data type such as uri_folder), `default` (null when
// none), `optional`.
Result<Json> DeclaredInputs(const ws::Workspace& ws, const spec::Registry& registry,
                            const meta::PipelineVersionRecord& version);

// A run's inputs given as JSON (`{"lr": 0.1, "data": "azureml:images:2"}`) as `--set` texts
// ("inputs.lr=0.1"): strings as they are, numbers and booleans as written; anything else is
// Invalid, naming the input. The pipeline then checks each against its declared type.
Result<std::vector<std::string>> InputSets(const Json& inputs);

// Idempotency keys (the `Idempotency-Key` header). Claim: nullopt when `key` is new in the
// project (it is now this request's); the run started by an earlier request with this key and
// the same `request` digest; Busy when that request is still being carried out, Invalid when the
// key was used for another request. Then Complete with the run started, or Release if none was.
Result<std::optional<std::string>> ClaimIdempotencyKey(meta::MetaStore& meta,
                                                       const std::string& project,
                                                       const std::string& key,
                                                       const std::string& request, int64_t now_ns);
Status CompleteIdempotencyKey(meta::MetaStore& meta, const std::string& project,
                              const std::string& key, const std::string& request,
                              const std::string& run_id, int64_t now_ns);
Status ReleaseIdempotencyKey(meta::MetaStore& meta, const std::string& project,
                             const std::string& key);

// A published pipeline's version as the API shows it.
Json PipelineVersionJson(const meta::PipelineVersionRecord& version, int64_t default_version);

}  // namespace weft::app
