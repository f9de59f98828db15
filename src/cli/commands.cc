#include "cli/command.h"

namespace weft::cli {

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"validate", "check a pipeline file and everything it references", SetupValidate},
      {"graph", "draw the flattened graph of a pipeline (text, dot, mermaid, json)", SetupGraph},
  };
  return kCommands;
}

}  // namespace weft::cli
