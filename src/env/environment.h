// Environments: what `python` means inside a step, and what the step's results depend on.
//
// Every environment of a pipeline maps, through the workspace configuration, to an interpreter on
// this machine (by default Debian's /usr/bin/python3, which sees python3-* packages): a plain
// interpreter, or a virtualenv's. weft puts a folder first on the step's PATH whose `python` and
// `python3` are that interpreter (for a virtualenv, its own `bin` folder follows, and VIRTUAL_ENV
// is set, as `activate` does). The packages the environment declares (a conda file's conda and
// pip dependencies) are checked against what the interpreter has: every missing one is reported
// at once, at the conda file's file:line:col, with the Debian package that provides it when apt
// knows one; another version is a warning. weft never installs anything from the network.
//
// An interpreter without the `mlflow` package gets weft's MLflow shim (env/mlflow_shim.h) on
// PYTHONPATH; it also stands in for a declared mlflow, mlflow-skinny or azureml-mlflow.
//
// An environment's identity, part of every fingerprint, is what it provides, never where it lives:
// the interpreter's implementation, version and ABI, and the name and version of every
// distribution it can import (with `identity: declared` in the configuration, only the declared
// ones). Adding, removing or upgrading any package reruns the steps that use it; a second
// virtualenv made the same way in another folder, or on another machine, reuses. The identity is
// the digest of a description (one line per item) that the metadata store keeps, so that
// `weft explain` can say what changed ("environment: scikit-learn 1.2.1 -> 1.3.0").
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "workspace/workspace.h"
#include "spec/model.h"

namespace weft::env {

struct ResolvedEnvironment {
  std::string identity;     // "sha256:<hex>" of `description`
  std::string description;  // "cpython 3.11.2 cpython-311-x86_64-linux-gnu", then "name==version"
  std::string path_prefix;  // folders put first on PATH ("a:b")
  std::string python_path;  // first on PYTHONPATH: weft's MLflow shim, when there is no mlflow
  // Last on PYTHONPATH: weft's runtime (`mltable`, `azureml_user.parallel_run`, the workers of
  // parallel steps), which a real package of the same name earlier on the path hides.
  std::string runtime_path;
  std::vector<std::pair<std::string, std::string>> variables;  // VIRTUAL_ENV for a virtualenv
  std::vector<std::string> warnings;
  // In a container (docs/compute.md#containers): the local image's id, the containers.conf podman
  // runs with, whether it may use the network. Empty image: on the host.
  std::string image;
  std::string containers_conf;
  bool network = false;
};

// What an interpreter provides, as its probe says.
struct Interpreter {
  std::string path;  // as configured, absolute (a virtualenv's own bin/python stays one)
  std::string implementation;
  std::string python;
  std::string abi;
  bool venv = false;
  std::string prefix;
  std::map<std::string, std::string> distributions;  // normalized name -> version
  std::vector<std::string> paths;                    // where it looks for packages
};

// A declared package the interpreter does not have.
struct MissingPackage {
  SourceLoc at;      // where the conda file names it
  std::string name;
  std::string hint;  // "install the Debian package python3-skimage (...)", or that apt knows none
};

class Environments {
 public:
  // With `read_only`, nothing is written into the workspace (for `weft validate`): no links, no
  // kept probe answers, no shim.
  explicit Environments(const ws::Workspace& ws, bool read_only = false)
      : ws_(ws), read_only_(read_only) {}

  // Resolves (and caches) the environment a step runs in. `step` names it in errors; every
  // missing package is named in one error. Steps in the same environment share one result.
  Result<std::shared_ptr<const ResolvedEnvironment>> Resolve(const spec::Environment& env, const std::string& step);

  // The packages `env` declares that its interpreter does not have (the MLflow names excepted:
  // the shim stands in).
  Result<std::vector<MissingPackage>> Missing(const spec::Environment& env, const std::string& step);

  // Whether the interpreter of `env` can import the distribution `name` (normalized).
  Result<bool> Provides(const spec::Environment& env, const std::string& name, const std::string& step);

  // A requirement's distribution name and version ("scikit-learn==1.2" -> {"scikit-learn",
  // "1.2"}); empty name for things that are not Python packages (python, pip).
  static std::pair<std::string, std::string> ParseRequirement(const std::string& requirement);
  // A distribution's name as Python packaging compares them ("Scikit_Learn" -> "scikit-learn").
  static std::string NormalizeName(const std::string& name);
  // The Debian packages that may provide a Python distribution, most likely first
  // ("scikit-image" -> python3-skimage, python3-scikit-image).
  static std::vector<std::string> DebianCandidates(const std::string& distribution);

  // Lines of how environment description `now` differs from `before` ("python 3.11.2 -> 3.11.4",
  // "scikit-learn 1.2.1 -> 1.3.0", "numpy 1.24.2 added", "pandas 1.5.3 removed").
  static std::vector<std::string> DiffDescriptions(const std::string& before, const std::string& now);

 private:
  // The interpreter `env` maps to (configuration), and whether its identity covers everything.
  std::pair<std::string, bool> InterpreterFor(const spec::Environment& env) const;
  // Whether the configuration runs `env` in a container (it has an image or a build context).
  bool Contained(const spec::Environment& env) const;
  Result<std::shared_ptr<const ResolvedEnvironment>> ResolveContainer(const spec::Environment& env,
                                                                      const std::string& step);
  Result<const Interpreter*> Inspect(const std::string& python, const std::string& step);

  const ws::Workspace& ws_;
  bool read_only_;
  std::map<std::string, std::shared_ptr<const ResolvedEnvironment>> cache_;
  std::map<std::string, Interpreter> interpreters_;
};

}  // namespace weft::env
