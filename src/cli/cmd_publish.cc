// `weft publish FILE --name N [--description D] [--folder DIR]`: a pipeline's files, sent to a
// server (--server) as the next version of a published pipeline.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "base/fs.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"

namespace weft::cli {

std::function<int()> SetupPublish(CLI::App& sub) {
  struct Options {
    RemoteArgs remote;
    std::string file, name, description, folder;
    std::string project;
  };
  auto o = std::make_shared<Options>();
  o->remote.AddTo(sub);
  sub.add_option("file", o->file, "the pipeline file")->required();
  sub.add_option("--name", o->name, "the published pipeline's name")->required();
  sub.add_option("--description", o->description, "what this version is");
  sub.add_option("--folder", o->folder,
                 "the folder whose files are sent (default: the pipeline's own folder)");
  sub.add_option("--project", o->project, "the project to publish in (admin tokens)");
  return [o] {
    if (!o->remote.remote()) {
      return Fail(Status::Invalid(
          "weft publish publishes to a server: give it with --server URL (or $WEFT_SERVER)"));
    }
    Result<Bundle> bundle = BundleOf(o->file, o->folder);
    if (!bundle.ok()) return Fail(bundle.status());
    Result<std::unique_ptr<server::HttpClient>> client = o->remote.Connect();
    if (!client.ok()) return Fail(client.status());
    Result<std::string> upload = SendBundle(**client, *bundle, o->project);
    if (!upload.ok()) return Fail(upload.status());
    std::string path = fmt::format("/pipelines?name={}&file={}&upload={}", QueryValue(o->name),
                                   QueryValue(bundle->file), *upload);
    if (!o->description.empty()) path += "&description=" + QueryValue(o->description);
    if (!o->project.empty()) path += "&project=" + QueryValue(o->project);
    Result<Json> answer = CallApi(**client, "POST", path);
    if (!answer.ok()) return Fail(answer.status());
    const Json& v = *answer->Find("version");
    const Json* created = answer->Find("created");
    fmt::print("{} {} version {} ({})\n", TextOf(v, "name"),
               created && *created->Bool() ? "published as" : "already has these files as",
               IntOf(v, "version"), TextOf(v, "digest").substr(0, 19));
    return 0;
  };
}

}  // namespace weft::cli
