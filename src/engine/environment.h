// Environments: what `python` means inside a step.
//
// Every environment of a pipeline maps, through the workspace configuration, to an interpreter on
// this machine (by default Debian's /usr/bin/python3, which sees python3-* packages). weft makes a
// folder whose `bin/python` and `bin/python3` point at it and puts that folder first on the step's
// PATH. The packages the environment declares (a conda file's conda and pip dependencies) are
// checked against what the interpreter has: a missing one is an error naming the Debian package to
// install; another version is a warning. weft never installs anything from the network.
//
// An interpreter without the `mlflow` package gets weft's MLflow shim (engine/mlflow_shim.h) on
// PYTHONPATH; it also stands in for a declared mlflow, mlflow-skinny or azureml-mlflow.
//
// An environment's identity, part of every fingerprint, is the interpreter's real path and version
// and the installed versions of the declared packages: upgrading python3-sklearn reruns the steps
// that use it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/workspace.h"
#include "spec/model.h"

namespace weft::engine {

struct ResolvedEnvironment {
  std::string identity;  // interpreter realpath, version, package versions
  std::string bin_dir;   // first on PATH
  std::string python_path;  // first on PYTHONPATH: weft's MLflow shim, when there is no mlflow
  std::vector<std::string> warnings;
};

class Environments {
 public:
  explicit Environments(const Workspace& ws) : ws_(ws) {}

  // Resolves (and caches) the environment a step runs in. `step` names it in errors.
  Result<ResolvedEnvironment> Resolve(const spec::Environment& env, const std::string& step);

  // The Debian package that provides a Python distribution ("scikit-learn" -> "python3-sklearn").
  static std::string DebianPackageFor(const std::string& distribution);
  // A requirement's distribution name and version ("scikit-learn==1.2" -> {"scikit-learn",
  // "1.2"}); empty name for things that are not Python packages (python, pip).
  static std::pair<std::string, std::string> ParseRequirement(const std::string& requirement);

 private:
  const Workspace& ws_;
  std::map<std::string, ResolvedEnvironment> cache_;
};

}  // namespace weft::engine
