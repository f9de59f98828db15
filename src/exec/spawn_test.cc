// A hidden folder in a step's mount namespace, with real processes: what is kept shows as it was,
// everything else is gone; and the same request as bubblewrap's arguments.
#include "exec/spawn.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "exec/sandbox.h"
#include "test_util.h"

namespace weft::exec {
namespace {

// What a step sees of a workspace whose `.weft` is hidden but for its attempt folder
// (writable) and one input (read-only): weft's own namespace, or bubblewrap's.
void ExpectHidden(bool bubblewrap) {
  weft::testing::TempDir dir;
  std::string ws = dir.Mkdir("ws/.weft");
  dir.Write("ws/.weft/weft.db", "tokens");
  dir.Write("ws/.weft/store/theirs/out", "their output");
  dir.Write("ws/.weft/store/mine/in", "my input");
  std::string attempt = dir.Mkdir("ws/.weft/runs/r2/0.1");
  dir.Mkdir("ws/.weft/runs/r1/0.1");
  Mounts m;
  m.read_only = {ws};
  m.writable = {attempt};
  m.hide = ws;
  m.keep = {attempt, ws + "/store/mine/in"};
  std::string log = dir.path() + "/log";
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "ls -A \"$W\" \"$W/runs\" \"$W/store/mine\"; cat \"$W/store/mine/in\"; echo;"
               " cat \"$W/weft.db\" \"$W/store/theirs/out\" 2>&1;"
               " echo made > \"$W/runs/r2/0.1/x\" && echo wrote;"
               " echo no > \"$W/store/mine/in\" 2>/dev/null || echo refused;"
               " touch \"$W/new\" 2>/dev/null || echo hidden-is-read-only"};
  if (bubblewrap) spec.argv = BubblewrapArgv(&m, false, spec.argv);
  spec.env = {"W=" + ws, "PATH=/usr/bin:/bin"};
  spec.cwd = "/";
  spec.out_fd = fd;
  spec.mounts = bubblewrap ? nullptr : &m;
  Result<pid_t> pid = Spawn(spec);
  ::close(fd);
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  int status = 0;
  ASSERT_EQ(::waitpid(*pid, &status, 0), *pid);
  std::string out = *ReadFileCapped(log, 1 << 20);
  EXPECT_NE(out.find("runs\nstore\n"), std::string::npos) << out;  // .weft: what is kept, only
  EXPECT_EQ(out.find("weft.db\n"), std::string::npos) << out;
  EXPECT_NE(out.find(":\nr2\n"), std::string::npos) << out;  // runs: its own run alone
  EXPECT_NE(out.find("my input"), std::string::npos) << out;
  EXPECT_EQ(out.find("tokens"), std::string::npos) << out;
  EXPECT_EQ(out.find("their output"), std::string::npos) << out;
  EXPECT_NE(out.find("wrote"), std::string::npos) << out;
  EXPECT_NE(out.find("refused"), std::string::npos) << out;
  EXPECT_NE(out.find("hidden-is-read-only"), std::string::npos) << out;
  // Outside the namespace nothing changed.
  EXPECT_EQ(*ReadFileCapped(ws + "/weft.db", 100), "tokens");
  EXPECT_EQ(*ReadFileCapped(attempt + "/x", 100), "made\n");
  EXPECT_EQ(StatPath(ws + "/new"), PathKind::kMissing);
}

TEST(SpawnTest, AHiddenFolderShowsOnlyWhatIsKeptWithItsModes) {
  if (!CanMakeMountNamespaces()) GTEST_SKIP() << "needs root (mount namespaces of its own)";
  ExpectHidden(false);
}

TEST(SpawnTest, BubblewrapHidesTheSameWay) {
  if (!CheckBubblewrap(true, false).ok()) GTEST_SKIP() << "bubblewrap cannot make namespaces here";
  ExpectHidden(true);
}

TEST(SpawnTest, BubblewrapHidesAfterItsBindsAndKeepsWritableWhatIsWritable) {
  Mounts m;
  m.read_only = {"/w/.weft"};
  m.writable = {"/w/.weft/runs/r2/0.1"};
  m.hide = "/w/.weft";
  m.keep = {"/w/.weft/envs", "/w/.weft/runs/r2/0.1"};
  std::vector<std::string> argv = BubblewrapArgv(&m, true, {"/bin/true"});
  std::vector<std::string> want = {"/usr/bin/bwrap", "--dev-bind", "/", "/",
                                   "--ro-bind", "/w/.weft", "/w/.weft",
                                   "--bind", "/w/.weft/runs/r2/0.1", "/w/.weft/runs/r2/0.1",
                                   "--tmpfs", "/w/.weft",
                                   "--ro-bind", "/w/.weft/envs", "/w/.weft/envs",
                                   "--bind", "/w/.weft/runs/r2/0.1", "/w/.weft/runs/r2/0.1",
                                   "--remount-ro", "/w/.weft",
                                   "--unshare-pid", "--die-with-parent", "--", "/bin/true"};
  EXPECT_EQ(argv, want);
}

}  // namespace
}  // namespace weft::exec
