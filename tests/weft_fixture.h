// The fixture of the end-to-end tests that run the real `weft` binary in a temporary folder
// (whose name holds a space, a quote and a non-ASCII letter: test_util.h).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace weft::testing {

inline std::string Read(const std::string& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An environment any step may name (weft maps it to the default interpreter).
constexpr const char* kEnv = "environment: {image: python:3.11}\n";

// With $WEFT_E2E_THROUGH_SERVER set, every test's folder is served by a `weft serve` of its own
// and every command that can work through a server does (WEFT_SERVER, WEFT_TOKEN: ServeOnce):
// the suite then checks that the CLI does the same thing, with the same output, through the API.
inline bool ThroughServer() { return std::getenv("WEFT_E2E_THROUGH_SERVER") != nullptr; }

// Skips a test that is about the local weft process itself (kill -9 of it, its signals) or its
// workspace alone, not about what a command does.
#define WEFT_LOCAL_ONLY(why)                                                      \
  do {                                                                            \
    if (::weft::testing::ThroughServer()) GTEST_SKIP() << "local only: " << why; \
  } while (0)

class WeftTest : public ::testing::Test {
 protected:
  // Steps find the test's folder in $TEST_DIR (quoted in their commands: its name holds a space
  // and a quote).
  WeftTest() { ::setenv("TEST_DIR", dir_.path().c_str(), 1); }
  ~WeftTest() override {
    ::unsetenv("WEFT_SERVER");
    ::unsetenv("WEFT_TOKEN");
  }
  // Through a server: the one serving the test's folder, started at the first command (so that
  // it reads the workspace configuration the test wrote first) and restarted when the test
  // changes that configuration (as its admin would: a server reads it when it starts), with a
  // project (granted the datastores the suite uses) and an owner's token in it, as a team would
  // use it; its steps get $TEST_DIR. Returns what the server said when it would not start, as a
  // command's error (exit code 2), else nothing.
  std::optional<ProcessResult> ServeOnce() {
    if (!ThroughServer()) return std::nullopt;
    std::string config = Read(dir_.path() + "/.weft/config.yaml");
    if (server_ && config == served_config_) return std::nullopt;
    server_.reset();
    served_config_ = config;
    try {
      server_ = std::make_unique<Server>(WEFT_BINARY, dir_.path(),
                                         std::vector<std::string>{"--pass-env", "TEST_DIR"});
    } catch (const std::exception& e) {
      return ProcessResult{2, "", e.what()};
    }
    ::setenv("WEFT_SERVER", server_->url().c_str(), 1);
    if (owner_token_.empty()) {
      admin_token_ = server_->admin_token();
      ::setenv("WEFT_TOKEN", admin_token_.c_str(), 1);
      ProcessResult p = Weft({"project", "create", "e2e"});
      // (the datastores the suite's pipelines read from and publish to)
      ProcessResult d = Weft({"project", "datastores", "e2e", "--grant", "workspaceblobstore",
                              "--grant", "lake"});
      ProcessResult t =
          Weft({"token", "create", "--name", "e2e", "--project", "e2e", "--role", "owner"});
      if (p.exit_code != 0 || d.exit_code != 0 || t.exit_code != 0) {
        throw std::runtime_error("no project or token on the server: " + p.err + d.err + t.err);
      }
      owner_token_ = t.out.substr(0, t.out.find('\n'));
    }
    ::setenv("WEFT_TOKEN", owner_token_.c_str(), 1);
    return std::nullopt;
  }
  ProcessResult Weft(std::vector<std::string> args) {
    if (std::optional<ProcessResult> refused = ServeOnce()) return *refused;
    // (the workspace's maintenance is the server admin's)
    bool admin = server_ && !args.empty() && (args[0] == "gc" || args[0] == "fsck");
    if (admin) ::setenv("WEFT_TOKEN", admin_token_.c_str(), 1);
    args.insert(args.begin(), WEFT_BINARY);
    ProcessResult r = testing::Run(args, dir_.path());
    if (admin) ::setenv("WEFT_TOKEN", owner_token_.c_str(), 1);
    return r;
  }
  // Step name -> status of the last run (from `weft show --json`).
  std::map<std::string, std::string> Statuses(const std::string& run = "last") {
    ProcessResult r = Weft({"show", run, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, std::string> out;
    nlohmann::json j = nlohmann::json::parse(r.out);
    for (const auto& s : j["steps"]) {
      out[s["name"].get<std::string>()] = s["status"].get<std::string>();
    }
    return out;
  }
  // Step `name` of the last run, as `weft show --json` gives it (null when it has none).
  nlohmann::json StepJson(const std::string& name) {
    ProcessResult r = Weft({"show", "last", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json show = nlohmann::json::parse(r.out);
    for (const auto& s : show["steps"]) {
      if (s["name"] == name) return s;
    }
    return {};
  }
  // Starts `weft ARGS...` in the test's folder without waiting (output to `log`, else discarded),
  // then waits up to 10 s for the file `marker` (which a step creates), if one is given.
  pid_t Start(const std::vector<std::string>& args, const std::string& marker,
              const std::string& log = "/dev/null") {
    ServeOnce();
    if (!marker.empty()) std::filesystem::remove(marker);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::chdir(dir_.path().c_str());
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::vector<char*> argv = {const_cast<char*>(WEFT_BINARY)};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(WEFT_BINARY, argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !marker.empty() && !std::filesystem::exists(marker); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pid;
  }
  static int Wait(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // The text of output STEP.OUTPUT of the last run (`weft get`): the file, or the one file of a
  // folder.
  std::string OutputText(const std::string& step_output) {
    std::filesystem::remove_all(dir_.path() + "/got");
    ProcessResult g = Weft({"get", "last", step_output, "got"});
    EXPECT_EQ(g.exit_code, 0) << g.err;
    std::string path = dir_.path() + "/got";
    if (std::filesystem::is_directory(path)) {
      path += "/" + std::filesystem::directory_iterator(path)->path().filename().string();
    }
    return Read(path);
  }
  std::string Explain(const std::string& step) {
    ProcessResult r = Weft({"explain", "last", step});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  testing::TempDir dir_;
  std::unique_ptr<Server> server_;  // through a server: the one serving dir_
  std::string served_config_;       // the configuration it started with
  std::string admin_token_, owner_token_;
};

}  // namespace weft::testing
