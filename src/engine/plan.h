// What can be settled about each step before anything runs: its code snapshot, its environment,
// its resource needs, and the store objects of its local data inputs. (engine/ internal.)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/parallel.h"
#include "engine/sweep_sample.h"
#include "env/environment.h"
#include "exec/executor.h"
#include "workspace/workspace.h"
#include "graph/graph.h"
#include "meta/meta.h"
#include "store/store.h"

namespace weft::engine {

struct StepPlan {
  const spec::CommandComponent* command = nullptr;  // what runs
  // A parallel step: its workers' command (`python -m weft_parallel` and the program arguments,
  // in the task's code folder and environment), which `command` points to, and its settings.
  std::shared_ptr<const spec::CommandComponent> worker;
  std::optional<ParallelSettings> parallel;
  // A sweep step: its trials (one job each), how they run and how the best is chosen.
  struct Sweep {
    const spec::SweepSpec* spec = nullptr;  // the search space and the early termination policy
    // Drawn before the run (grid, random, sobol); bayesian trials are proposed as it goes, `batch`
    // at a time, each batch from the trials before it.
    std::vector<TrialParams> trials;
    bool bayesian = false;
    uint64_t seed = 0;
    int64_t batch = 0;
    int64_t total = 0;           // trials in all
    int64_t max_concurrent = 0;  // 0: as capacity allows
    int64_t timeout_s = 0;       // the whole sweep's (0: none); each trial's is the step's timeout_s
    std::string metric;
    bool maximize = true;
    std::string describe;  // what changes results, for the fingerprint
  };
  std::optional<Sweep> sweep;
  std::optional<store::ObjectRef> code;             // code snapshot
  std::shared_ptr<const env::ResolvedEnvironment> env;  // shared by the steps that use it
  exec::Needs needs;  // as asked for (the run clamps it to its target's capacity)
  // Data inputs that are not other steps' outputs, already in the store, by input name.
  std::map<std::string, store::ObjectRef> data;
  // resources.docker_args' variables, then the component's, then the node's (the last wins).
  std::vector<std::pair<std::string, std::string>> env_vars;
  std::vector<std::string> container_options;  // podman's, from resources.docker_args
  int64_t timeout_s = 0;
  // resources.properties weft.retries / weft.retry_delay: attempts after a failure or timeout, the
  // first after retry_delay_s seconds, each later one after twice the wait before it.
  int64_t retries = 0;
  int64_t retry_delay_s = 10;
  exec::Distribution distribution;
  // How many jobs the step expands into (parallel mini-batches and sweep trials will; a command
  // step has one). Each job k gets WEFT_JOB=k and WEFT_JOBS in its environment.
  int jobs = 1;
};

// The local paths a run read (code folders, data inputs, its YAML files) and what they held. A
// resumed run reads them from here instead of the file system: it replays what was submitted.
struct Snapshots {
  // When replaying: the folder that mirrors the submitted paths; a path under it stands for the
  // same path without it.
  std::string replay_root;
  std::map<std::string, store::ObjectRef> by_path;  // recorded; when replaying, given
};

// Plans every step. Errors name the step (exit 2): sweep nodes, unreadable code or
// data, missing packages, datastore paths that do not exist, URLs weft cannot fetch. Every path
// it snapshots is recorded in `snapshots` (and taken from there when it is already); long
// snapshots report to `progress`.
Result<std::vector<StepPlan>> PlanSteps(const graph::Graph& graph, const ws::Workspace& ws,
                                        store::Store& store,
                                        meta::MetaStore& meta, env::Environments& envs,
                                        Snapshots& snapshots, const store::ProgressFn& progress,
                                        std::vector<std::string>* warnings);

// The environment a step runs in: the node's, else its component's (null for nodes that have
// neither, such as sweep nodes).
const spec::Environment* StepEnvironment(const graph::Step& step);

// For `weft validate`: every package the steps' environments declare and their interpreters lack,
// as an error where it is declared (with what to install).
void CheckEnvironments(const graph::Graph& graph, env::Environments& envs, Diagnostics& diags);

// For `weft validate`: what `weft run` would refuse in the steps' code folders (links that point
// outside them, FIFOs, devices), as an error at each component's `code`.
void CheckCodeFolders(const graph::Graph& graph, Diagnostics& diags);

}  // namespace weft::engine
