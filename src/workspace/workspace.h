// The workspace: where weft keeps its database, store, run folders and configuration.
//
//   .weft/weft.db        metadata (SQLite, WAL)
//   .weft/store/         content-addressed objects
//   .weft/runs/<run>/<step index>.<attempt>/   a step attempt: log, working folder, staged outputs
//   .weft/envs/<id>/bin  the `python` each environment puts first on PATH
//   .weft/config.yaml    optional settings (docs/runs.md: resources, environments, datastores;
//                        docs/compute.md: compute targets, containers)
//   .weft/containers.conf  podman's configuration for steps in containers (exec/podman.h)
//
// Found like git: the nearest `.weft` folder above the current one, else created there; or named
// with --workspace DIR or WEFT_WORKSPACE.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/diag.h"
#include "base/status.h"

namespace weft::ws {

struct EnvironmentConfig {
  std::string python;              // interpreter to use for this environment
  bool identity_declared = false;  // `identity: declared`: only declared packages count
  std::optional<bool> container;   // `container:`: run it in a container (default: `containers.enabled`)
};

// `containers:`: whether environments with `image:` or `build:` run in containers (podman), and
// how (docs/compute.md#containers).
struct ContainersConfig {
  bool enabled = false;
  bool network = false;                       // false: steps in containers have no network
  std::map<std::string, std::string> images;  // image names as published -> local images
};

// A compute target as the configuration's `computes:` declares it (docs/compute.md).
struct ComputeConfig {
  std::string type = "local";  // local (this machine) or slurm (a cluster)
  // slurm: where and how its jobs are submitted
  std::string partition, account, qos;
  std::vector<std::string> sbatch_args;  // extra arguments to sbatch, as they are
  std::vector<std::string> setup;        // lines run before each step ("module load cuda")
  std::vector<std::string> export_vars;  // `export:` variables of weft's environment jobs get
  std::string weft;                      // the weft binary as the nodes see it (default: this one)
  int64_t max_cpus = 0;                  // CPUs weft's jobs may hold at once (0: no limit)
};

struct Config {
  std::string python = "/usr/bin/python3";  // the default interpreter
  int64_t cpus = 0;                         // 0: detect
  int64_t memory_mb = 0;                    // 0: detect
  int64_t gpus = -1;                        // -1: detect
  // `environment_identity: declared`: an environment's identity covers the interpreter and the
  // packages it declares only, not every distribution it can import (env/environment.h).
  bool identity_declared = false;
  std::map<std::string, EnvironmentConfig> environments;  // by reference ("azureml:x:1") or name
  ContainersConfig containers;
  std::map<std::string, std::string> datastores;          // name -> folder
  std::map<std::string, ComputeConfig> computes;  // compute names pipelines use -> targets
  std::map<std::string, std::string> mirrors;  // URL prefix (https://, wasbs://, ...) -> folder
  bool sandbox = true;  // steps run under bubblewrap with the workspace read-only (`sandbox: off`)
  std::vector<std::string> secrets;  // environment variables whose values weft never writes down
};

struct Workspace {
  std::string dir;  // the .weft folder, absolute
  Config config;

  std::string db_path() const { return dir + "/weft.db"; }
  std::string store_dir() const { return dir + "/store"; }
  std::string runs_dir() const { return dir + "/runs"; }
  std::string envs_dir() const { return dir + "/envs"; }
  // The results of parallel steps' mini-batches, by key (engine/parallel.h).
  std::string batches_dir() const { return dir + "/batches"; }
  // A run's folders: the run's (`runs/<run>`, with `submitted/`, the submission's inputs); a
  // step's with several jobs (`<run>/<step>`, with their shared `out.NAME` and `artifacts`); an
  // attempt's (`<run>/<step>.<attempt>`, or `<run>/<step>/<job>.<attempt>` with several jobs),
  // with its `command`, `log`, `metrics.jsonl`, working folder `work/` and staged `out.NAME`.
  std::string run_dir(const std::string& run) const { return runs_dir() + "/" + run; }
  std::string step_dir(const std::string& run, int64_t step) const;
  std::string attempt_dir(const std::string& run, int64_t step, int64_t jobs, int64_t job,
                          int64_t attempt) const;
  std::string Datastore(const std::string& name) const;
  std::string config_path() const { return dir + "/config.yaml"; }
};

// The workspace lock (`.weft/lock`, flock): every command that uses the workspace holds it
// shared for as long as it runs; `weft gc` holds it exclusively, so it never removes an object a
// run is using or about to use. Not inherited by steps.
class WorkspaceLock {
 public:
  enum class Mode { kShared, kExclusive };
  // With `wait`, blocks until the lock is free; else fails (Status::Busy) when it is not.
  static Result<WorkspaceLock> Acquire(const Workspace& ws, Mode mode, bool wait);
  // Makes the lock `mode`. The change is not atomic (flock(2)): a change that fails has let the
  // lock go, so take it again (`wait`) before going on.
  Status Change(Mode mode, bool wait);
  WorkspaceLock(WorkspaceLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  WorkspaceLock& operator=(WorkspaceLock&& other) noexcept;
  WorkspaceLock(const WorkspaceLock&) = delete;
  WorkspaceLock& operator=(const WorkspaceLock&) = delete;
  ~WorkspaceLock();

 private:
  explicit WorkspaceLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// "512", "512MB", "8G", "8GiB", "1TB" -> megabytes (a plain number is megabytes).
int64_t ParseMegabytes(const std::string& text);

// Finds or creates the workspace. `explicit_dir` (--workspace, or $WEFT_WORKSPACE) wins, then the
// nearest `.weft` above `cwd`, else `cwd/.weft` is created. Reads config.yaml when present;
// its problems are reported to `diags`.
Result<Workspace> OpenWorkspace(const std::string& explicit_dir, const std::string& cwd,
                                Diagnostics& diags);

}  // namespace weft::ws
