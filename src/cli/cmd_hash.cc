// `weft hash PATH...`: the digest each path would have in the store, without storing it.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "store/store.h"

namespace weft::cli {

std::function<int()> SetupHash(CLI::App& sub) {
  struct Options {
    std::vector<std::string> paths;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("paths", o->paths, "files or folders")->required();
  sub.add_flag("--json", o->json, "one JSON object per path");
  return [o] {
    for (const std::string& path : o->paths) {
      Result<store::ObjectRef> ref = store::HashPath(path);
      if (!ref.ok()) return Fail(ref.status());
      std::string hex = ToHex(ref->digest);
      if (o->json) {
        Json j = Json::MakeObject();
        j.Set("path", path).Set("digest", "sha256:" + hex);
        j.Set("type", std::string(store::TypeName(ref->type)));
        j.Set("files", ref->files).Set("bytes", ref->bytes);
        fmt::print("{}\n", j.Dump(-1));
      } else {
        fmt::print("sha256:{}  {}\n", hex, path);
      }
    }
    return 0;
  };
}

}  // namespace weft::cli
