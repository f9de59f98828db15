// `weft slurm-job [--task]`: not for people. The batch job weft submits to a Slurm compute target
// runs it on the node, with the job's description as its input (exec/slurm.h).
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "exec/slurm.h"

namespace weft::cli {

std::function<int()> SetupSlurmJob(CLI::App& sub) {
  auto task = std::make_shared<bool>(false);
  sub.add_flag("--task", *task, "run one task of a distributed step");
  return [task] { return exec::RunSlurmJob(*task); };
}

}  // namespace weft::cli
