// The Slurm executor, weft's side: sbatch, then the status files and Slurm's commands (exec/slurm.h).
// Slurm's commands are the adapter: nothing else in weft runs them.
#include "exec/slurm.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/command.h"
#include "base/fs.h"
#include "base/interrupt.h"

namespace weft::exec {
namespace {

// How often Slurm is asked about jobs that have not written their status (the files are looked
// at every pass).
constexpr int64_t kQueryEveryMs = 2000;
constexpr int kMaxRequeues = 5;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t b = s.find_first_not_of(" \n");
  return b == std::string::npos ? std::string() : s.substr(b);
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

std::string SlurmIdOf(const std::string& job_id) {
  return job_id.rfind("slurm:", 0) == 0 ? job_id.substr(6) : std::string();
}

// Slurm's job states that are over, and those that will still change.
bool Terminal(const std::string& state) {
  static const char* kLive[] = {"PENDING",      "RUNNING",     "CONFIGURING", "COMPLETING",
                                "SUSPENDED",    "REQUEUED",    "REQUEUE_HOLD", "REQUEUE_FED",
                                "RESIZING",     "SIGNALING",   "STAGE_OUT",   "STOPPED",
                                "RESV_DEL_HOLD", "SPECIAL_EXIT"};
  for (const char* s : kLive) {
    if (state == s) return false;
  }
  return !state.empty();
}

// Reasons a pending job gives that no wait will mend: it asks more than its partition, account or
// QOS allows, or what no node has.
bool Never(const std::string& reason) {
  static const char* kNever[] = {"PartitionNodeLimit", "PartitionTimeLimit", "PartitionConfig",
                                 "BadConstraints",     "InvalidAccount",     "InvalidQOS",
                                 "QOSMaxCpuPerJobLimit", "QOSMaxNodePerJobLimit",
                                 "QOSMaxWallDurationPerJobLimit", "QOSMaxMemoryPerJob"};
  for (const char* r : kNever) {
    if (reason == r) return true;
  }
  return false;
}

// A job name Slurm shows in squeue: weft's group and job name, in characters it keeps as they are.
std::string JobName(const std::string& group, const std::string& job) {
  std::string name = group.empty() ? "weft" : group;
  if (!job.empty()) name += "-" + job;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') c = '_';
  }
  return name;
}

// A path as sbatch's --output reads it: `%` starts a replacement there, `%%` is one `%`.
std::string OutputPattern(const std::string& path) {
  std::string out;
  for (char c : path) out += c == '%' ? std::string("%%") : std::string(1, c);
  return out;
}

std::string Tail(const std::string& path, size_t bytes) {
  Result<std::string> text = ReadFileCapped(path, 1 << 20);
  if (!text.ok()) return {};
  std::string t = Trim(text->size() > bytes ? text->substr(text->size() - bytes) : *text);
  std::replace(t.begin(), t.end(), '\n', ' ');
  return t;
}

}  // namespace

Result<std::unique_ptr<SlurmExecutor>> SlurmExecutor::Create(const std::string& name,
                                                             SlurmOptions options) {
  if (options.weft.empty()) {
    std::error_code ec;
    options.weft = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) return Status::Io(fmt::format("compute `{}`: cannot find weft's own path: {}", name, ec.message()));
  }
  Result<CommandOutput> info = RunCommand({"sinfo", "--noheader", "--format=%P"});
  if (!info.ok() || info->exit_code != 0) {
    return Status::Io(fmt::format(
        "compute `{}` (slurm): the cluster does not answer (sinfo: {}); check that the Slurm "
        "commands are installed here (Debian: slurm-client), that SLURM_CONF names the cluster's "
        "slurm.conf and that slurmctld runs",
        name, FailureText(info)));
  }
  if (!options.partition.empty()) {
    std::vector<std::string> partitions;
    std::istringstream lines(info->out);
    for (std::string p; std::getline(lines, p);) {
      p = Trim(p);
      if (!p.empty() && p.back() == '*') p.pop_back();
      partitions.push_back(p);
    }
    if (std::find(partitions.begin(), partitions.end(), options.partition) == partitions.end()) {
      std::string have;
      for (const std::string& p : partitions) have += (have.empty() ? "" : ", ") + p;
      return Status::Invalid(fmt::format("compute `{}`: the cluster has no partition `{}` (it has: {})",
                                         name, options.partition, have));
    }
  }
  return std::unique_ptr<SlurmExecutor>(new SlurmExecutor(name, std::move(options)));
}

