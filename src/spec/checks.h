// Checks shared by the loader and the graph builder.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/diag.h"
#include "base/what.h"
#include "spec/model.h"

namespace weft::spec {

// Checks a literal against a port's type, bounds and enum; reports at `at`. `what` names the input.
void CheckLiteralForPort(Diagnostics& diags, const SourceLoc& at, const Literal& value,
                         const InputPort& port, const What& what);

// Checks a node's input and output values against the ports of what it runs. An input the
// component does not declare is an error, or a warning when `unknown_input_is_error` is false.
void CheckNodePorts(Diagnostics& diags, const Node& node, const std::vector<InputPort>& inputs,
                    const std::vector<OutputPort>& outputs, std::string_view component,
                    bool unknown_input_is_error);

// Checks a step name: errors for `/`, NUL, control characters, `.` and `..`; warnings for names
// outside Azure's [a-z_][a-z0-9_]*. Returns false on error.
bool CheckStepName(Diagnostics& diags, const SourceLoc& at, std::string_view name);
// Errors for names that cannot be parts of paths (`/`, NUL, control characters, `.`, `..`);
// `what` ("job", "input", "output") names the kind in messages. Returns false on error.
bool CheckPortName(Diagnostics& diags, const SourceLoc& at, std::string_view name,
                   std::string_view what);

// The closest of `candidates` to `name`, for "did you mean" hints; empty when none is close.
std::string Closest(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace weft::spec
