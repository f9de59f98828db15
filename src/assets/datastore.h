// Datastores: named folders that stand for Azure ML's datastores on this machine.
//
// An output whose `path` is `azureml://datastores/<name>/paths/<path>` (with `${{name}}`,
// `${{output_name}}` and `${{default_datastore}}` filled in) is still committed to the store, which
// stays the truth; the datastore path then gets a link to the stored object. weft never writes
// outside a datastore's folder and never replaces a datastore path that holds something else.
#pragma once

#include <string>

#include "base/status.h"
#include "workspace/workspace.h"
#include "spec/registry.h"

namespace weft::assets {

struct OutputPlace {
  std::string step;              // ${{name}}
  std::string output;            // ${{output_name}}
  std::string default_datastore; // ${{default_datastore}}
};

// The datastore a datastore URI names (its placeholders filled in from `place`); empty when it is
// not a datastore path.
std::string DatastoreName(const std::string& uri_template, const OutputPlace& place = {});

// The local path a datastore URI names, after filling in the placeholders. An error when the URI
// is not a datastore path, or when it would leave the datastore's folder.
Result<std::string> DatastorePath(const ws::Workspace& ws, const std::string& uri_template,
                                  const OutputPlace& place);

// Where weft reads a data URI from on this machine: a datastore path (azureml://datastores/...)
// is in its datastore's folder; a URL (https://, wasbs://, abfss://, ...) is in the folder that
// `mirrors:` in the workspace configuration gives for its longest matching prefix. `error` (with
// a `hint`) when there is no such place or nothing is there.
spec::UriLocation LocateData(const ws::Workspace& ws, const std::string& uri);

// Links `object_path` (a store object) at the datastore path `uri_template` names. Linking the
// same object again is a no-op; a path that holds anything else is an error naming it.
Status PublishToDatastore(const ws::Workspace& ws, const std::string& uri_template,
                          const OutputPlace& place, const std::string& object_path);

}  // namespace weft::assets
