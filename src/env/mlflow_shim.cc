#include "env/mlflow_shim.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/sha256.h"

namespace weft::env {

namespace {

Result<InstalledShim> Install(const ws::Workspace& ws, const std::string& digest, const char* prefix,
                              const std::vector<ShimFile>& files) {
  InstalledShim shim{fmt::format("{}/{}-{}", ws.envs_dir(), prefix, digest), fmt::format("{}-{}", prefix, digest)};
  if (StatPath(shim.dir) == PathKind::kDirectory) return shim;
  std::string stage = fmt::format("{}.tmp-{}-{:x}", shim.dir, ::getpid(), std::random_device{}());
  Status s = Status::Ok();
  for (const ShimFile& f : files) {
    std::string path = stage + "/" + f.path;
    s = MakeDirs(DirName(path));
    if (s.ok()) s = WriteFileAtomic(path, f.text);
    if (!s.ok()) break;
  }
  std::error_code ec;
  if (s.ok() && std::rename(stage.c_str(), shim.dir.c_str()) != 0 &&
      StatPath(shim.dir) != PathKind::kDirectory) {
    s = Status::Io(fmt::format("{}: cannot install weft's Python files: {}", shim.dir, std::strerror(errno)));
  }
  std::filesystem::remove_all(stage, ec);  // left over when another run installed it first
  if (!s.ok()) return s;
  return shim;
}

std::string DigestOf(const std::vector<ShimFile>& files) {
  std::string all;
  for (const ShimFile& f : files) all += fmt::format("{}\n{}\n{}\n", f.path, f.text.size(), f.text);
  return ToHex(Sha256Of(all)).substr(0, 16);
}

}  // namespace

// The files are compiled in: one digest per process.
Result<InstalledShim> InstallMlflowShim(const ws::Workspace& ws) {
  static const std::string digest = DigestOf(MlflowShimFiles());
  return Install(ws, digest, "mlflow-shim", MlflowShimFiles());
}

Result<InstalledShim> InstallRuntime(const ws::Workspace& ws) {
  static const std::string digest = DigestOf(RuntimeFiles());
  return Install(ws, digest, "runtime", RuntimeFiles());
}

}  // namespace weft::env
