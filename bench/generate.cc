#include "generate.h"

#include <fstream>
#include <sstream>

namespace weft::bench {

const char* ShapeName(Shape s) {
  switch (s) {
    case Shape::kWide:
      return "wide";
    case Shape::kChain:
      return "chain";
    case Shape::kLayered:
      return "layered";
    case Shape::kInline:
      return "inline";
  }
  return "wide";
}

namespace {

// `command` with "{inputs}" replaced by `inputs` and "{out}" by the output's placeholder; without
// them, the inputs and then the output are appended.
std::string Expand(std::string command, const std::string& inputs) {
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = command.find(from);
    if (at == std::string::npos) return false;
    command.replace(at, from.size(), to);
    return true;
  };
  bool has_inputs = replace("{inputs}", inputs);
  bool has_out = replace("{out}", "${{outputs.out}}");
  if (!has_inputs && !has_out) command += " " + inputs + " ${{outputs.out}}";
  return command;
}

// A step with up to two optional inputs and one output.
std::string StepComponent(const std::string& command) {
  return "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
         "type: command\nname: bench_step\nversion: 1\n"
         "inputs:\n"
         "  a: {type: uri_folder, optional: true}\n"
         "  b: {type: uri_folder, optional: true}\n"
         "  index: {type: integer}\n"
         "outputs:\n  out: {type: uri_folder}\n"
         "environment: azureml:bench-env:1\n"
         "command: >-\n  " +
         Expand(command, "$[[${{inputs.a}}]] $[[${{inputs.b}}]] ${{inputs.index}}") + "\n";
}

std::string FanInComponent(int inputs, const std::string& command) {
  std::ostringstream c;
  c << "type: command\nname: bench_fan_in\nversion: 1\ninputs:\n";
  for (int i = 0; i < inputs; ++i) c << "  in" << i << ": {type: uri_folder}\n";
  std::string refs;
  for (int i = 0; i < inputs; ++i) refs += (i ? " " : "") + ("${{inputs.in" + std::to_string(i)) + "}}";
  c << "outputs:\n  out: {type: uri_folder}\nenvironment: azureml:bench-env:1\ncommand: >-\n  "
    << Expand(command, refs) << "\n";
  return c.str();
}

}  // namespace

std::string GeneratePipeline(const std::string& dir, Shape shape, int steps, int width,
                             const std::string& command) {
  std::ofstream(dir + "/step.yml") << StepComponent(command);
  std::ostringstream p;
  p << "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n"
       "type: pipeline\n"
    << "name: bench_" << ShapeName(shape) << "_" << steps << "\n"
    << "jobs:\n";
  auto step = [&](int i, int a, int b) {
    p << "  s" << i << ":\n    type: command\n    component: ./step.yml\n    inputs:\n"
      << "      index: " << i << "\n";
    if (a >= 0) p << "      a: ${{parent.jobs.s" << a << ".outputs.out}}\n";
    if (b >= 0) p << "      b: ${{parent.jobs.s" << b << ".outputs.out}}\n";
  };
  switch (shape) {
    case Shape::kInline:  // "{index}" in the command is the step's index
      for (int i = 0; i < steps; ++i) {
        std::string c = Expand(command == "true" ? "echo {index} > {out}/v" : command, "");
        for (size_t at; (at = c.find("{index}")) != std::string::npos;) c.replace(at, 7, std::to_string(i));
        p << "  s" << i << ":\n    type: command\n    environment: azureml:bench-env:1\n"
          << "    outputs:\n      out: {type: uri_folder}\n    command: >-\n      " << c << "\n";
      }
      break;
    case Shape::kWide: {
      for (int i = 0; i + 1 < steps; ++i) step(i, -1, -1);
      std::ofstream(dir + "/fan_in.yml") << FanInComponent(steps - 1, command);
      p << "  fan_in:\n    type: command\n    component: ./fan_in.yml\n    inputs:\n";
      for (int i = 0; i + 1 < steps; ++i) {
        p << "      in" << i << ": ${{parent.jobs.s" << i << ".outputs.out}}\n";
      }
      break;
    }
    case Shape::kChain:
      for (int i = 0; i < steps; ++i) step(i, i - 1, -1);
      break;
    case Shape::kLayered:
      for (int i = 0; i < steps; ++i) {
        int layer = i / width;
        int pos = i % width;
        if (layer == 0) {
          step(i, -1, -1);
        } else {
          int prev = (layer - 1) * width;
          step(i, prev + pos, prev + (pos + 1) % width);
        }
      }
      break;
  }
  std::string path = dir + "/pipeline.yml";
  std::ofstream(path) << p.str();
  return path;
}

}  // namespace weft::bench
