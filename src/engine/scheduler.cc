#include "engine/scheduler.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace weft::engine {
namespace {

std::string RunKey(const void* run) { return fmt::format("r:{}", run); }

}  // namespace

void Scheduler::AddTarget(const std::string& name, const exec::Capacity& capacity) {
  capacity_[name] = capacity;
  use_[name];
}

void Scheduler::SetQuota(const std::string& project, const Quota& quota) {
  quotas_[project] = quota;
}

void Scheduler::AddRun(const void* run, const std::string& project, const std::string& user) {
  RunQueues& q = runs_[run];
  q.project = project;
  q.user = user;
}

void Scheduler::RemoveRun(const void* run) { runs_.erase(run); }

void Scheduler::Enqueue(const Slot& slot) {
  RunQueues& q = runs_.at(slot.run);
  q.by_target[slot.target].push_back(slot);
  ++q.size;
}

std::vector<Slot> Scheduler::Drain(const void* run, std::optional<uint32_t> step) {
  std::vector<Slot> out;
  auto it = runs_.find(run);
  if (it == runs_.end()) return out;
  for (auto& [target, queue] : it->second.by_target) {
    std::deque<Slot> kept;
    for (Slot& slot : queue) {
      if (step && slot.step != *step) {
        kept.push_back(std::move(slot));
      } else {
        out.push_back(std::move(slot));
      }
    }
    queue.swap(kept);
  }
  it->second.size -= out.size();
  return out;
}

size_t Scheduler::queued(const void* run) const {
  auto it = runs_.find(run);
  return it == runs_.end() ? 0 : it->second.size;
}

bool Scheduler::Fits(const std::string& target, const exec::Needs& n) const {
  const exec::Capacity& cap = capacity_.at(target);
  const exec::Needs& used = use_.at(target).used;
  return used.cpus + n.cpus <= cap.cpus && used.gpus + n.gpus <= cap.gpus &&
         (cap.memory_mb == 0 || used.memory_mb + n.memory_mb <= cap.memory_mb);
}

bool Scheduler::WithinQuota(const std::string& project, const exec::Needs& n) const {
  auto q = quotas_.find(project);
  if (q == quotas_.end()) return true;
  auto u = projects_.find(project);
  ProjectUse none;
  const ProjectUse& use = u == projects_.end() ? none : u->second;
  const Quota& quota = q->second;
  return (quota.cpus <= 0 || static_cast<double>(use.used.cpus + n.cpus) <= quota.cpus) &&
         (quota.gpus <= 0 || use.used.gpus + n.gpus <= quota.gpus) &&
         (quota.memory_mb <= 0 || use.used.memory_mb + n.memory_mb <= quota.memory_mb) &&
         (quota.running <= 0 || use.running + 1 <= quota.running);
}

void Scheduler::Count(const Slot& slot, int64_t delta) {
  Use& u = use_.at(slot.target);
  u.used.cpus += delta * slot.needs.cpus;
  u.used.memory_mb += delta * slot.needs.memory_mb;
  u.used.gpus += delta * slot.needs.gpus;
  auto it = runs_.find(slot.run);
  if (it == runs_.end()) return;  // a run already removed: only its capacity mattered
  const RunQueues& q = it->second;
  ProjectUse& p = projects_[q.project];
  p.used.cpus += delta * slot.needs.cpus;
  p.used.memory_mb += delta * slot.needs.memory_mb;
  p.used.gpus += delta * slot.needs.gpus;
  p.running += delta;
  u.running["p:" + q.project] += delta;
  u.running["u:" + q.project + "/" + q.user] += delta;
  u.running[RunKey(slot.run)] += delta;
}

