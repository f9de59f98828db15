// weft's MLflow shim: a small pure-Python `mlflow` package (env/mlflow_shim/mlflow/) that
// implements the tracking calls Azure ML training scripts make, and logs through weft. It is
// compiled into weft and written once per version into the workspace; steps whose environment has
// no real `mlflow` find it first on PYTHONPATH. docs/tracking.md lists what it supports.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "workspace/workspace.h"

namespace weft::env {

struct ShimFile {
  const char* path;  // relative, e.g. "mlflow/__init__.py"
  std::string_view text;
};

// The shim's files (generated from env/mlflow_shim by cmake/embed.cmake).
const std::vector<ShimFile>& MlflowShimFiles();
// The runtime of parallel steps (env/runtime): the worker module `weft_parallel`, and stand-ins
// for `azureml_user.parallel_run` and `mltable`, which a real package earlier on sys.path hides.
const std::vector<ShimFile>& RuntimeFiles();

struct InstalledShim {
  std::string dir;       // goes on PYTHONPATH
  std::string identity;  // changes with the shim's content; part of the environment's identity
};

// Writes the shim into `.weft/envs/mlflow-shim-<digest>/` unless it is there (atomically: a
// step never sees half of it, and concurrent runs agree).
Result<InstalledShim> InstallMlflowShim(const ws::Workspace& ws);
// The same for the runtime of parallel steps, in `.weft/envs/runtime-<digest>/`.
Result<InstalledShim> InstallRuntime(const ws::Workspace& ws);

}  // namespace weft::env
