// `weft get RUN OUTPUT DEST`: copy an output out of the store (or, with --server, download it).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/runs.h"
#include "app/upload.h"
#include "base/fs.h"
#include "base/os.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"

namespace weft::cli {
namespace {

// Downloads the output's tar stream into a file beside `dest`, unpacks it there (as uploads are:
// regular files and folders only, nothing outside), and moves what it holds to `dest`. Returns
// the output's digest.
Result<std::string> Download(server::HttpClient& client, const std::string& run,
                             const std::string& output, const std::string& dest) {
  if (StatPath(dest) != PathKind::kMissing) return Status::Invalid(fmt::format("{} already exists", dest));
  std::string parent = DirName(std::filesystem::absolute(dest).lexically_normal().string());
  std::string tar = fmt::format("{}/.weft-get-{}.tar", parent, RandomHex(6));
  int fd = ::open(tar.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io(fmt::format("cannot write {}: {}", tar, std::strerror(errno)));
  Status wrote = Status::Ok();
  Result<server::Response> r = client.Fetch(
      fmt::format("/api/v1/runs/{}/download?output={}", QueryValue(run), QueryValue(output)),
      [&](std::string_view piece) {
        for (size_t done = 0; done < piece.size();) {
          ssize_t n = ::write(fd, piece.data() + done, piece.size() - done);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            wrote = Status::Io(fmt::format("cannot write {}: {}", tar, std::strerror(errno)));
            return false;
          }
          done += static_cast<size_t>(n);
        }
        return true;
      });
  auto done = [&](Status s) {
    ::close(fd);
    std::remove(tar.c_str());
    return s;
  };
  if (!r.ok()) return done(r.status());
  if (!wrote.ok()) return done(wrote);
  if (r->status < 200 || r->status >= 300) return done(ErrorOf(*r));
  std::string digest;
  for (const auto& [k, v] : r->headers) {
    if (k == "X-Weft-Digest") digest = v.substr(v.find(':') + 1);
  }
  struct stat st {};
  ::fstat(fd, &st);
  void* bytes = st.st_size > 0 ? ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0)
                               : nullptr;
  if (bytes == MAP_FAILED) return done(Status::Io(fmt::format("cannot read {}", tar)));
  std::string unpacked = tar + ".d";
  Status s = app::Extract(std::string_view(static_cast<const char*>(bytes), static_cast<size_t>(st.st_size)),
                          unpacked, app::UploadLimits{10'000'000, int64_t{1} << 50, 4096});
  if (bytes != nullptr) ::munmap(bytes, static_cast<size_t>(st.st_size));
  if (!s.ok()) return done(s);
  // The archive holds one entry at its top: the output, a folder or a file.
  std::error_code ec;
  std::vector<std::filesystem::path> top;
  for (const auto& e : std::filesystem::directory_iterator(unpacked, ec)) top.push_back(e.path());
  if (top.size() != 1) {
    s = Status::Io(fmt::format("the download of {} holds {} entries at its top, not one", output, top.size()));
  } else if (StatPath(dest) != PathKind::kMissing) {
    s = Status::Invalid(fmt::format("{} already exists", dest));
  } else if (::rename(top.front().c_str(), dest.c_str()) != 0) {
    s = Status::Io(fmt::format("cannot move it to {}: {}", dest, std::strerror(errno)));
  }
  RemoveTree(unpacked).ok();
  if (!s.ok()) return done(s);
  done(Status::Ok()).ok();
  return digest;
}

}  // namespace

std::function<int()> SetupGet(CLI::App& sub) {
  struct Options {
    Target target;
    std::string run, output, dest;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("output", o->output, "STEP.OUTPUT, for example train.model")->required();
  sub.add_option("dest", o->dest, "where to copy it (must not exist)")->required();
  return [o] {
    std::string digest;
    if (o->target.remote.remote()) {
      Result<std::unique_ptr<server::HttpClient>> client = o->target.remote.Connect();
      if (!client.ok()) return Fail(client.status());
      Result<std::string> d = Download(**client, o->run, o->output, o->dest);
      if (!d.ok()) return Fail(d.status());
      digest = *d;
    } else {
      Result<std::unique_ptr<app::Session>> ws = Open(o->target.workspace);
      if (!ws.ok()) return Fail(ws.status());
      Result<meta::RunRecord> run = (*ws)->FindRun(o->run);
      if (!run.ok()) return Fail(run.status());
      Result<meta::OutputRecord> out = app::CopyOutput(**ws, *run, o->output, o->dest);
      if (!out.ok()) return Fail(out.status());
      digest = out->digest;
    }
    fmt::print("{} -> {} (sha256:{})\n", o->output, o->dest, digest.substr(0, 12));
    return 0;
  };
}

}  // namespace weft::cli