Capacity SlurmExecutor::capacity() const {
  // The cluster queues what it cannot run yet: weft submits every ready job, unless told to hold
  // fewer CPUs than that. Memory is the cluster's to schedule.
  constexpr int64_t kUnlimited = int64_t{1} << 30;
  return Capacity{options_.max_cpus > 0 ? options_.max_cpus : kUnlimited, 0, kUnlimited};
}

uint64_t SlurmExecutor::Track(Job job) {
  uint64_t handle = next_handle_++;
  jobs_[handle] = std::move(job);
  return handle;
}

LaunchSpec SlurmExecutor::ForNode(const LaunchSpec& given) const {
  LaunchSpec spec = given;
  for (const std::string& name : options_.export_vars) {
    const char* v = ::getenv(name.c_str());
    bool has = std::any_of(spec.env.begin(), spec.env.end(),
                           [&](const std::string& kv) { return kv.rfind(name + "=", 0) == 0; });
    if (v != nullptr && !has) spec.env.push_back(name + "=" + v);
  }
  if (!options_.setup.empty()) {  // run by the step's own bash, so what they set, it sees
    std::string setup;
    for (const std::string& line : options_.setup) setup += line + "\n";
    spec.command = setup + spec.command;
  }
  if (!options_.sandbox) spec.sandbox.reset();
  return spec;
}

