#include "queries/explain.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "env/environment.h"

namespace weft::queries {
namespace {

// A value as it can be shown on a terminal: control characters (a newline in a literal, an
// escape sequence) written as escapes, never sent as they are.
std::string Printable(const std::string& v) {
  std::string out;
  for (unsigned char c : v) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string Short(const std::string& raw) {
  // "data uri_folder sha256:<64 hex>" -> "sha256:abcdef012345"
  std::string v = Printable(raw);
  size_t at = v.find("sha256:");
  if (at != std::string::npos && v.size() >= at + 7 + 12) return v.substr(at, 7 + 12);
  return v.size() > 80 ? v.substr(0, 77) + "..." : v;
}

std::string Literal(const std::string& v) { return v.rfind("literal ", 0) == 0 ? v.substr(8) : v; }

void DiffCode(const std::string& now, const std::string& before, const store::Store& store,
              std::vector<std::string>& out) {
  std::optional<Digest> a = store::ParseHex(before.size() > 7 ? before.substr(7) : "");
  std::optional<Digest> b = store::ParseHex(now.size() > 7 ? now.substr(7) : "");
  Result<store::TreeDiff> diff = a && b ? store.CompareTrees(*a, *b)
                                        : Result<store::TreeDiff>(Status::NotFound("no tree"));
  if (!diff.ok() || diff->empty()) {
    out.push_back(fmt::format("code {} -> {}", Short(before), Short(now)));
    return;
  }
  for (const std::string& f : diff->added) out.push_back(fmt::format("code file {} added", f));
  for (const std::string& f : diff->changed) out.push_back(fmt::format("code file {} changed", f));
  for (const std::string& f : diff->removed) out.push_back(fmt::format("code file {} removed", f));
}

// "environment: scikit-learn 1.2.1 -> 1.3.0", one line per difference, when both identities'
// descriptions are known.
void DiffEnvironment(const std::string& now, const std::string& before, meta::MetaStore& meta,
                     std::vector<std::string>& out) {
  Result<std::optional<std::string>> a = meta.EnvironmentDescription(before);
  Result<std::optional<std::string>> b = meta.EnvironmentDescription(now);
  if (a.ok() && b.ok() && *a && *b) {
    std::vector<std::string> lines = env::Environments::DiffDescriptions(**a, **b);
    for (const std::string& l : lines) out.push_back("environment: " + l);
    if (!lines.empty()) return;
  }
  out.push_back(fmt::format("environment: {} -> {}", Short(before), Short(now)));
}

}  // namespace

std::vector<std::string> DiffFields(const Fields& now, const Fields& before,
                                    const store::Store& store, meta::MetaStore& meta) {
  std::map<std::string, std::string> old(before.begin(), before.end());
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& [label, value] : now) {
    seen.insert(label);
    auto it = old.find(label);
    std::string prev = it == old.end() ? "(none)" : it->second;
    if (prev == value) continue;
    if (label == "code") {
      DiffCode(value, prev, store, out);
    } else if (label == "environment") {
      DiffEnvironment(value, prev, meta, out);
    } else if (label.rfind("input ", 0) == 0) {
      out.push_back(fmt::format("{} {} -> {}", label, Short(Literal(prev)), Short(Literal(value))));
    } else if (label == "command") {
      out.push_back("command template changed");
    } else {
      out.push_back(fmt::format("{}: {} -> {}", label, Short(prev), Short(value)));
    }
  }
  for (const auto& [label, value] : before) {
    if (seen.count(label) == 0) out.push_back(fmt::format("{} removed (was {})", label, Short(value)));
  }
  return out;
}

// Where the result was computed: "ran on compute `cpu-cluster` (job slurm:42), environment
// sha256:…", from the step that computed it and its fingerprint's fields.
std::string RanOn(const meta::StepRecord& step, const Fields& fields) {
  std::string env;
  for (const auto& [label, value] : fields) {
    if (label == "environment") env = value;
  }
  std::string target = step.target.empty() ? "local" : step.target;
  std::string out = fmt::format("ran on compute `{}`", target);
  if (!step.job.empty() && step.jobs <= 1) out += fmt::format(" (job {})", step.job);
  if (!env.empty()) out += fmt::format(", environment {}", Short(env));
  return out;
}

Result<std::vector<std::string>> Explain(meta::MetaStore& meta, const store::Store& store,
                                         const meta::RunRecord& run, const std::string& name) {
  Result<std::optional<meta::StepRecord>> found = meta.FindStep(run.id, name);
  if (!found.ok()) return found.status();
  if (!*found) {
    return Status::NotFound(fmt::format("run {} has no step `{}`; `weft show {}` lists them",
                                        run.id, name, run.id));
  }
  const meta::StepRecord& step = **found;
  std::vector<std::string> lines;
  if (step.fingerprint.empty()) {
    lines.push_back(fmt::format("{} {}: {}", name, step.status, Printable(step.message)));
    return lines;
  }
  Result<Fields> now = meta.FingerprintFields(step.fingerprint);
  if (!now.ok()) return now.status();
  if (step.status == meta::StepStatus::kReused) {
    lines.push_back(fmt::format("{} was reused: its fingerprint {} matches {} step {}", name,
                                Short(step.fingerprint), step.reused_run, name));
    Result<std::vector<meta::StepRecord>> source = meta.Steps(step.reused_run);
    for (const meta::StepRecord& s : source.ok() ? *source : std::vector<meta::StepRecord>{}) {
      if (s.index == step.reused_index) lines.push_back("  which " + RanOn(s, *now));
    }
    // Upstream steps that ran again in this run but produced identical outputs.
    Result<std::vector<meta::InputRecord>> inputs = meta.Inputs(step.reused_run, step.reused_index);
    if (inputs.ok()) {
      for (const meta::InputRecord& in : *inputs) {
        if (in.kind != "step_output") continue;
        std::string producer = in.value.substr(0, in.value.rfind('.'));
        Result<std::optional<meta::StepRecord>> p = meta.FindStep(run.id, producer);
        if (p.ok() && *p && (*p)->status == meta::StepStatus::kSucceeded) {
          lines.push_back(fmt::format("upstream {} reran, output identical: reused", producer));
        }
      }
    }
    return lines;
  }
  lines.push_back(fmt::format("{} {}: {}", name,
                              step.status == meta::StepStatus::kSucceeded ? "ran" : meta::Name(step.status),
                              Printable(step.message)));
  lines.push_back("  " + RanOn(step, *now));
  if (step.jobs > 1) {  // each job's end: a sweep's trials with their parameters and scores
    Result<std::vector<meta::JobRecord>> jobs = meta.Jobs(run.id, step.index);
    for (const meta::JobRecord& j : jobs.ok() ? *jobs : std::vector<meta::JobRecord>{}) {
      if (j.message.empty()) continue;
      lines.push_back(fmt::format("  job {} {}: {}", j.job, meta::Name(j.status), Printable(j.message)));
    }
  }
  Result<std::optional<meta::StepRecord>> prev =
      meta.PreviousStep(run.project, run.experiment, name, step.component, run.seq);
  if (!prev.ok()) return prev.status();
  if (!*prev) {
    lines.push_back("no earlier run of this step to compare with");
    return lines;
  }
  Result<Fields> before = meta.FingerprintFields((*prev)->fingerprint);
  if (!before.ok()) return before.status();
  std::vector<std::string> diff = DiffFields(*now, *before, store, meta);
  lines.push_back(fmt::format("compared with {} step {}:", (*prev)->run_id, (*prev)->name));
  if (diff.empty()) {
    lines.push_back("  every field is the same; it ran because " +
                    (step.message.empty() ? std::string("the earlier result was not usable")
                                          : Printable(step.message)));
  }
  for (const std::string& d : diff) lines.push_back("  " + d);
  return lines;
}

}  // namespace weft::queries
