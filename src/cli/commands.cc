#include "cli/command.h"

namespace weft::cli {

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"validate", "check a pipeline file and everything it references", SetupValidate},
      {"graph", "draw the flattened graph of a pipeline (text, dot, mermaid, json)", SetupGraph},
      {"run", "run a pipeline here, reusing every step whose inputs did not change", SetupRun},
  };
  return kCommands;
}

}  // namespace weft::cli