std::vector<std::string> SlurmExecutor::Resources(const LaunchSpec& spec, int64_t copies) const {
  std::vector<std::string> argv;
  if (!options_.partition.empty()) argv.push_back("--partition=" + options_.partition);
  if (!options_.account.empty()) argv.push_back("--account=" + options_.account);
  if (!options_.qos.empty()) argv.push_back("--qos=" + options_.qos);
  const Distribution& d = spec.distribution;
  int64_t processes = d.processes();
  if (!d.type.empty()) {
    argv.push_back(fmt::format("--nodes={}", d.instances));
    argv.push_back(fmt::format("--ntasks-per-node={}", d.per_instance));
  }
  argv.push_back(fmt::format("--cpus-per-task={}", copies * std::max<int64_t>(1, spec.needs.cpus / processes)));
  if (spec.needs.memory_mb > 0) {  // --mem is per node
    argv.push_back(fmt::format("--mem={}", copies * std::max<int64_t>(1, spec.needs.memory_mb / d.instances)));
  }
  if (spec.needs.gpus > 0) argv.push_back(fmt::format("--gpus={}", copies * spec.needs.gpus));
  if (spec.timeout_ms > 0) {  // weft stops the step on time; Slurm's limit is the backstop
    int64_t ms = spec.timeout_ms + spec.kill_grace_ms + 60'000;
    argv.push_back(fmt::format("--time={}", (ms + 59'999) / 60'000));
  }
  argv.insert(argv.end(), options_.sbatch_args.begin(), options_.sbatch_args.end());
  return argv;
}

// The batch script runs its arguments (`weft slurm-job`) with the job's description as their
// input: one line of JSON in a quoted here-document, which the shell passes on as it is (its one
// line starts with `{` or `[`, so it never ends the document early). Slurm keeps the script in its
// own state, so a requeued job reads the same description: nothing the step can write.
Result<std::string> SlurmExecutor::Sbatch(const std::string& step, const std::string& dir,
                                          const std::string& description,
                                          std::vector<std::string> argv) {
  std::string script = dir + "/slurm.sh";
  Status s = WriteFileAtomic(script, "#!/bin/bash\nexec \"$@\" <<'WEFT_JOB'\n" + description + "\nWEFT_JOB\n",
                             0600);
  if (!s.ok()) return Status(s.code(), fmt::format("step {}: {}", step, s.message()));
  argv.insert(argv.begin(), {"sbatch", "--parsable", "--open-mode=append", "--chdir=" + dir,
                             "--export=NONE", "--requeue"});
  argv.insert(argv.end(), {script, options_.weft, "slurm-job"});
  Result<CommandOutput> r = RunCommand(argv);
  ::unlink(script.c_str());  // (sbatch has read it; it holds the step's environment)
  std::string id = r.ok() ? Trim(r->out.substr(0, r->out.find(';'))) : "";
  if (!r.ok() || r->exit_code != 0 || id.empty() ||
      id.find_first_not_of("0123456789_") != std::string::npos) {
    return Status::Invalid(fmt::format("step {}: compute `{}` (slurm) refused the job: {}", step, name_,
                                       FailureText(r)));
  }
  return id;
}

Result<uint64_t> SlurmExecutor::Submit(const LaunchSpec& given) {
  LaunchSpec spec = ForNode(given);
  std::string dir = DirName(spec.log_path);
  ::unlink((dir + "/slurm.status").c_str());
  std::vector<std::string> argv = {"--job-name=" + JobName(spec.group, spec.name),
                                   "--output=" + OutputPattern(dir + "/slurm.out")};
  for (std::string& a : Resources(spec)) argv.push_back(std::move(a));
  Result<std::string> id = Sbatch(spec.step, dir, LaunchSpecToJson(spec).Dump(-1), std::move(argv));
  if (!id.ok()) return id.status();
  return Track(Job{*id, dir, spec.step, spec.needs.memory_mb});
}

// One job array: its tasks ask what `per_task` workers together ask, and run them side by side.
// The workers must ask the same of the cluster and have their attempt folders side by side (in
// the step's folder, where the tasks' own output goes).
std::vector<Result<uint64_t>> SlurmExecutor::SubmitArray(const std::vector<LaunchSpec>& given,
                                                         size_t per_task) {
  std::vector<LaunchSpec> specs;
  for (const LaunchSpec& g : given) specs.push_back(ForNode(g));
  per_task = std::clamp<size_t>(per_task, 1, specs.size());
  std::vector<std::string> alone = Resources(specs[0]);
  std::string parent = DirName(DirName(specs[0].log_path));
  bool alike = true;
  for (const LaunchSpec& spec : specs) {
    alike = alike && Resources(spec) == alone && DirName(DirName(spec.log_path)) == parent;
  }
  if (!alike) return Executor::SubmitArray(given, per_task);
  size_t tasks = (specs.size() + per_task - 1) / per_task;
  Json description = Json::MakeArray();
  for (size_t t = 0; t < tasks; ++t) {
    Json workers = Json::MakeArray();
    for (size_t k = t * per_task; k < std::min(specs.size(), (t + 1) * per_task); ++k) {
      ::unlink((DirName(specs[k].log_path) + "/slurm.status").c_str());
      workers.Push(LaunchSpecToJson(specs[k]));
    }
    description.Push(std::move(workers));
  }
  std::vector<std::string> argv = {
      fmt::format("--array=0-{}", tasks - 1), "--job-name=" + JobName(specs[0].group, specs[0].step),
      "--output=" + OutputPattern(parent + "/slurm-") + "%A_%a.out"};
  for (std::string& a : Resources(specs[0], static_cast<int64_t>(per_task))) argv.push_back(std::move(a));
  Result<std::string> id = Sbatch(specs[0].step, parent, description.Dump(-1), std::move(argv));
  std::vector<Result<uint64_t>> out;
  for (size_t k = 0; k < specs.size(); ++k) {
    if (!id.ok()) {
      out.emplace_back(id.status());
      continue;
    }
    std::string task = fmt::format("{}_{}", *id, k / per_task), dir = DirName(specs[k].log_path);
    // Where `weft logs` and failure messages look for what the job printed.
    std::error_code ec;
    std::filesystem::create_symlink(fmt::format("../slurm-{}.out", task), dir + "/slurm.out", ec);
    out.emplace_back(Track(Job{task, dir, specs[k].step, specs[k].needs.memory_mb}));
  }
  return out;
}

std::string SlurmExecutor::JobId(uint64_t handle) const {
  auto it = jobs_.find(handle);
  return it == jobs_.end() ? std::string() : "slurm:" + it->second.slurm_id;
}

std::optional<JobEnd> SlurmExecutor::FromStatusFile(const Job& job, bool* outside) const {
  Result<std::string> text = ReadFileCapped(job.dir + "/slurm.status", 1 << 16);
  if (!text.ok()) return std::nullopt;
  std::optional<Json> j = Json::Parse(*text);
  if (!j) return std::nullopt;  // being written: the rename makes it whole, so look again
  JobEnd end;
  auto str = [&](const char* key) {
    const Json* v = j->Find(key);
    return v != nullptr && v->String() != nullptr ? *v->String() : std::string();
  };
  std::string reason = str("reason");
  end.reason = reason == "timed_out"         ? EndReason::kTimedOut
               : reason == "canceled"        ? EndReason::kCanceled
               : reason == "failed_to_start" ? EndReason::kFailed
                                             : EndReason::kExited;
  if (job.canceled) {
    end.reason = EndReason::kCanceled;
  } else if (end.reason == EndReason::kCanceled) {  // what Slurm says of it is asked first
    if (outside != nullptr) *outside = true;
    end.reason = EndReason::kFailed;
    end.message = fmt::format("Slurm job {} was stopped outside weft", job.slurm_id);
  }
  if (const Json* c = j->Find("exit_code"); c != nullptr && c->Int() != nullptr) {
    end.exit_code = static_cast<int>(*c->Int());
  }
  end.message = str("message");
  return end;
}

namespace {

// What Slurm says of these jobs: its state of each it knows (squeue, then accounting for those
// the controller has forgotten: a database, or the job completion file); a pending job that will
// never run is "NEVER <reason>". nullopt when the controller does not answer.
std::optional<std::map<std::string, std::string>> SlurmStates(const std::vector<std::string>& ids) {
  std::map<std::string, std::string> states;
  if (ids.empty()) return states;
  Result<CommandOutput> q = RunCommand(
      {"squeue", "--noheader", "--array", "--states=all", "--format=%i|%T|%r", "--jobs=" + JoinIds(ids)});
  if (q.ok() && q->exit_code == 0) {
    std::istringstream lines(q->out);
    for (std::string line; std::getline(lines, line);) {
      std::vector<std::string> f;
      std::istringstream fields(line);
      for (std::string x; std::getline(fields, x, '|');) f.push_back(Trim(x));
      if (f.size() < 2) continue;
      states[f[0]] = f[1];
      if (f[1] == "PENDING" && f.size() > 2 && Never(f[2])) states[f[0]] = "NEVER " + f[2];
    }
  } else if (!q.ok() || q->err.find("Invalid job id") == std::string::npos) {
    return std::nullopt;
  }
  std::vector<std::string> forgotten;
  for (const std::string& id : ids) {
    if (!states.count(id)) forgotten.push_back(id);
  }
  for (const char* source : {"", "-c"}) {
    if (forgotten.empty()) break;
    std::vector<std::string> argv = {"sacct", "--noheader", "--parsable2", "--allocations",
                                     "--format=JobID,State", "--jobs=" + JoinIds(forgotten)};
    if (*source) argv.push_back(source);
    Result<CommandOutput> a = RunCommand(argv);
    if (!a.ok() || a->exit_code != 0) continue;
    std::istringstream lines(a->out);
    for (std::string line; std::getline(lines, line);) {
      size_t bar = line.find('|');
      if (bar == std::string::npos) continue;
      std::string state = Trim(line.substr(bar + 1));
      states[Trim(line.substr(0, bar))] = state.substr(0, state.find(' '));  // "CANCELLED by 0"
    }
  }
  return states;
}

}  // namespace

std::vector<JobEnd> SlurmExecutor::AskSlurm() {
  std::vector<std::string> ids;
  for (const auto& [h, job] : jobs_) ids.push_back(job.slurm_id);
  std::optional<std::map<std::string, std::string>> states = SlurmStates(ids);
  if (!states) return {};  // the controller does not answer now: ask again later
  std::vector<JobEnd> ended;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& job = it->second;
    auto st = states->find(job.slurm_id);
    std::string state = st == states->end() ? "" : st->second;
    if (state.rfind("NEVER ", 0) == 0) {  // pending for a reason that will not pass: say so
      (void)RunCommand({"scancel", job.slurm_id});
      JobEnd end;
      end.handle = it->first;
      end.reason = EndReason::kFailed;
      end.exit_code = 1;
      end.message = fmt::format("compute `{}` (slurm) cannot run job {}: it pends for {} (the "
                                "request exceeds what the partition allows), so it was cancelled",
                                name_, job.slurm_id, state.substr(6));
      ended.push_back(end);
      it = jobs_.erase(it);
      continue;
    }
    if (st != states->end() && !Terminal(state)) {
      // Waiting again after a requeue: what its last run wrote is over (the helper would remove
      // it when the job starts again); `weft show` must not show it meanwhile.
      if (state == "PENDING" || state.rfind("REQUEUE", 0) == 0) ::unlink((job.dir + "/slurm.status").c_str());
      ++it;
      continue;
    }
    // Over (or forgotten): its status file, written before the job ends, is the better word,
    // unless the step was stopped by Slurm rather than by weft.
    bool outside = false;
    std::optional<JobEnd> end = FromStatusFile(job, &outside);
    if (outside && !state.empty()) end.reset();
    if (!end && (state == "NODE_FAIL" || state == "PREEMPTED") && !job.canceled &&
        job.requeues < kMaxRequeues) {
      // Slurm requeues such jobs itself (--requeue) unless the cluster says not to: ask it to, and
      // look again (a job already pending again refuses, which is as good).
      (void)RunCommand({"scontrol", "requeue", job.slurm_id});
      ++job.requeues;
      ++it;
      continue;
    }
    if (!end) {
      end.emplace();
      end->exit_code = 1;
      std::string out = Tail(job.dir + "/slurm.out", 300);
      std::string said = out.empty() ? "" : fmt::format("; the job printed: {}", out);
      if (job.canceled) {
        end->reason = EndReason::kCanceled;
      } else if (state == "TIMEOUT") {
        end->reason = EndReason::kTimedOut;
        end->message = fmt::format("killed by Slurm: its time limit (job {})", job.slurm_id);
      } else if (state == "OUT_OF_MEMORY") {
        end->reason = EndReason::kExited;
        end->exit_code = 137;
        end->message = job.memory_mb > 0 ? fmt::format("killed by Slurm: out of memory ({} MB)", job.memory_mb)
                                         : "killed by Slurm: out of memory";
      } else if (state == "CANCELLED") {
        end->reason = EndReason::kFailed;
        end->message = fmt::format("Slurm job {} was cancelled outside weft (scancel)", job.slurm_id);
      } else if (state.empty()) {
        end->reason = EndReason::kFailed;
        end->message = fmt::format("Slurm no longer knows job {} and it left no status in {}{}",
                                   job.slurm_id, job.dir, said);
      } else {
        end->reason = EndReason::kFailed;
        end->message = fmt::format("Slurm job {} ended {} before the step's end was recorded{}",
                                   job.slurm_id, state, said);
      }
    }
    end->handle = it->first;
    ended.push_back(*end);
    it = jobs_.erase(it);
  }
  return ended;
}

