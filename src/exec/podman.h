// podman (Debian `podman`, rootful, with runc), the only user of it: container images and the
// command that runs a job in a container (docs/compute.md#containers).
//
// podman is configured by a containers.conf weft writes into the workspace (`.weft/containers.conf`)
// and names with CONTAINERS_CONF: runc, cgroupfs, a file events logger and explicit ulimits (crun
// and the defaults fail on hybrid cgroup hosts). Nothing under /etc is changed.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "exec/executor.h"

namespace weft::exec {

// Where the containers.conf weft runs podman with is, in the workspace folder `dir`.
inline std::string ContainersConfPath(const std::string& dir) { return dir + "/containers.conf"; }
// Writes it (when missing or different); returns its path.
Result<std::string> WriteContainersConf(const std::string& dir);

// The id of a local image (`podman image inspect`), or NotFound saying how to make it present: no
// registry is reachable.
Result<std::string> ImageId(const std::string& conf, const std::string& image);

// Builds the Dockerfile folder `context` as `tag` (`podman build --network none`), unless `tag`
// exists already; returns the image's id. The build's output goes to `log` (appended).
Result<std::string> BuildImage(const std::string& conf, const std::string& context,
                               const std::string& tag, const std::string& log);

// Runs `argv` in `image` (no network, nothing bound) and returns what it printed: for probing the
// image's Python.
Result<std::string> RunInImage(const std::string& conf, const std::string& image,
                               const std::vector<std::string>& argv);

// The podman command line that runs the job's script in its container: the workspace bound
// read-only, the job's writable folders read-write (at the same paths), its working folder, no
// network unless the container allows it, its CPUs and memory as limits, its GPUs
// (CUDA_VISIBLE_DEVICES) as devices, and every variable of `env` (the process's environment, which
// podman is started with) passed by name (`--env NAME`: values never appear on a command line) but
// PATH (the image's own applies). `name` names the container so that a later weft can remove it.
std::vector<std::string> PodmanRunArgv(const LaunchSpec& spec, const std::string& name,
                                       const std::vector<std::string>& env);

// What of a step's `resources.docker_args` (docker's run options, as one text) a container is
// given: the options whose effect stays inside the container, each checked, as podman options of
// one word (`--shm-size=16g`, `--ulimit=memlock=-1:-1`, `--ipc=private|shareable|none`, `--init`),
// and the variables of `-e`/`--env NAME=VALUE` (added to the job's environment, so passed by name).
// Everything else (binds, devices, privileges, the host's namespaces, networks) is refused: weft
// binds and confines the container itself; so is a ulimit above this host's hard limit when weft
// may not raise it (no CAP_SYS_RESOURCE: the container would not start). `refused`: each refused
// option as written, and why.
struct DockerArgs {
  std::vector<std::string> options;
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::pair<std::string, std::string>> refused;
};
DockerArgs ReadDockerArgs(const std::string& text);

// Removes every container whose name starts with `prefix` (`podman rm -f`): what a dead weft's
// jobs left.
void RemoveContainers(const std::string& conf, const std::string& prefix);

}  // namespace weft::exec
