#include "engine/plan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "base/fs.h"
#include "assets/datastore.h"
#include "engine/bayesian.h"
#include "env/mlflow_shim.h"
#include "exec/podman.h"

namespace weft::engine {
namespace {

std::string Property(const spec::Resources& node, const spec::Resources& component,
                     const std::string& key) {
  for (const auto* r : {&node, &component}) {
    for (const auto& [k, v] : r->properties) {
      if (k == key) return v;
    }
  }
  return {};
}

// A parallel step runs as workers: `python -m weft_parallel PROGRAM_ARGUMENTS` in the task's code
// folder and environment, as many as its resources ask for (jobs of the step).
Status PlanParallel(const spec::Node& node, const ws::Workspace& ws, StepPlan& plan,
                    std::vector<std::string>* warnings) {
  const spec::ParallelComponent& pc = *node.parallel;
  // Workers per instance, unless the step says: one per core, or one when it asks for GPUs.
  bool gpus = std::atoll(Property(node.resources, pc.resources, "weft.gpus").c_str()) > 0;
  int64_t per_instance = gpus ? 1 : static_cast<int64_t>(std::thread::hardware_concurrency());
  Result<ParallelSettings> settings = ReadParallelSettings(pc, node, per_instance);
  if (!settings.ok()) return settings.status();
  for (const std::string& w : settings->warnings) warnings->push_back(w);
  Result<env::InstalledShim> runtime = env::InstallRuntime(ws);
  if (!runtime.ok()) return runtime.status();
  auto worker = std::make_shared<spec::CommandComponent>();
  static_cast<spec::ComponentBase&>(*worker) = pc;
  worker->code = pc.task.code;
  worker->environment = pc.task.environment;
  worker->command.text = "python -m weft_parallel";
  if (!pc.task.program_arguments.empty()) worker->command.text += " " + pc.task.program_arguments.text;
  worker->resources = pc.resources;
  worker->environment_variables = pc.environment_variables;
  plan.command = worker.get();
  plan.worker = std::move(worker);
  settings->runtime = runtime->identity;
  plan.jobs = static_cast<int>(std::min<int64_t>(settings->workers, 4096));
  plan.parallel = std::move(*settings);
  return Status::Ok();
}

// Whether a trial could log `metric`: its command or one of its code folder's scripts holds the
// name, or turns on MLflow's autologging. At most 16 MB of scripts are read (a code folder may
// hold data and models; those never name a metric to log).
bool MentionsMetric(const spec::CommandComponent& trial, const std::string& metric) {
  if (trial.command.text.find(metric) != std::string::npos) return true;
  if (trial.code.empty()) return false;
  static const std::set<std::string> kScripts = {".py", ".sh", ".r", ".R", ".ipynb", ".yml", ".yaml",
                                                 ".json", ".cfg", ".toml", ".ini"};
  std::error_code ec;
  uintmax_t budget = 16u << 20;
  for (std::filesystem::recursive_directory_iterator it(trial.code, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || kScripts.count(it->path().extension().string()) == 0) continue;
    uintmax_t size = it->file_size(ec);
    if (ec || size > budget) return true;  // not read: no reason to warn
    budget -= size;
    std::ifstream in(it->path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    // (MLflow's autologging logs metrics its scripts never name.)
    if (text.find(metric) != std::string::npos || text.find("autolog") != std::string::npos) return true;
  }
  return ec.value() != 0;  // unreadable: no reason to warn
}

// How a dimension of a search space is written in the fingerprint.
std::string DescribeDimension(const spec::SearchDimension& d) {
  std::string out = fmt::format("{}:{}", d.name, d.type);
  for (size_t k = 0; k < d.values.size(); ++k) {
    if (!d.nested() || d.options[k].empty()) {
      out += " " + d.values[k].Render();
      continue;
    }
    out += " {";
    for (const spec::SearchDimension& inner : d.options[k]) out += " " + DescribeDimension(inner) + ";";
    out += " }";
  }
  if (d.upper) out += fmt::format(" upper={}", *d.upper);
  for (auto [key, v] : {std::pair{"min", d.min_value}, {"max", d.max_value}, {"q", d.q},
                        {"mu", d.mu}, {"sigma", d.sigma}}) {
    if (v) out += fmt::format(" {}={}", key, Literal::Float(*v).Render());
  }
  return out;
}

// A sweep step runs its trials as jobs of the step: the trial's command, each with its
// hyperparameters. Grid, random and Sobol trials are drawn before the run (with the seed), so a
// rerun has the same ones; bayesian ones are proposed as the run goes, in fixed batches.
Status PlanSweep(const spec::Node& node, StepPlan& plan) {
  const spec::SweepSpec& sw = *node.sweep;
  auto refuse = [&](const std::string& what) {
    std::string at = sw.loc.file ? fmt::format("{}:{}:{}: ", *sw.loc.file, sw.loc.line, sw.loc.col) : "";
    return Status::Invalid(fmt::format("{}step {}: {}", at, node.name, what));
  };
  if (!sw.trial) return refuse("its trial is missing");
  for (const spec::SearchDimension& d : sw.search_space) {
    if (d.type == "choice" && d.values.empty()) return refuse(fmt::format("`{}` has no values", d.name));
  }
  StepPlan::Sweep sweep;
  sweep.spec = &sw;
  sweep.seed = static_cast<uint64_t>(sw.seed.value_or(0));
  int64_t limit = sw.max_total_trials.value_or(0);
  if (limit > static_cast<int64_t>(kMaxTrials)) {
    return refuse(fmt::format("`limits.max_total_trials` is {}; weft runs at most {} trials in one sweep",
                              limit, kMaxTrials));
  }
  const std::string& algorithm = sw.sampling_algorithm;
  if (algorithm == "grid") {
    Result<std::vector<TrialParams>> grid = GridTrials(sw.search_space, limit);
    if (!grid.ok()) return refuse(grid.status().message());
    sweep.trials = std::move(*grid);
  } else if (limit <= 0) {
    return refuse(fmt::format("{} sampling needs `limits.max_total_trials`", algorithm));
  } else if (algorithm == "bayesian") {
    sweep.bayesian = true;
    sweep.batch = sw.max_concurrent_trials.value_or(kBayesianBatch);
  } else if (sw.rule == "sobol") {
    sweep.trials = SobolTrials(sw.search_space, sweep.seed, limit);
  } else {
    sweep.trials = RandomTrials(sw.search_space, sweep.seed, limit);
  }
  sweep.total = sweep.bayesian ? limit : static_cast<int64_t>(sweep.trials.size());
  if (sweep.total == 0) return refuse("its search space gives no trials");
  sweep.max_concurrent = sw.max_concurrent_trials.value_or(sweep.bayesian ? sweep.batch : 0);
  sweep.timeout_s = sw.timeout.value_or(0);
  sweep.metric = sw.primary_metric;
  sweep.maximize = sw.goal != "minimize";
  // What decides which trials run and which wins. A sweep's time limit can cut it short at any
  // point, so it is part of it too.
  const spec::EarlyTermination& et = sw.early_termination;
  sweep.describe = fmt::format("{} rule={} seed={} goal={} metric={} total={} batch={} timeout={}",
                               algorithm, sw.rule, sweep.seed, sw.goal, sw.primary_metric, sweep.total,
                               sweep.batch, sweep.timeout_s);
  if (!et.type.empty()) {
    sweep.describe += fmt::format("\nearly_termination={} every={} delay={} factor={} amount={} pct={} "
                                  "exclude_finished={}",
                                  et.type, et.evaluation_interval, et.delay_evaluation,
                                  et.slack_factor.value_or(-1), et.slack_amount.value_or(-1),
                                  et.truncation_percentage, et.exclude_finished_jobs);
  }
  for (const spec::SearchDimension& d : sw.search_space) sweep.describe += "\n" + DescribeDimension(d);
  plan.command = sw.trial.get();
  plan.jobs = static_cast<int>(sweep.total);
  plan.timeout_s = sw.trial_timeout.value_or(0);
  plan.sweep = std::move(sweep);
  return Status::Ok();
}

// What can be said of a parallel step's split input before anything runs, when it is local data:
// a folder with no files, or a table read from Parquet in an environment without pyarrow (an
// error at the MLTable file's line).
Status CheckSplitInput(const graph::Step& step, const StepPlan& plan, const store::Store& store,
                       env::Environments& envs) {
  const std::string& input = plan.parallel->input;
  auto split = plan.data.find(input);
  if (split == plan.data.end() || split->second.type != store::ObjectType::kFolder) return Status::Ok();
  std::string folder = store.DeliveryPath(split->second);
  std::error_code ec;
  if (std::filesystem::is_empty(folder, ec)) {
    return Status::Invalid(fmt::format("step {}, input {}: the folder holds no files to split into "
                                       "mini-batches",
                                       step.name, input));
  }
  Result<std::string> mltable = ReadFileCapped(folder + "/MLTable", 1 << 20);
  size_t at = mltable.ok() ? mltable->find("read_parquet") : std::string::npos;
  if (at == std::string::npos) return Status::Ok();
  Result<bool> pyarrow = envs.Provides(*StepEnvironment(step), "pyarrow", step.name);
  if (!pyarrow.ok() || *pyarrow) return pyarrow.status();
  std::string user_folder;
  for (const graph::StepInput& in : step.inputs) {
    if (in.name == input) user_folder = in.source.local_path;
  }
  size_t line = 1 + static_cast<size_t>(std::count(mltable->begin(), mltable->begin() + at, '\n'));
  size_t col = at - (mltable->rfind('\n', at) == std::string::npos ? 0 : mltable->rfind('\n', at) + 1) + 1;
  return Status::Invalid(fmt::format("{}/MLTable:{}:{}: error: step {}: read_parquet needs pyarrow, "
                                     "which the step's interpreter cannot import (Debian 12 does not "
                                     "package it); convert the table to CSV or JSON lines",
                                     user_folder.empty() ? "input " + input : user_folder, line, col,
                                     step.name));
}

}  // namespace

const spec::Environment* StepEnvironment(const graph::Step& step) {
  const spec::Node& node = *step.node;
  if (node.environment.kind != spec::Environment::Kind::kNone) return &node.environment;
  if (node.parallel) return &node.parallel->task.environment;
  if (node.sweep && node.sweep->trial) return &node.sweep->trial->environment;
  return node.command ? &node.command->environment : nullptr;
}

void CheckEnvironments(const graph::Graph& graph, env::Environments& envs, Diagnostics& diags) {
  std::set<const spec::Environment*> seen;
  for (const graph::Step& step : graph.steps) {
    const spec::Environment* env = StepEnvironment(step);
    if (env == nullptr || !seen.insert(env).second) continue;
    Result<std::vector<env::MissingPackage>> missing = envs.Missing(*env, step.name);
    if (!missing.ok()) {
      diags.Error(env->loc, missing.status().message());
      continue;
    }
    for (const env::MissingPackage& m : *missing) {
      diags.Error(m.at, fmt::format("step {}: the environment's interpreter has no Python package "
                                    "`{}`",
                                    step.name, m.name),
                  m.hint);
    }
  }
}

void CheckCodeFolders(const graph::Graph& graph, Diagnostics& diags) {
  std::set<const spec::CommandComponent*> seen;
  for (const graph::Step& step : graph.steps) {
    const spec::CommandComponent* c = step.node->command.get();
    if (c == nullptr || c->code.empty() || !seen.insert(c).second) continue;
    if (StatPath(c->code) != PathKind::kDirectory) continue;  // a single file, or reported already
    store::IgnoreRules rules = store::IgnoreRules::ForFolder(c->code);
    Status s = store::CheckTree(c->code, {}, &rules);
    if (!s.ok()) {
      diags.Error(c->code_loc, fmt::format("code folder {}: {}", c->code, s.message()),
                  "`weft run` cannot snapshot it; leave the entry out with a pattern in "
                  ".amlignore (or .gitignore) at the code folder's root");
    }
  }
}

Result<std::vector<StepPlan>> PlanSteps(const graph::Graph& graph, const ws::Workspace& ws,
                                        store::Store& store,
                                        meta::MetaStore& meta, env::Environments& envs,
                                        Snapshots& snapshots, const store::ProgressFn& progress,
                                        std::vector<std::string>* warnings) {
  std::vector<StepPlan> plans(graph.steps.size());
  std::set<const env::ResolvedEnvironment*> kept_envs;
  auto snapshot = [&](const std::string& path, bool code) -> Result<store::ObjectRef> {
    const std::string& root = snapshots.replay_root;
    std::string key = !root.empty() && path.rfind(root + "/", 0) == 0
                          ? path.substr(root.size())
                          : std::filesystem::absolute(path).lexically_normal().string();
    if (auto it = snapshots.by_path.find(key); it != snapshots.by_path.end()) return it->second;
    // weft's own files (store, database, run folders, environments) are never pipeline data or
    // code; a code folder may hold the workspace (its `.weft` is always left out), data may not.
    // The workspace's datastores (`.weft/datastores`) are the user's data, and what is inside a
    // store object (what a datastore path or a registered asset links to) is immutable data.
    std::string real = std::filesystem::weakly_canonical(path).string();
    auto under = [&](const std::string& dir) { return real == dir || real.rfind(dir + "/", 0) == 0; };
    bool object = real.rfind(ws.store_dir() + "/objects/", 0) == 0;
    bool own = (under(ws.store_dir()) && !object) || under(ws.runs_dir()) ||
               under(ws.envs_dir()) || real.rfind(ws.db_path(), 0) == 0 || real == ws.dir;
    bool holds = ws.dir.rfind(real == "/" ? real : real + "/", 0) == 0;
    if (own || (holds && !code)) {
      return Status::Invalid(fmt::format("`{}` {} weft's workspace ({}); pipeline {} cannot be weft's "
                                         "own files",
                                         path, own ? "is inside" : "holds", ws.dir,
                                         code ? "code" : "data"));
    }
    for (const char* kernel : {"/proc", "/sys", "/dev"}) {
      if (under(kernel)) {
        return Status::Invalid(fmt::format("`{}` is in {}, where the kernel shows its own state; "
                                           "pipeline {} must be files and folders",
                                           path, kernel, code ? "code" : "data"));
      }
    }
    // A link (a datastore path weft published) is read where it points.
    store::IgnoreRules rules = store::IgnoreRules::ForFolder(real);
    Result<store::ObjectRef> ref = store.Snapshot(real, &meta, code ? &rules : nullptr, progress);
    if (ref.ok()) snapshots.by_path[key] = *ref;
    return ref;
  };
  for (size_t i = 0; i < graph.steps.size(); ++i) {
    const graph::Step& step = graph.steps[i];
    const spec::Node& node = *step.node;
    StepPlan& plan = plans[i];
    plan.command = node.command.get();
    if (node.type == spec::NodeType::kSweep) {
      Status s = PlanSweep(node, plan);
      if (!s.ok()) return s;
    }
    if (node.type == spec::NodeType::kParallel) {
      Status s = PlanParallel(node, ws, plan, warnings);
      if (!s.ok()) return s;
    }
    const spec::CommandComponent& c = *plan.command;
    if (!c.code.empty()) {
      Result<store::ObjectRef> ref = snapshot(c.code, true);
      if (!ref.ok()) {
        return Status(ref.status().code(), fmt::format("step {}: cannot snapshot its code: {}",
                                                       step.name, ref.status().message()));
      }
      plan.code = *ref;
    }
    if (plan.sweep && !MentionsMetric(c, plan.sweep->metric)) {
      warnings->push_back(fmt::format("step {}: neither the trial's command nor its code mentions the "
                                      "primary metric `{}`; a trial that never logs it does not count",
                                      step.name, plan.sweep->metric));
    }
    Result<std::shared_ptr<const env::ResolvedEnvironment>> resolved =
        envs.Resolve(*StepEnvironment(step), step.name);
    if (!resolved.ok()) return resolved.status();
    plan.env = *resolved;
    if (kept_envs.insert(plan.env.get()).second) {
      // What the identity stands for, kept once per environment for `weft explain`.
      Status kept = meta.PutEnvironment(plan.env->identity, plan.env->description);
      if (!kept.ok()) return kept;
      for (const std::string& w : plan.env->warnings) warnings->push_back(w);
    }
    for (const graph::StepInput& in : step.inputs) {
      if (in.source.kind != graph::ValueSource::Kind::kData) continue;
      std::string path = in.source.local_path;
      if (path.empty()) {
        spec::UriLocation at = assets::LocateData(ws, in.source.uri);
        if (!at.error.empty()) {
          return Status::Invalid(fmt::format("step {}, input {}: {}", step.name, in.name, at.error));
        }
        path = at.path;
      }
      Result<store::ObjectRef> ref = snapshot(path, false);
      if (!ref.ok()) {
        return Status(ref.status().code(),
                      fmt::format("step {}, input {}: {}", step.name, in.name, ref.status().message()));
      }
      plan.data[in.name] = *ref;
    }
    if (plan.parallel) {
      Status s = CheckSplitInput(step, plan, store, envs);
      if (!s.ok()) return s;
    }
    plan.env_vars.clear();
    const std::string& docker_args = !step.node->resources.docker_args.empty()
                                         ? step.node->resources.docker_args
                                         : c.resources.docker_args;
    if (!plan.env->image.empty() && !docker_args.empty()) {  // in a container: what podman can do
      exec::DockerArgs docker = exec::ReadDockerArgs(docker_args);
      plan.container_options = std::move(docker.options);
      plan.env_vars = std::move(docker.env);
      for (const auto& [refused, why] : docker.refused) {
        warnings->push_back(fmt::format("step {}: resources.docker_args: `{}` is not passed to podman: {}{}",
                                        step.name, refused, why,
                                        refused.rfind("--ipc", 0) == 0
                                            ? " (for more shared memory, set resources.shm_size)"
                                            : ""));
      }
    }
    plan.env_vars.insert(plan.env_vars.end(), c.environment_variables.begin(), c.environment_variables.end());
    for (const auto& kv : node.environment_variables) plan.env_vars.push_back(kv);
    if (!plan.sweep) plan.timeout_s = node.timeout.value_or(0);
    for (auto [key, field] : {std::pair<const char*, int64_t*>{"weft.retries", &plan.retries},
                              {"weft.retry_delay", &plan.retry_delay_s}}) {
      std::string v = Property(node.resources, c.resources, key);
      if (v.empty()) continue;
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (*end != '\0' || n < 0 || n > 1000000) {
        return Status::Invalid(fmt::format("step {}: resources.properties {} is `{}`; it takes a "
                                           "whole number of {} (0 or more)",
                                           step.name, key, v,
                                           std::string(key) == "weft.retries" ? "attempts" : "seconds"));
      }
      *field = n;
    }
    const spec::Distribution& d = node.distribution.type.empty() ? c.distribution : node.distribution;
    exec::Distribution& dist = plan.distribution;
    dist.type = d.type;
    dist.instances = node.resources.instance_count.value_or(c.resources.instance_count.value_or(1));
    if (d.type == "pytorch" || d.type == "mpi") {
      dist.per_instance = d.process_count_per_instance.value_or(1);
    } else if (d.type == "tensorflow") {
      dist.per_instance = d.worker_count.value_or(1) + d.parameter_server_count.value_or(0);
    }
    exec::Needs& n = plan.needs;
    std::string cpus = Property(node.resources, c.resources, "weft.cpus");
    std::string memory = Property(node.resources, c.resources, "weft.memory");
    std::string gpus = Property(node.resources, c.resources, "weft.gpus");
    n.cpus = cpus.empty() ? 1 : std::max<int64_t>(1, std::atoll(cpus.c_str()));
    n.memory_mb = memory.empty() ? 0 : ws::ParseMegabytes(memory);
    n.gpus = gpus.empty() ? 0 : std::atoll(gpus.c_str());
  }
  return plans;
}

}  // namespace weft::engine
