#include "exec/podman.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "base/command.h"
#include "base/fs.h"

namespace weft::exec {
namespace {

constexpr const char* kConf = R"([containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
)";

// podman, with CONTAINERS_CONF naming `conf`.
Result<CommandOutput> Podman(const std::string& conf, std::vector<std::string> args) {
  args.insert(args.begin(), "podman");
  return RunCommand(args, {"CONTAINERS_CONF=" + conf});
}

}  // namespace

Result<std::string> WriteContainersConf(const std::string& dir) {
  std::string path = ContainersConfPath(dir);
  Result<std::string> have = ReadFileCapped(path, 1 << 16);
  if (have.ok() && *have == kConf) return path;
  Status s = WriteFileAtomic(path, kConf);
  if (!s.ok()) return s;
  return path;
}

Result<std::string> ImageId(const std::string& conf, const std::string& image) {
  // A reference, never an option: [registry[:port]/]name[:tag][@digest].
  bool valid = !image.empty() && std::isalnum(static_cast<unsigned char>(image[0])) &&
               std::all_of(image.begin(), image.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._-/:@", c);
               });
  if (!valid) return Status::Invalid(fmt::format("`{}` is not an image reference", image));
  Result<CommandOutput> r = Podman(conf, {"image", "inspect", "--format", "{{.Id}}", image});
  if (!r.ok()) {
    return Status::Invalid(fmt::format("cannot run podman ({}): install the Debian packages podman "
                                       "and runc to run steps in containers",
                                       r.status().message()));
  }
  std::string id = r->out.substr(0, r->out.find('\n'));
  if (r->exit_code != 0 || id.empty()) {
    return Status::NotFound(fmt::format(
        "the image `{}` is not on this machine, and no registry is reachable: build it (`podman "
        "build -t {} DIR`) or import it (`podman load -i FILE`, `podman import`), or map the name "
        "to a local image in .weft/config.yaml (containers: images: {{\"{}\": localhost/NAME}})",
        image, image, image));
  }
  return id;
}

Result<std::string> BuildImage(const std::string& conf, const std::string& context,
                               const std::string& tag, const std::string& log) {
  if (Result<std::string> id = ImageId(conf, tag); id.ok()) return id;
  Result<CommandOutput> r = Podman(conf, {"build", "--network", "none", "-t", tag, context});
  if (!log.empty() && r.ok()) {
    std::ofstream out(log, std::ios::app);
    out << r->out << r->err;
  }
  if (!r.ok() || r->exit_code != 0) {
    return Status::Invalid(fmt::format("podman build of {} failed: {}", context, FailureText(r)));
  }
  return ImageId(conf, tag);
}

Result<std::string> RunInImage(const std::string& conf, const std::string& image,
                               const std::vector<std::string>& argv) {
  std::vector<std::string> args = {"run", "--rm", "--network", "none", image};
  args.insert(args.end(), argv.begin(), argv.end());
  Result<CommandOutput> r = Podman(conf, args);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Status::Invalid(FailureText(r));
  return r->out;
}

std::vector<std::string> PodmanRunArgv(const LaunchSpec& spec, const std::string& name,
                                       const std::vector<std::string>& env) {
  const Container& c = *spec.container;
  std::vector<std::string> argv = {"/usr/bin/podman", "run", "--rm", "--name", name,
                                   "--network", c.network ? "slirp4netns" : "none"};
  if (spec.needs.cpus > 0) argv.push_back(fmt::format("--cpus={}", spec.needs.cpus));
  if (spec.needs.memory_mb > 0) argv.push_back(fmt::format("--memory={}m", spec.needs.memory_mb));
  if (!c.shm_size.empty()) argv.push_back("--shm-size=" + c.shm_size);
  for (const std::string& d : c.read_only) argv.push_back(fmt::format("--volume={}:{}:ro", d, d));
  for (const std::string& d : c.writable) argv.push_back(fmt::format("--volume={}:{}:rw", d, d));
  for (const std::string& kv : env) {  // the host's PATH means nothing in the image
    std::string var = kv.substr(0, kv.find('='));
    if (var != "PATH" && var != "CONTAINERS_CONF") argv.push_back("--env=" + var);
    if (var == "CUDA_VISIBLE_DEVICES") {  // the GPUs it was given, as devices
      std::string ids = kv.substr(var.size() + 1);
      for (size_t at = 0; !ids.empty() && at != std::string::npos;) {
        size_t comma = ids.find(',', at);
        argv.push_back("--device=/dev/nvidia" + ids.substr(at, comma == std::string::npos ? comma : comma - at));
        at = comma == std::string::npos ? comma : comma + 1;
      }
    }
  }
  argv.push_back("--workdir=" + spec.cwd);
  argv.push_back(c.image);
  if (spec.script_path.empty()) {
    argv.insert(argv.end(), {"/bin/bash", "-c", spec.command});
  } else {
    argv.insert(argv.end(), {"/bin/bash", spec.script_path});
  }
  return argv;
}

void RemoveContainers(const std::string& conf, const std::string& prefix) {
  (void)Podman(conf, {"rm", "--force", "--filter", "name=^" + prefix});
}

}  // namespace weft::exec
