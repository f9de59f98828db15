// Running a program to read what it prints (apt-cache, an interpreter's probe, Slurm's commands).
//
// The program is started directly (posix_spawn, no shell: arguments stay arguments), with weft's
// environment, stdin from /dev/null; its stdout and stderr are read whole.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace weft {

struct CommandOutput {
  int exit_code = 0;  // 128+N when signal N ended it
  std::string out;
  std::string err;
};

// What a program said when it failed, in one line: its stderr, else its stdout, else its exit
// code; or why it could not be started.
std::string FailureText(const Result<CommandOutput>& r);

// Runs `argv` (argv[0] found on PATH when it holds no slash) to its end, with weft's environment
// plus `extra_env` ("NAME=value", replacing weft's of the same name), and `input` as its standard
// input. Fails only when it could not be started; a non-zero exit is the caller's to judge.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env = {},
                                 const std::string& input = {});

}  // namespace weft