std::vector<JobEnd> SlurmExecutor::Wait(int64_t timeout_ms) {
  int64_t until = SteadyMs() + timeout_ms;
  bool interrupted = DrainInterruptFd();
  while (true) {
    std::vector<JobEnd> ended;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      bool outside = false;
      std::optional<JobEnd> end = FromStatusFile(it->second, &outside);
      // Stopped, but not by weft: Slurm's state says by what (scancel, preemption, its limit).
      if (!end || outside) {
        ++it;
        continue;
      }
      end->handle = it->first;
      ended.push_back(*end);
      it = jobs_.erase(it);
    }
    int64_t now = SteadyMs();
    if (!jobs_.empty() && now >= next_query_ms_) {
      next_query_ms_ = now + kQueryEveryMs;
      for (JobEnd& e : AskSlurm()) ended.push_back(e);
    }
    if (!ended.empty() || interrupted || now >= until) return ended;
    // Status files appear without a signal: look again soon (less often with many jobs out).
    pollfd pfd{InterruptFd(), POLLIN, 0};
    int64_t every = std::min<int64_t>(250, 25 + static_cast<int64_t>(jobs_.size()) / 4);
    int wait_ms = static_cast<int>(std::clamp<int64_t>(until - now, 0, every));
    if (::poll(&pfd, InterruptFd() >= 0 ? 1 : 0, wait_ms) > 0) interrupted = DrainInterruptFd();
  }
}

