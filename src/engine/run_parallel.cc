// A run's parallel steps: planning their mini-batches when the first worker starts, keeping
// finished mini-batches as the workers write them (so that a killed run's successor reuses them),
// and gathering the results when every worker has ended (the rest of Run is in run.cc).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/json.h"
#include "engine/run.h"
#include "exec/spawn.h"

namespace weft::engine {

std::string Run::BatchesDir(uint32_t i) const { return StepDir(i) + "/batches"; }

// Plans the mini-batches of parallel step i over the files of its split input at `input_path`.
Status Run::PlanBatches(uint32_t i, const std::string& input_path) {
  StepRun& r = steps_[i];
  const ParallelSettings& p = *plans_[i].parallel;
  // Every field of the step's fingerprint but the split input's content.
  std::string base;
  for (const auto& [label, value] : r.fp.fields) {
    if (label != "input " + p.input) base += fmt::format("{}\n{}\n{}\n", label, value.size(), value);
  }
  Status s = MakeDirs(BatchesDir(i));
  if (!s.ok()) return s;
  r.batches_table = IsTable(input_path);
  if (r.batches_table) {
    Result<std::string> planned = PlanTable(i, input_path);
    if (!planned.ok()) return planned.status();
    Result<std::vector<MiniBatch>> batches =
        TableMiniBatches(*planned, base, parts_.ws.batches_dir(), &r.batch_items);
    if (!batches.ok()) return batches.status();
    if (batches->empty()) {
      return Status::Invalid(fmt::format("input {} ({}) is a table without rows", p.input, input_path));
    }
    r.batches = std::move(*batches);
    r.batches_planned = true;
    return Status::Ok();
  }
  if (!p.partition_keys.empty() || p.size_given) {
    return Status::Invalid(fmt::format("input {} is split into files (its folder has no MLTable file "
                                       "that reads a table): {} split tables",
                                       p.input, p.size_given ? "sizes in mini_batch_size"
                                                             : "partition_keys"));
  }
  Result<std::vector<ListedFile>> files = ListFiles(input_path);
  if (!files.ok()) return files.status();
  if (files->empty()) {
    return Status::Invalid(fmt::format("input {} ({}) holds no files to split into mini-batches",
                                       p.input, input_path));
  }
  r.batches = PlanMiniBatches(*files, static_cast<size_t>(p.mini_batch_size), base,
                              parts_.ws.batches_dir());
  r.batch_items = files->size();
  r.batches_planned = true;
  return Status::Ok();
}

// Asks weft's worker module, in the step's environment, to split the table at `input_path` into
// mini-batches (it reads it with the environment's mltable, else weft's); returns what it wrote.
Result<std::string> Run::PlanTable(uint32_t i, const std::string& input_path) {
  const StepPlan& plan = plans_[i];
  const ParallelSettings& p = *plan.parallel;
  const env::ResolvedEnvironment& env = *plan.env;
  std::string python;
  for (size_t at = 0; at <= env.path_prefix.size();) {
    size_t end = std::min(env.path_prefix.find(':', at), env.path_prefix.size());
    std::string candidate = env.path_prefix.substr(at, end - at) + "/python";
    if (python.empty() && ::access(candidate.c_str(), X_OK) == 0) python = candidate;
    at = end + 1;
  }
  if (python.empty()) return Status::Internal("the step's environment has no python to plan its table");
  Json keys = Json::MakeArray();
  for (const std::string& k : p.partition_keys) keys.Push(k);
  std::string out = StepDir(i) + "/table-plan.json", log = StepDir(i) + "/table-plan.log";
  exec::ProcessSpec spec;
  spec.argv = {python, "-m", "weft_parallel", "--weft-plan-table", input_path,
               std::to_string(p.mini_batch_bytes), keys.Dump(-1), out};
  std::string python_path = env.python_path;
  python_path += (python_path.empty() ? "" : ":") + env.runtime_path;
  for (std::string& kv : parts_.os.Environment()) {
    if (kv.rfind("PYTHONPATH=", 0) != 0 && kv.rfind("PATH=", 0) != 0) spec.env.push_back(std::move(kv));
  }
  spec.env.push_back("PATH=" + env.path_prefix + ":/usr/local/bin:/usr/bin:/bin");
  spec.env.push_back("PYTHONPATH=" + python_path);
  for (const auto& [k, v] : env.variables) spec.env.push_back(k + "=" + v);
  spec.cwd = BatchesDir(i);
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Io(fmt::format("{}: cannot create: {}", log, std::strerror(errno)));
  spec.out_fd = fd;
  Result<pid_t> pid = exec::Spawn(spec);
  ::close(fd);
  if (!pid.ok()) return pid.status();
  int status = 0;
  while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  Result<std::string> text = ReadFileCapped(out, size_t{1} << 30);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !text.ok()) {
    Result<std::string> why = ReadFileCapped(log, 1 << 16);
    std::string last = why.ok() ? *why : "";
    while (!last.empty() && last.back() == '\n') last.pop_back();
    if (size_t nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
    return Status::Invalid(fmt::format("input {}: cannot split the table into mini-batches: {}", p.input,
                                       last.empty() ? "its planner failed" : last));
  }
  return *text;
}

// The configuration a worker of step i reads ($WEFT_PARALLEL): its settings and the mini-batches
// left to run.
std::string Run::WorkerConfig(uint32_t i, const std::string& input_path,
                              const std::string& output_dir) const {
  const StepRun& r = steps_[i];
  const ParallelSettings& p = *plans_[i].parallel;
  Json batches = Json::MakeArray();
  for (const MiniBatch& b : r.batches) {
    if (b.reused || b.kept) continue;
    Json batch = Json::MakeObject().Set("index", b.index).Set("key", b.key).Set("count", b.count);
    if (r.batches_table) {
      std::optional<Json> rows = Json::Parse(b.rows);
      for (const char* k : {"rows", "partition"}) {
        if (const Json* v = rows ? rows->Find(k) : nullptr) batch.Set(k, *v);
      }
    } else {
      Json items = Json::MakeArray();
      for (const std::string& item : b.items) items.Push(item);
      batch.Set("items", std::move(items));
    }
    batches.Push(std::move(batch));
  }
  Json config = Json::MakeObject();
  config.Set("step", g_.steps[i].name)
      .Set("entry_script", p.entry_script)
      .Set("kind", r.batches_table ? "table" : "files")
      .Set("root", input_path)
      .Set("results", BatchesDir(i))
      .Set("max_retries", p.max_retries)
      .Set("timeout", p.timeout_s)
      .Set("logging_level", p.logging_level)
      .Set("output_dir", output_dir)
      .Set("batches", std::move(batches));
  return config.Dump(-1);
}

// Looks once at each result the workers wrote since the last look: those that succeeded move into
// the cache (so that they survive this run), unless the step writes into its outputs. Then says
// how far the workers are, for `weft show` and the live line: mini-batches done (reused ones
// included) and failed, of all, as the step's note while it runs.
void Run::KeepBatches(uint32_t i) {
  StepRun& r = steps_[i];
  if (!r.batches_planned) return;
  // Mini-batches are kept for reuse only when their results are all the step makes: files that
  // run() writes into the outputs cannot be told apart by mini-batch.
  for (const graph::StepOutput& o : g_.steps[i].outputs) {
    std::error_code ec;
    std::filesystem::directory_iterator it(OutputsDir(i) + "/out." + o.name, ec);
    if (r.batches_keepable && o.name != "artifacts" && !ec && it != std::filesystem::directory_iterator()) {
      r.batches_keepable = false;
    }
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(BatchesDir(i), ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 6 || name.compare(name.size() - 5, 5, ".json") != 0) continue;
    char* end = nullptr;
    long long index = std::strtoll(name.c_str(), &end, 10);
    if (*end != '.' || index < 0 || static_cast<size_t>(index) >= r.batches.size()) continue;
    MiniBatch& b = r.batches[static_cast<size_t>(index)];
    if (b.kept || b.reused || b.result != 0) continue;  // read already
    std::string path = entry.path().string();
    Result<std::string> text = ReadFileCapped(path, size_t{1} << 30);
    std::optional<Json> j = text.ok() ? Json::Parse(*text) : std::nullopt;
    const Json* ok = j ? j->Find("ok") : nullptr;
    const Json* key = j ? j->Find("key") : nullptr;
    bool succeeded = ok && ok->Bool() && *ok->Bool() && key && key->String() && *key->String() == b.key;
    b.result = succeeded ? 1 : -1;
    if (!succeeded || !r.batches_keepable) continue;
    std::string cached = CachedResultPath(parts_.ws.batches_dir(), b.key);
    if (MakeDirs(DirName(cached)).ok() && std::rename(path.c_str(), cached.c_str()) == 0) b.kept = true;
  }
  size_t done = 0, failed = 0;
  for (const MiniBatch& b : r.batches) {
    done += b.reused || b.kept || b.result > 0;
    failed += b.result < 0;
  }
  std::string note = fmt::format("{}/{} mini-batches", done + failed, r.batches.size());
  if (failed > 0) note += fmt::format(", {} failed", failed);
  if (note == r.progress_note) return;
  r.progress_note = note;
  r.rec.message = note;
  Save(i);
}

// Every worker of parallel step i ended well: gathers the results, checks the thresholds and
// writes `append_row_to`. Returns why the step failed, or an empty string.
std::string Run::GatherBatches(uint32_t i) {
  StepRun& r = steps_[i];
  const ParallelSettings& p = *plans_[i].parallel;
  const graph::Step& step = g_.steps[i];
  if (!r.batches_planned) return "no worker planned its mini-batches";
  KeepBatches(i);
  Gathered g = GatherResults(r.batches, BatchesDir(i), parts_.ws.batches_dir());
  for (const MiniBatch& b : r.batches) {  // used again: `weft gc --keep-runs` keeps them
    if (b.reused) ::utimensat(AT_FDCWD, CachedResultPath(parts_.ws.batches_dir(), b.key).c_str(), nullptr, 0);
  }
  r.rec.message = fmt::format("{} mini-batches: {} ran, {} reused", r.batches.size(), g.ran, g.reused);
  if (g.failed_batches > 0) r.rec.message += fmt::format(", {} failed", g.failed_batches);
  if (!r.batches_keepable) {  // what was kept before the step wrote into its outputs goes again
    for (MiniBatch& b : r.batches) {
      if (b.kept) ::unlink(CachedResultPath(parts_.ws.batches_dir(), b.key).c_str());
      b.kept = false;
    }
    r.rec.message += " (none kept for reuse: run() writes files into the step's outputs)";
  }
  std::string why = CheckThresholds(p, g, r.batches.size(), r.batch_items);
  if (!why.empty()) return why;
  if (p.append_to.empty()) return "";
  for (const graph::StepOutput& o : step.outputs) {
    if (o.name != p.append_to) continue;
    std::string folder = OutputsDir(i) + "/out." + o.name;
    std::string file = folder + "/" + (o.type == spec::PortType::kUriFile ? o.FileName()
                                                                          : "parallel_run_step.txt");
    std::string text;
    for (const std::string& line : g.lines) text += line + "\n";
    Status s = MakeDirs(folder);
    if (s.ok()) s = WriteFileAtomic(file, text);
    if (!s.ok()) return s.message();
  }
  return "";
}

}  // namespace weft::engine
