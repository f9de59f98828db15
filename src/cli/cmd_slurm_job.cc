// `weft slurm-job SPEC [--task]`: not for people. The batch job weft submits to a Slurm compute
// target runs it on the node (exec/slurm.h).
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "exec/slurm.h"

namespace weft::cli {

std::function<int()> SetupSlurmJob(CLI::App& sub) {
  struct Options {
    std::string spec;
    bool task = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("spec", o->spec, "the job's description (slurm.json in its attempt folder)")->required();
  sub.add_flag("--task", o->task, "run one task of a distributed step");
  return [o] { return exec::RunSlurmJob(o->spec, o->task); };
}

}  // namespace weft::cli