void SlurmExecutor::Cancel(uint64_t handle, bool now) {
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return;
  it->second.canceled = true;
  // scancel: SIGTERM to the job's processes (the step gets its grace: weft's job helper passes it
  // on), SIGKILL after the cluster's KillWait; with `now`, SIGKILL at once.
  if (now) (void)RunCommand({"scancel", "--signal=KILL", "--full", it->second.slurm_id});
  (void)RunCommand({"scancel", it->second.slurm_id});
}

Stopped SlurmExecutor::StopRun(const std::string&, const std::vector<std::string>& job_ids,
                               int64_t) {
  Stopped out;
  std::vector<std::string> ids;
  for (const std::string& id : job_ids) {
    if (!SlurmIdOf(id).empty()) ids.push_back(SlurmIdOf(id));
  }
  if (ids.empty()) return out;
  Result<CommandOutput> r = RunCommand({"scancel", JoinIds(ids)});
  out.processes = ids.size();
  out.all_gone = r.ok() && r->exit_code == 0;
  return out;
}

std::optional<uint64_t> SlurmExecutor::Adopt(const std::string& job_id, const LaunchSpec& spec) {
  std::string id = SlurmIdOf(job_id);
  if (id.empty()) return std::nullopt;
  Job job{id, DirName(spec.log_path), spec.step, spec.needs.memory_mb};
  if (!FromStatusFile(job)) {  // still running, or ended without a word: Slurm must know it
    std::optional<std::map<std::string, std::string>> states = SlurmStates({id});
    if (!states || !states->count(id)) return std::nullopt;
  }
  return Track(std::move(job));
}

}  // namespace weft::exec