std::vector<Slot> Scheduler::Admit() {
  std::vector<Slot> admitted;
  for (auto& [target, use] : use_) {
    while (use.used.cpus < capacity_.at(target).cpus) {
      // Runs with jobs waiting here, fewest running first: by project, user, run, then the one
      // served longest ago.
      std::vector<std::pair<std::tuple<int64_t, int64_t, int64_t, uint64_t>, const void*>> order;
      for (auto& [run, q] : runs_) {
        auto it = q.by_target.find(target);
        if (it == q.by_target.end() || it->second.empty()) continue;
        order.push_back({Order(target, q, run), run});
      }
      if (order.empty()) break;
      std::sort(order.begin(), order.end());
      bool any = false;
      for (const auto& [key, run] : order) {
        RunQueues& q = runs_.at(run);
        std::deque<Slot>& queue = q.by_target.at(target);
        auto fit = std::find_if(queue.begin(), queue.end(),
                                [&](const Slot& s) {
                                  return Fits(target, s.needs) && WithinQuota(q.project, s.needs);
                                });
        if (fit == queue.end()) continue;
        Slot slot = *fit;
        queue.erase(fit);
        --q.size;
        q.served = ++tick_;
        Count(slot, +1);
        admitted.push_back(slot);
        any = true;
        break;
      }
      if (!any) break;  // nothing waiting fits what is free
    }
  }
  return admitted;
}

void Scheduler::Release(const Slot& slot) { Count(slot, -1); }

std::tuple<int64_t, int64_t, int64_t, uint64_t> Scheduler::Order(const std::string& target,
                                                                 const RunQueues& q,
                                                                 const void* run) const {
  auto running = [&](const std::string& key) -> int64_t {
    auto u = use_.find(target);
    if (u == use_.end()) return 0;
    auto it = u->second.running.find(key);
    return it == u->second.running.end() ? 0 : it->second;
  };
  return {running("p:" + q.project), running("u:" + q.project + "/" + q.user), running(RunKey(run)),
          q.served};
}

std::map<uint32_t, std::string> Scheduler::Waiting(const void* run) const {
  std::map<uint32_t, std::string> out;
  auto mine = runs_.find(run);
  if (mine == runs_.end()) return out;
  const RunQueues& q = mine->second;
  for (const auto& [target, queue] : q.by_target) {
    // Jobs of runs served before this one on the target.
    size_t before = 0;
    auto key = Order(target, q, run);
    for (const auto& [other, oq] : runs_) {
      if (other == run) continue;
      auto it = oq.by_target.find(target);
      if (it != oq.by_target.end() && Order(target, oq, other) < key) before += it->second.size();
    }
    for (size_t i = 0; i < queue.size(); ++i) {
      const Slot& slot = queue[i];
      if (out.count(slot.step)) continue;
      auto quota = quotas_.find(q.project);
      if (quota != quotas_.end() && !WithinQuota(q.project, slot.needs)) {
        auto u = projects_.find(q.project);
        ProjectUse none;
        const ProjectUse& use = u == projects_.end() ? none : u->second;
        const Quota& limit = quota->second;
        std::string what;
        if (limit.running > 0 && use.running + 1 > limit.running) {
          what = fmt::format("{} of {} running", use.running, limit.running);
        } else if (limit.cpus > 0 && use.used.cpus + slot.needs.cpus > limit.cpus) {
          what = fmt::format("{} of {:g} CPUs in use", use.used.cpus, limit.cpus);
        } else if (limit.gpus > 0 && use.used.gpus + slot.needs.gpus > limit.gpus) {
          what = fmt::format("{} of {} GPUs in use", use.used.gpus, limit.gpus);
        } else {
          what = fmt::format("{} of {} MB in use", use.used.memory_mb, limit.memory_mb);
        }
        out[slot.step] = fmt::format("waiting: project quota ({})", what);
        continue;
      }
      size_t ahead = before + i;
      if (ahead > 0) {
        out[slot.step] = fmt::format("waiting: fair share, {} ahead", ahead);
      } else if (Fits(target, slot.needs)) {
        out[slot.step] = "waiting: starting";
      } else {
        const exec::Capacity& cap = capacity_.at(target);
        const exec::Needs& used = use_.at(target).used;
        std::string what =
            used.gpus + slot.needs.gpus > cap.gpus
                ? fmt::format("{} of {} GPUs", used.gpus, cap.gpus)
            : cap.memory_mb != 0 && used.memory_mb + slot.needs.memory_mb > cap.memory_mb
                ? fmt::format("{} of {} MB", used.memory_mb, cap.memory_mb)
                : fmt::format("{} of {} CPUs", used.cpus, cap.cpus);
        out[slot.step] = fmt::format("waiting: target `{}` is full ({} in use)", target, what);
      }
    }
  }
  return out;
}

}  // namespace weft::engine
